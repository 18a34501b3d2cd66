"""The daemon as systemd runs it: READY, STATUS, WATCHDOG, STOPPING, start and stop events."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cabinet import cli
from cabinet.clock import DrivenClock
from tests.foundation.daemonproc import Daemon, NotifySocket, write_config
from tests.foundation.helpers import dispense, open_store, raw, seed

LOGFMT = re.compile(
    r'^ts=\S+ level=(debug|info|warning|error|critical) logger=\S+ msg=("[^"]*"|\S+)'
)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    """systemd's side of $NOTIFY_SOCKET."""
    sock = NotifySocket(tmp_path)
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Every daemon a test starts is stopped at the end, whatever happens."""
    started: list[Daemon] = []
    try:
        yield started
    finally:
        for d in started:
            d.close()
            # Shown by pytest only when the test fails.
            print("".join(line for line in d.log().splitlines(True) if "pymodbus" not in line))


def ledger_kinds(db: Path) -> list[str]:
    """The kinds of every ledger event, in order."""
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM ledger ORDER BY seq")]
    finally:
        conn.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_start_notify_and_clean_stop(
    tmp_path: Path, notify: NotifySocket, daemons: list[Daemon], signum: int
) -> None:
    """READY with a status, watchdog pings, STOPPING, exit 0, start and stop in the ledger."""
    config = write_config(tmp_path)
    daemon = Daemon(config, notify, watchdog_usec=400_000)
    daemons.append(daemon)
    ready = notify.wait_for("READY=1")
    assert "STATUS=serving: cabinet CAB-TEST-01" in ready
    notify.wait_for("WATCHDOG=1")
    notify.messages.clear()
    notify.wait_for("WATCHDOG=1")
    assert daemon.stop(signum) == 0
    notify.wait_for("STOPPING=1")
    state = tmp_path / "state"
    kinds = ledger_kinds(state / "cabinet.db")
    # The test's board never answers: the only events between start and stop are the alarms
    # that say so (fail closed and recorded), never a movement.
    assert kinds[0] == "start" and kinds[-1] == "stop", kinds
    assert set(kinds[1:-1]) <= {"alarm"}, kinds
    assert {k for k, _ in alarms(state / "cabinet.db")} <= {"device_down"}
    key = state / "cabinet.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    secret_line = key.read_text(encoding="ascii").splitlines()[1]
    log = daemon.log()
    assert secret_line not in log, "the private key must never be logged"
    lines = log.strip().splitlines()
    assert lines and all(LOGFMT.match(line) for line in lines), lines
    assert any("msg=ready" in line for line in lines)
    assert cli.main(["ledger", "verify", "--db", str(state / "cabinet.db")]) == 0
    conn = sqlite3.connect(state / "cabinet.db")
    head = conn.execute("SELECT max(seq) FROM ledger").fetchone()[0]
    signed = conn.execute("SELECT max(seq) FROM checkpoints").fetchone()[0]
    conn.close()
    assert signed == head, "every stop signs the ledger's head"


def alarms(db: Path) -> list[tuple[str, str]]:
    """(kind, message) of every recorded alarm."""
    conn = sqlite3.connect(db)
    try:
        return [(k, m) for k, m in conn.execute("SELECT kind, message FROM alarms ORDER BY id")]
    finally:
        conn.close()


def test_broken_ledger_starts_locked_with_an_alarm(
    tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]
) -> None:
    """An event edited after the last checkpoint: degraded at READY, alarm recorded."""
    config = write_config(tmp_path)
    first = Daemon(config, notify)
    daemons.append(first)
    notify.wait_for("READY=1")
    assert first.stop() == 0
    db = tmp_path / "state" / "cabinet.db"
    conn = raw(db)
    stop_seq = conn.execute("SELECT seq FROM ledger WHERE kind = 'stop'").fetchone()[0]
    conn.execute("UPDATE ledger SET payload = '{\"cabinet\":\"CAB-OTHER\"}' WHERE kind = 'stop'")
    conn.close()
    notify.messages.clear()
    second = Daemon(config, notify)
    daemons.append(second)
    ready = notify.wait_for("READY=1")
    assert "STATUS=DEGRADED (locked)" in ready
    assert second.stop() == 0
    kinds = ledger_kinds(db)
    assert kinds[stop_seq] == "alarm" and kinds[-1] == "stop" and "start" in kinds[stop_seq + 1 :]
    broken = [m for k, m in alarms(db) if k == "ledger_broken"]
    assert len(broken) == 1 and f"BROKEN at sequence {stop_seq}: edited" in broken[0]
    assert "level=critical" in second.log() and "degraded" in second.log()
    start = (
        sqlite3.connect(db)
        .execute("SELECT payload FROM ledger WHERE kind = 'start' ORDER BY seq DESC LIMIT 1")
        .fetchone()[0]
    )
    assert json.loads(start)["degraded"] is True


def test_old_break_is_found_by_the_background_check(
    tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]
) -> None:
    """An edit far behind the last checkpoint passes the quick check, then degrades."""
    config = write_config(tmp_path, checkpoint_every=10)
    state = tmp_path / "state"
    store = open_store(state, DrivenClock(), checkpoint_every=10)
    with store.transaction() as conn:
        seed(conn)
    for i in range(50):
        dispense(store, pocket=i % 3)
    store.checkpoint()
    store.close()
    conn = raw(state / "cabinet.db")
    conn.execute("UPDATE ledger SET actor = 'nobody' WHERE seq = 5")
    conn.close()
    daemon = Daemon(config, notify)
    daemons.append(daemon)
    ready = notify.wait_for("READY=1")
    assert "STATUS=serving" in ready
    later = notify.wait_for(
        "STATUS=DEGRADED (locked): BROKEN at sequence 5: edited "
        "(the stored event does not match its hash)"
    )
    assert "READY=1" not in later
    assert daemon.stop() == 0
    kinds = [k for k, _ in alarms(state / "cabinet.db")]
    assert kinds.count("ledger_broken") == 1
    # The hardware coordinator latched itself locked as well (it records why).
    assert "locked_down" in kinds
