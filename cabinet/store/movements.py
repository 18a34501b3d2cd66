"""The single writer: every stock movement with its ledger event and outbox row, in one commit."""

from __future__ import annotations

import contextlib
import enum
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cabinet.clock import Clock, iso
from cabinet.errors import MovementRefused, StorageError
from cabinet.store import checkpoints, ledger
from cabinet.store.alarms import StorageFault, insert_alarm, write_fault_alarm
from cabinet.store.checkpoints import CheckpointSigner
from cabinet.store.db import open_writer
from cabinet.store.ledger import LedgerEvent, NewEvent
from cabinet.store.lots import apply_lots

# StorageFault and insert_alarm live in cabinet.store.alarms; still importable from here.
__all__ = [
    "Movement",
    "MovementKind",
    "StorageFault",
    "Store",
    "TxHook",
    "insert_alarm",
]

_log = logging.getLogger("cabinet.store")
# Faults kept for the ledger while the disk is failing; more are only counted and logged.
_MAX_PENDING_FAULTS = 20


class MovementKind(enum.Enum):
    """Why a pocket's stock changed; the value is the ledger event kind."""

    DISPENSE = "dispense"
    RESTOCK = "restock"
    RETURN = "return"
    WASTE = "waste"
    COUNT_CORRECTION = "count_correction"


