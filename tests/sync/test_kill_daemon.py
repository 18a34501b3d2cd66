"""SIGKILL of the real daemon (`cabinetd`) at random points: its events reach the central once."""

from __future__ import annotations

import asyncio
import random
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cabinet.security import pki
from tests.sync.conftest import CABINET_A, CentralHarness, eventually

KILLS = 5


def free_port() -> int:
    """A loopback port nobody listens on (the hardware is absent: the daemon fails closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, tls: Path, central_port: int) -> Path:
    """A daemon configuration: no hardware answering, no scanner, our central over mTLS."""
    cert, key = pki.cabinet_cert_names(CABINET_A)
    path = folder / "cabinet.toml"
    path.write_text(
        f"""
[cabinet]
id = "{CABINET_A}"

[hardware]
port = {free_port()}
timeout_s = 0.05
retries = 0

[scanner]
transport = "none"

[central]
address = "localhost:{central_port}"
ca_file = "{tls / pki.CA_CERT}"
cert_file = "{tls / cert}"
key_file = "{tls / key}"
deadline_s = 2.0
backoff_initial_s = 0.05
backoff_max_s = 0.5
heartbeat_s = 1.0

[store]
state_dir = "{folder / "state"}"
checkpoint_every = 5
""",
        encoding="utf-8",
    )
    return path


def spawn(config: Path) -> subprocess.Popen[bytes]:
    """The daemon, as systemd would start it."""
    return subprocess.Popen(
        [sys.executable, "-c", "from cabinet.daemon import main; raise SystemExit(main())",
         "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def ledger(db: Path) -> tuple[list[tuple[int, str]], int]:
    """The cabinet's (seq, hash) list and its unacknowledged outbox rows, read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = [
            (int(s), str(h)) for s, h in conn.execute("SELECT seq, hash FROM ledger ORDER BY seq")
        ]
        pending = conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]
        return rows, int(pending)
    finally:
        conn.close()


@pytest.mark.slow
async def test_daemon_killed_at_random_points_then_drains_exactly_once(
    central: CentralHarness, tmp_path: Path, site_pki: Path
) -> None:
    """Five SIGKILLs of cabinetd; the central, enrolling the key at first contact, ends equal."""
    await central.start(enroll_on_first_contact=True)
    config = write_config(tmp_path, site_pki, central.port)
    db = tmp_path / "state" / "cabinet.db"
    rng = random.Random(5)
    for _ in range(KILLS):
        proc = spawn(config)
        try:
            await asyncio.sleep(rng.uniform(1.0, 2.5))
            assert proc.poll() is None, "the daemon stopped by itself"
        finally:
            proc.kill()
            proc.wait(timeout=10)
    proc = spawn(config)
    try:

        def caught_up() -> bool:
            rows, pending = ledger(db)
            return pending == 0 and central.db.events(CABINET_A) == rows

        await eventually(caught_up, 30, "the central to hold the whole ledger")
        rows, _ = ledger(db)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert len(rows) >= KILLS // 2  # start events (and alarms) from several runs
    assert [seq for seq, _ in central.db.events(CABINET_A)] == list(range(1, len(rows) + 1))
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert central.db.head(CABINET_A)[2] > 0  # signed checkpoints verified on the way
