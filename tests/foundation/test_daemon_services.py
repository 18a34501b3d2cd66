"""Services start in order, stop in reverse, and the watchdog is fed only while they progress."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cabinet import config as config_mod
from cabinet.clock import DrivenClock
from cabinet.daemon import Daemon
from cabinet.errors import StorageError
from cabinet.sdnotify import Notifier
from cabinet.service import Service
from cabinet.store import Movement, MovementKind
from cabinet.store.wal import DEFERRED_AUTOCHECKPOINT
from cabinet.wiring import Context
from tests.foundation.daemonproc import write_config
from tests.foundation.fakes import FailingDisk, StubService, drain
from tests.foundation.helpers import open_store, raw, seed


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[socket.socket]:
    """A non-blocking notify socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(tmp_path / "n.sock"))
    s.setblocking(False)
    try:
        yield s
    finally:
        s.close()


async def wait_for(s: socket.socket, line: str, seconds: float = 5.0) -> None:
    """Poll the socket until a datagram holds `line`."""
    for _ in range(int(seconds / 0.02)):
        if any(line in m.splitlines() for m in drain(s)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {line}")


async def test_order_and_watchdog(tmp_path: Path, sock: socket.socket) -> None:
    """Start in order, stop in reverse; no WATCHDOG=1 while one service is stalled."""
    journal: list[str] = []
    services = [StubService("hardware", journal), StubService("workflows", journal)]
    contexts: list[Context] = []

    def build(ctx: Context) -> list[Service]:
        """The services under test instead of the real ones."""
        contexts.append(ctx)
        return list(services)

    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "n.sock"), "WATCHDOG_USEC": "100000"})
    cfg = config_mod.load(write_config(tmp_path))
    daemon = Daemon(cfg, notifier=notifier, build=build)
    task = asyncio.create_task(daemon.run())
    try:
        await wait_for(sock, "READY=1")
        assert journal == ["start hardware", "start workflows"]
        assert contexts[0].degraded is False and contexts[0].store is not None
        # WAL checkpoints run in their own thread, not inside the service's commits.
        wal_pages = contexts[0].store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert wal_pages == DEFERRED_AUTOCHECKPOINT
        assert daemon.wal_checkpointer is not None and daemon.wal_checkpointer.running
        await wait_for(sock, "WATCHDOG=1")
        services[1].progress = False
        await asyncio.sleep(0.15)
        drain(sock)
        await asyncio.sleep(0.4)
        assert not any("WATCHDOG=1" in m for m in drain(sock)), "pinged while stalled"
        services[1].progress = True
        await wait_for(sock, "WATCHDOG=1")
    finally:
        daemon.stop_requested.set()
        status = await asyncio.wait_for(task, 10)
    assert status == 0
    assert journal[2:] == ["stop workflows", "stop hardware"]
    assert not daemon.wal_checkpointer.running
    assert any("STOPPING=1" in m for m in drain(sock))


async def test_a_service_that_fails_to_start_stops_the_others(
    tmp_path: Path, sock: socket.socket
) -> None:
    """A start failure: the started services are stopped in reverse, exit status 1."""
    journal: list[str] = []

    class Broken(StubService):
        """A service whose start fails."""

        async def start(self) -> None:
            """Fail like a port already in use."""
            raise OSError("port in use")

    def build(ctx: Context) -> list[Service]:
        """The services under test instead of the real ones."""
        return [StubService("hardware", journal), Broken("ui", journal)]

    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "n.sock")})
    daemon = Daemon(config_mod.load(write_config(tmp_path)), notifier=notifier, build=build)
    assert await asyncio.wait_for(daemon.run(), 10) == 1
    assert journal == ["start hardware", "stop hardware"]
    messages = drain(sock)
    assert not any("READY=1" in m for m in messages)
    assert any("STOPPING=1" in m for m in messages)


