"""Test doubles of our own shapes: a failing disk under the store, a service, a notify drain."""

from __future__ import annotations

import socket
import sqlite3
from typing import Any


class FailingDisk:
    """A write connection whose disk fails on the chosen statement while the fault is armed."""

    def __init__(self, conn: sqlite3.Connection, statement: str) -> None:
        """Wrap the real connection; fail on `statement` while armed."""
        self._conn = conn
        self.statement = statement
        self.armed = True

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """Fail like a dying disk on the armed statement; pass everything else through."""
        if self.armed and sql.lstrip().upper().startswith(self.statement):
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        """Everything else is the real connection."""
        return getattr(self._conn, name)


class StubService:
    """A service of our own shape whose progress the test decides."""

    def __init__(self, name: str, journal: list[str]) -> None:
        """A service that writes its starts and stops into `journal`."""
        self.name = name
        self.journal = journal
        self.progress = True
        self.seen_degraded: bool | None = None

    async def start(self) -> None:
        """Note the start."""
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        """Note the stop."""
        self.journal.append(f"stop {self.name}")

    def making_progress(self) -> bool:
        """What the test says."""
        return self.progress


def drain(s: socket.socket) -> list[str]:
    """Every datagram waiting on the socket."""
    out: list[str] = []
    while True:
        try:
            out.append(s.recv(4096).decode())
        except BlockingIOError:
            return out
