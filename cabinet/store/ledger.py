"""Ledger events: their canonical encoding, their hash, and appending one inside a transaction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64

# The fields that are hashed, in the order they are stored; changing this breaks every chain.
HASHED_FIELDS = (
    "seq",
    "at",
    "kind",
    "actor",
    "witness",
    "patient_id",
    "order_id",
    "item_code",
    "drawer",
    "pocket",
    "lot",
    "quantity",
    "payload",
    "prev_hash",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class NewEvent:
    """An event about to be appended: everything but its place in the chain."""

    kind: str
    actor: str | None = None
    witness: str | None = None
    patient_id: str | None = None
    order_id: str | None = None
    item_code: str | None = None
    drawer: int | None = None
    pocket: int | None = None
    lot: str | None = None
    quantity: int = 0
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerEvent:
    """An event as stored: with its sequence number, time, previous hash and own hash."""

    seq: int
    at: str
    kind: str
    actor: str | None
    witness: str | None
    patient_id: str | None
    order_id: str | None
    item_code: str | None
    drawer: int | None
    pocket: int | None
    lot: str | None
    quantity: int
    payload: str  # canonical JSON, exactly as hashed
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """All stored fields by name."""
        return {name: getattr(self, name) for name in (*HASHED_FIELDS, "hash")}

    @classmethod
    def from_row(cls, row: tuple[Any, ...] | sqlite3.Row) -> LedgerEvent:
        """Build from a `SELECT {LEDGER_COLUMNS} FROM ledger` row."""
        return cls(**dict(zip((*HASHED_FIELDS, "hash"), tuple(row), strict=True)))


LEDGER_COLUMNS = ", ".join((*HASHED_FIELDS, "hash"))


def canonical_payload(payload: dict[str, Any]) -> str:
    """The one JSON spelling of a payload: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical encoding of an event's hashed fields (including prev_hash)."""
    ordered = [fields[name] for name in HASHED_FIELDS]
    encoded = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """The last sequence number and hash, or (0, GENESIS_HASH) on an empty ledger."""
    row = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


def append(conn: sqlite3.Connection, event: NewEvent, at: str) -> LedgerEvent:
    """Append one event and its outbox row; the caller holds the write transaction."""
    last_seq, last_hash = head(conn)
    fields: dict[str, Any] = {
        "seq": last_seq + 1,
        "at": at,
        "kind": event.kind,
        "actor": event.actor,
        "witness": event.witness,
        "patient_id": event.patient_id,
        "order_id": event.order_id,
        "item_code": event.item_code,
        "drawer": event.drawer,
        "pocket": event.pocket,
        "lot": event.lot,
        "quantity": event.quantity,
        "payload": canonical_payload(event.payload),
        "prev_hash": last_hash,
    }
    fields["hash"] = event_hash(fields)
    conn.execute(
        f"INSERT INTO ledger ({LEDGER_COLUMNS}) VALUES ({', '.join('?' * len(fields))})",
        tuple(fields.values()),
    )
    conn.execute("INSERT INTO outbox (seq) VALUES (?)", (fields["seq"],))
    return LedgerEvent(**fields)
