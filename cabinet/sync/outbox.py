"""Reading the outbox in sequence order as contract messages, and marking what was acknowledged."""

from __future__ import annotations

import sqlite3
from typing import Any

from cabinet.clock import iso
from cabinet.store import Store
from cabinet.store.ledger import LEDGER_COLUMNS
from proto.cabinet.v1 import sync_pb2

_PENDING = (
    f"SELECT {', '.join('l.' + c.strip() for c in LEDGER_COLUMNS.split(','))} "
    "FROM outbox o JOIN ledger l ON l.seq = o.seq "
    "WHERE o.acked_at IS NULL ORDER BY o.seq LIMIT ?"
)


def event_message(row: sqlite3.Row | tuple[Any, ...]) -> sync_pb2.LedgerEvent:
    """A ledger row as the contract's LedgerEvent; unset optionals stay unset (JSON null)."""
    (seq, at, kind, actor, witness, patient, order, item, drawer, pocket, lot, qty, payload,
     prev_hash, own_hash) = tuple(row)  # fmt: skip
    event = sync_pb2.LedgerEvent(
        seq=int(seq),
        at=str(at),
        kind=str(kind),
        quantity=int(qty),
        payload=str(payload),
        prev_hash=str(prev_hash),
        hash=str(own_hash),
    )
    if actor is not None:
        event.actor = str(actor)
    if witness is not None:
        event.witness = str(witness)
    if patient is not None:
        event.patient_id = str(patient)
    if order is not None:
        event.order_id = str(order)
    if item is not None:
        event.item_code = str(item)
    if drawer is not None:
        event.drawer = int(drawer)
    if pocket is not None:
        event.pocket = int(pocket)
    if lot is not None:
        event.lot = str(lot)
    return event


class Outbox:
    """The ledger events the central has not acknowledged yet, read through its own connection."""

    def __init__(self, store: Store, reader: sqlite3.Connection) -> None:
        """Write acknowledgements through `store`, read through `reader`."""
        self.store = store
        self.reader = reader  # read-only: a long read never blocks a dispense's commit

    def pending(self, limit: int) -> list[sync_pb2.LedgerEvent]:
        """Up to `limit` unacknowledged events, lowest sequence first."""
        return [event_message(row) for row in self.reader.execute(_PENDING, (limit,))]

    def checkpoints(self, after: int, upto: int, limit: int = 1000) -> list[sync_pb2.Checkpoint]:
        """Signed checkpoints with after < seq <= upto."""
        rows = self.reader.execute(
            "SELECT seq, hash, signature, at FROM checkpoints WHERE seq > ? AND seq <= ? "
            "ORDER BY seq LIMIT ?",
            (after, upto, limit),
        ).fetchall()
        return [
            sync_pb2.Checkpoint(
                seq=int(seq), hash=str(h), signature=bytes.fromhex(str(sig)), at=str(at)
            )
            for seq, h, sig, at in rows
        ]

    def last_seq(self) -> int:
        """The ledger's latest sequence (0 when empty)."""
        row = self.reader.execute("SELECT max(seq) FROM ledger").fetchone()
        return int(row[0] or 0)

    def depth(self) -> int:
        """How many events wait for the central."""
        row = self.reader.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()
        return int(row[0])

    def first_pending(self) -> int | None:
        """The lowest unacknowledged sequence, or None."""
        row = self.reader.execute("SELECT min(seq) FROM outbox WHERE acked_at IS NULL").fetchone()
        return None if row[0] is None else int(row[0])

    def acknowledge(self, upto: int) -> int:
        """Mark every event up to `upto` acknowledged, in one transaction; return how many."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL",
                (iso(self.store.clock.now()), upto),
            )
            return cursor.rowcount

    def resend_from(self, seq: int) -> None:
        """The central lost events from `seq` on (e.g. restored from a backup): send them again."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE outbox SET acked_at = NULL WHERE seq >= ?", (seq,))
