"""Alarms in the store: the `alarms` row of an alarm event, and storage faults kept for later."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from cabinet.store import ledger
from cabinet.store.ledger import LedgerEvent, NewEvent


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageFault:
    """A write the store refused because the disk failed (full, I/O error)."""

    at: str
    stage: str  # begin or write
    error: str


def insert_alarm(
    conn: sqlite3.Connection, event: LedgerEvent, kind: str, severity: str, message: str, at: str
) -> None:
    """The `alarms` row of an alarm event; the caller holds the write transaction."""
    conn.execute(
        "INSERT INTO alarms (ledger_seq, raised_at, kind, severity, message) "
        "VALUES (?, ?, ?, ?, ?)",
        (event.seq, at, kind, severity, message),
    )


def write_fault_alarm(conn: sqlite3.Connection, fault: StorageFault, at: str) -> LedgerEvent:
    """The alarm event and row of a storage fault; the caller holds the write transaction."""
    event = ledger.append(
        conn,
        NewEvent(
            kind="alarm",
            payload={
                "alarm": "storage_fault",
                "severity": "critical",
                "stage": fault.stage,
                "error": fault.error,
                "raised_at": fault.at,
            },
        ),
        at,
    )
    insert_alarm(
        conn, event, "storage_fault", "critical", f"{fault.stage}: {fault.error}", fault.at
    )
    return event