def test_notifier_without_systemd_is_silent() -> None:
    """No $NOTIFY_SOCKET: nothing is sent and nothing fails."""
    quiet = Notifier({})
    assert not quiet.enabled and quiet.watchdog_interval_s is None
    assert quiet.ready("serving") is False


def test_watchdog_meant_for_another_process_is_ignored() -> None:
    """$WATCHDOG_PID names another process: no pings from this one."""
    assert (
        Notifier(
            {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
        ).watchdog_interval_s
        is None
    )
    assert Notifier({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1000000"}).watchdog_interval_s == 0.5


def test_notifier_reaches_an_abstract_socket() -> None:
    """`@name` in $NOTIFY_SOCKET is the abstract namespace, as systemd may hand it out."""
    name = f"cabinet-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready("serving")
        assert s.recv(4096).decode() == "READY=1\nSTATUS=serving"


async def test_storage_fault_in_the_running_daemon(
    tmp_path: Path, sock: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing disk: the movement is refused, the alarm is shown and logged at once, and
    written to the ledger with the next movement that succeeds."""
    contexts: list[Context] = []

    def build(ctx: Context) -> list[Service]:
        """The services under test instead of the real ones."""
        with ctx.store.transaction() as conn:
            seed(conn)
        contexts.append(ctx)
        return [StubService("hardware", [])]

    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "n.sock")})
    daemon = Daemon(config_mod.load(write_config(tmp_path)), notifier=notifier, build=build)
    task = asyncio.create_task(daemon.run())
    take = Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=0, delta=-1, actor="nurse-1")
    try:
        await wait_for(sock, "READY=1")
        store = contexts[0].store
        real = store.conn
        store.conn = FailingDisk(real, "INSERT INTO LEDGER")  # type: ignore[assignment]
        with (
            caplog.at_level(logging.CRITICAL, logger="cabinet.daemon"),
            pytest.raises(StorageError),
        ):
            store.move(take)
        store.conn = real
        await wait_for(sock, "STATUS=ALARM storage fault: disk I/O error")
        assert any(r.getMessage() == "storage fault alarm" for r in caplog.records)
        store.move(take)
        await wait_for(sock, "STATUS=serving: storage fault recorded as event 2")
    finally:
        daemon.stop_requested.set()
        assert await asyncio.wait_for(task, 10) == 0
    conn = sqlite3.connect(tmp_path / "state" / "cabinet.db")
    kinds = [r[0] for r in conn.execute("SELECT kind FROM ledger ORDER BY seq")]
    stock = conn.execute("SELECT quantity FROM pockets WHERE drawer = 0 AND pocket = 0").fetchone()
    conn.close()
    assert kinds == ["start", "alarm", "dispense", "stop"]
    assert stock[0] == 19


async def test_a_broken_ledger_latches_the_real_hardware_coordinator(
    tmp_path: Path, sock: socket.socket
) -> None:
    """With the real composition root: a degraded start leaves the coordinator locked down."""
    cfg = config_mod.load(write_config(tmp_path))
    state = cfg.store.state_dir
    store = open_store(state, DrivenClock(), checkpoint_every=5)
    with store.transaction() as conn:
        seed(conn)
    for _ in range(7):
        store.move(
            Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=1, delta=-1, actor="nurse-1")
        )
    store.close()
    conn = raw(cfg.store.db_path)
    conn.execute("UPDATE ledger SET quantity = -2 WHERE seq = 7")
    conn.close()
    daemon = Daemon(cfg, notifier=Notifier({"NOTIFY_SOCKET": str(tmp_path / "n.sock")}))
    task = asyncio.create_task(daemon.run())
    try:
        await wait_for(sock, "READY=1", seconds=30)
        assert daemon.ctx is not None and daemon.ctx.degraded
        coordinator = daemon.ctx.parts["coordinator"]
        assert "BROKEN at sequence 7: edited" in (coordinator.locked_down or "")
    finally:
        daemon.stop_requested.set()
        assert await asyncio.wait_for(task, 30) == 0