# The sign each kind may take: a dispense only takes out, a restock only puts in. Zero is
# allowed where the fact matters without a stock change: a waste of part of a dose already
# dispensed, a count that found exactly the expected stock.
_ALLOWED_SIGN: dict[MovementKind, set[int]] = {
    MovementKind.DISPENSE: {-1},
    MovementKind.RESTOCK: {1},
    MovementKind.RETURN: {1},
    MovementKind.WASTE: {-1, 0},
    MovementKind.COUNT_CORRECTION: {-1, 0, 1},
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Movement:
    """One change of one pocket's stock, with who, for whom and why."""

    kind: MovementKind
    drawer: int
    pocket: int
    delta: int  # signed change in item units
    actor: str
    witness: str | None = None
    patient_id: str | None = None
    order_id: str | None = None
    item_code: str | None = None  # defaults to the pocket's item; required for the return bin
    lot: str | None = None  # a restock names its lot; a take without one draws FEFO
    expiry: str | None = None  # ISO date, with a restock's lot
    payload: dict[str, Any] = field(default_factory=dict)


# Called inside the transaction, after the movement's rows are written: a hook for the
# workflows to add rows (a discrepancy, a workflow state) that must commit with the movement.
TxHook = Callable[[sqlite3.Connection, LedgerEvent], None]


class Store:
    """Owner of the one write connection; every write goes through here."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        *,
        signer: CheckpointSigner | None = None,
        checkpoint_every: int = 100,
    ) -> None:
        """Open the write connection; sign checkpoints with `signer` when given."""
        self.path = path
        self.clock = clock
        self.conn = open_writer(path)
        # One writer: the asyncio loop, or a worker thread, but never two at once.
        self._lock = threading.RLock()
        self._listeners: list[Callable[[LedgerEvent], None]] = []
        self._fault_listeners: list[Callable[[StorageFault], None]] = []
        # Faults seen but not yet written to the ledger (the store could not write them).
        self.pending_faults: list[StorageFault] = []
        self.faults_seen = 0
        self._signer = signer
        self.checkpoint_every = max(1, checkpoint_every)
        last = checkpoints.last(self.conn)
        self.last_checkpoint_seq = last.seq if last is not None else 0
        self._txn_checkpoint: int | None = None  # signed inside the open transaction
        if signer is not None:
            with self.transaction() as conn:
                checkpoints.register_public_key(conn, signer)

    def set_wal_autocheckpoint(self, pages: int) -> None:
        """How many WAL pages make the writer's own COMMIT checkpoint the WAL."""
        with self._lock:
            try:
                self.conn.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot set wal_autocheckpoint: {exc}") from exc

    def close(self) -> None:
        """Close the write connection."""
        with self._lock:
            self.conn.close()

    def on_event(self, listener: Callable[[LedgerEvent], None]) -> None:
        """Call `listener` with every event after its transaction has committed."""
        self._listeners.append(listener)

    def on_fault(self, listener: Callable[[StorageFault], None]) -> None:
        """Call `listener` (in memory, at once) whenever a write fails on a storage error."""
        self._fault_listeners.append(listener)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error; sqlite errors become StorageError.

        Storage faults recorded earlier are written first, in the same transaction, and a
        signed checkpoint is added before COMMIT when one is due.
        """
        with self._lock:
            if self.conn.in_transaction:
                # A programming error (a write inside a write), not a failing disk: no alarm.
                raise RuntimeError("Store.transaction() cannot be nested")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._fault("begin", exc) from exc
            written: list[LedgerEvent] = []
            self._txn_checkpoint = None
            try:
                written = self._write_pending_faults(self.conn)
                yield self.conn
                self._checkpoint_if_due(self.conn)
                self.conn.execute("COMMIT")
            except BaseException as exc:
                # The connection may already have rolled back (e.g. after SQLITE_FULL).
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._fault("write", exc) from exc
                raise
            if self._txn_checkpoint is not None:
                self.last_checkpoint_seq = self._txn_checkpoint
            if written:
                self.pending_faults.clear()
                self._publish(written)

    def _fault(self, stage: str, exc: sqlite3.Error) -> StorageError:
        """Remember a storage fault, tell the listeners, and give the error to raise."""
        fault = StorageFault(at=iso(self.clock.now()), stage=stage, error=str(exc))
        self.faults_seen += 1
        if len(self.pending_faults) < _MAX_PENDING_FAULTS:
            self.pending_faults.append(fault)
        _log.error("storage fault: %s failed: %s; the write was refused", stage, exc)
        for listener in self._fault_listeners:
            try:
                listener(fault)
            except Exception:
                _log.exception("a storage fault listener failed")
        return StorageError(f"store write failed: {exc}")

    def _write_pending_faults(self, conn: sqlite3.Connection) -> list[LedgerEvent]:
        """Record, as alarms, the faults that happened while the store could not write."""
        return [write_fault_alarm(conn, f, iso(self.clock.now())) for f in self.pending_faults]

    def _checkpoint_if_due(self, conn: sqlite3.Connection, *, force: bool = False) -> int | None:
        """Sign the head when `checkpoint_every` events passed (or when forced); its seq."""
        if self._signer is None:
            return None
        seq, h = ledger.head(conn)
        # Read from the store, not from memory: another writer (a report command marking the
        # register) may have signed meanwhile, and signing the same head twice would fail.
        last = checkpoints.last(conn)
        signed = last.seq if last is not None else 0
        if seq <= signed:
            return None
        if not force and seq - signed < self.checkpoint_every:
            return None
        checkpoints.write(conn, self._signer, seq, h, iso(self.clock.now()))
        self._txn_checkpoint = seq
        return seq

    def checkpoint(self) -> int | None:
        """Sign the ledger's head now (at every stop); the checkpoint's sequence, if one was due."""
        if self._signer is None:
            return None
        with self.transaction() as conn:
            return self._checkpoint_if_due(conn, force=True)

    def raise_alarm(
        self,
        kind: str,
        message: str,
        *,
        severity: str = "critical",
        actor: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> LedgerEvent:
        """Record an alarm: a ledger event and its row in `alarms`, together."""
        body = {"alarm": kind, "severity": severity, "message": message, **(payload or {})}

        def add_row(conn: sqlite3.Connection, event: LedgerEvent) -> None:
            """The alarm's row, in the event's transaction."""
            insert_alarm(conn, event, kind, severity, message, event.at)

        return self.record(NewEvent(kind="alarm", actor=actor, payload=body), add_row)

    def _publish(self, events: list[LedgerEvent]) -> None:
        """Tell the listeners about committed events; a failing listener never undoes them."""
        for event in events:
            for listener in self._listeners:
                try:
                    listener(event)
                except Exception:
                    # The event is committed: raising here would make the caller believe
                    # the movement failed and perhaps repeat it (a double decrement).
                    _log.exception("a ledger listener failed on event %d", event.seq)

    def record(self, event: NewEvent, hook: TxHook | None = None) -> LedgerEvent:
        """Append a non-stock event (alarm, login failure, start, stop…) with its outbox row."""
        with self.transaction() as conn:
            stored = ledger.append(conn, event, iso(self.clock.now()))
            if hook is not None:
                hook(conn, stored)
        self._publish([stored])
        return stored

    def move(self, movement: Movement, hook: TxHook | None = None) -> LedgerEvent:
        """Apply one stock movement: new stock, lots, ledger event and outbox row, or nothing."""
        sign = (movement.delta > 0) - (movement.delta < 0)
        if sign not in _ALLOWED_SIGN[movement.kind]:
            raise MovementRefused(
                f"a {movement.kind.value} cannot change stock by {movement.delta:+d}"
            )
        with self.transaction() as conn:
            stored = self._move_in(conn, movement)
            if hook is not None:
                hook(conn, stored)
        self._publish([stored])
        return stored

    def _move_in(self, conn: sqlite3.Connection, m: Movement) -> LedgerEvent:
        """Check and apply one movement inside the caller's transaction."""
        row = conn.execute(
            "SELECT item_code, quantity, return_bin FROM pockets WHERE drawer = ? AND pocket = ?",
            (m.drawer, m.pocket),
        ).fetchone()
        if row is None:
            raise MovementRefused(f"no pocket {m.drawer}.{m.pocket} in this cabinet")
        pocket_item, quantity, return_bin = row[0], int(row[1]), bool(row[2])
        if return_bin and m.kind is not MovementKind.RETURN and m.kind is not MovementKind.WASTE:
            raise MovementRefused("the return bin is never dispensed from or restocked")
        if m.kind is MovementKind.RETURN and not return_bin:
            raise MovementRefused("returns go to the return bin, never back into a pocket")
        item = m.item_code or pocket_item
        if item is None:
            raise MovementRefused(f"pocket {m.drawer}.{m.pocket} has no item assigned")
        if pocket_item is not None and m.item_code and m.item_code != pocket_item:
            raise MovementRefused(f"pocket {m.drawer}.{m.pocket} holds {pocket_item}, not {item}")
        new_quantity = quantity + m.delta
        if new_quantity < 0:
            raise MovementRefused(
                f"pocket {m.drawer}.{m.pocket} holds {quantity}: cannot take {-m.delta}"
            )
        conn.execute(
            "UPDATE pockets SET quantity = ? WHERE drawer = ? AND pocket = ?",
            (new_quantity, m.drawer, m.pocket),
        )
        lots_touched = apply_lots(conn, m)
        payload = dict(m.payload)
        payload["balance"] = new_quantity
        if lots_touched:
            payload["lots"] = lots_touched
        if m.expiry:
            payload["expiry"] = m.expiry
        return ledger.append(
            conn,
            NewEvent(
                kind=m.kind.value,
                actor=m.actor,
                witness=m.witness,
                patient_id=m.patient_id,
                order_id=m.order_id,
                item_code=item,
                drawer=m.drawer,
                pocket=m.pocket,
                lot=m.lot,
                quantity=m.delta,
                payload=payload,
            ),
            iso(self.clock.now()),
        )
