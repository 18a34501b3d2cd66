"""READY within 2 s on a 1,000,000-event ledger: the quick check is bounded, the rest waits."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cabinet import config as config_mod
from cabinet.config import Config
from cabinet.daemon import Daemon
from cabinet.sdnotify import Notifier
from cabinet.service import Service
from cabinet.wiring import Context
from tests.foundation.big_ledger import build
from tests.foundation.daemonproc import write_config
from tests.foundation.fakes import StubService, drain

EVENTS = 1_000_000


@pytest.fixture
def million(tmp_path: Path) -> Iterator[Config]:
    """A configuration whose store holds a million events; the 350 MB go away afterwards."""
    cfg = config_mod.load(write_config(tmp_path))
    build(cfg.store.state_dir, EVENTS)
    try:
        yield cfg
    finally:
        shutil.rmtree(cfg.store.state_dir, ignore_errors=True)


@pytest.mark.slow
async def test_ready_within_two_seconds_with_a_million_events(
    tmp_path: Path, million: Config
) -> None:
    """READY comes fast; the background walk then finds the forged past and locks."""
    cfg = million
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "n.sock"))
    sock.setblocking(False)
    journal: list[str] = []
    contexts: list[Context] = []

    def build_stub(ctx: Context) -> list[Service]:
        """One stub service; remember the context."""
        contexts.append(ctx)
        return [StubService("hardware", journal)]

    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "n.sock")})
    daemon = Daemon(cfg, notifier=notifier, build=build_stub)
    started = time.monotonic()
    task = asyncio.create_task(daemon.run())
    messages: list[str] = []
    ready_after: float | None = None
    try:
        for _ in range(3000):
            messages += drain(sock)
            if ready_after is None and any("READY=1" in m for m in messages):
                ready_after = time.monotonic() - started
            if any("STATUS=DEGRADED" in m for m in messages):
                break
            await asyncio.sleep(0.01)
    finally:
        daemon.stop_requested.set()
        assert await asyncio.wait_for(task, 30) == 0
        sock.close()
    assert ready_after is not None and ready_after <= 2.0, f"READY after {ready_after} s"
    ready = next(m for m in messages if "READY=1" in m)
    assert "STATUS=serving" in ready
    degraded = next(m for m in messages if "STATUS=DEGRADED" in m)
    assert "BROKEN at sequence 1: edited" in degraded
    assert contexts[0].degraded is True
    conn = sqlite3.connect(cfg.store.db_path)
    kinds = [
        r[0] for r in conn.execute("SELECT kind FROM ledger WHERE seq > ? ORDER BY seq", (EVENTS,))
    ]
    conn.close()
    assert kinds == ["start", "alarm", "stop"]
