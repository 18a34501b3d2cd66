"""The store's own rules: pragmas, schema versions, refusals, and listeners after commit."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from cabinet.clock import DrivenClock
from cabinet.errors import MovementRefused, SchemaTooNew, StorageError
from cabinet.store import SCHEMA_VERSION, Movement, MovementKind, Store, open_read_only
from cabinet.store.db import open_writer


def test_writer_runs_wal_full_sync_and_foreign_keys(store: Store) -> None:
    """The durability settings every movement relies on are in force."""
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_newer_than_the_code_is_refused(state: Path, store: Store) -> None:
    """A database from a newer release: a clear refusal, for the writer and the readers."""
    store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(SchemaTooNew, match="upgrade the cabinet software"):
        open_writer(state / "cabinet.db")
    with pytest.raises(SchemaTooNew, match="newer than this code"):
        open_read_only(state / "cabinet.db")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    """Garbage where the store should be: StorageError naming the file."""
    db = tmp_path / "cabinet.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match=str(db)):
        Store(db, DrivenClock())


def test_report_connections_cannot_write(state: Path, store: Store) -> None:
    """Read-only connections (reports) never change anything."""
    reader = open_read_only(state / "cabinet.db")
    with pytest.raises(sqlite3.OperationalError):
        reader.execute("UPDATE pockets SET quantity = 99")
    reader.close()


@pytest.mark.parametrize(
    ("kind", "delta", "drawer", "why"),
    [
        (MovementKind.DISPENSE, 0, 0, "cannot change stock by +0"),
        (MovementKind.DISPENSE, 2, 0, "cannot change stock by +2"),
        (MovementKind.RESTOCK, -1, 0, "cannot change stock by -1"),
        (MovementKind.RETURN, 1, 0, "never back into a pocket"),
        (MovementKind.DISPENSE, -1, 6, "never dispensed from"),
        (MovementKind.DISPENSE, -25, 0, "holds 20: cannot take 25"),
    ],
)
def test_movements_that_make_no_sense_are_refused(
    store: Store, kind: MovementKind, delta: int, drawer: int, why: str
) -> None:
    """Each refusal says why and writes nothing."""
    before = store.conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
    with pytest.raises(MovementRefused, match=re.escape(why)):
        store.move(Movement(kind=kind, drawer=drawer, pocket=0, delta=delta, actor="nurse-1"))
    assert store.conn.execute("SELECT count(*) FROM ledger").fetchone()[0] == before


def test_a_failing_listener_does_not_undo_a_committed_movement(store: Store) -> None:
    """The movement is committed; the caller gets its event, never a false failure."""

    def broken(_: object) -> None:
        """A listener that fails."""
        raise RuntimeError("screen went away")

    store.on_event(broken)
    event = store.move(
        Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=0, delta=-1, actor="nurse-1")
    )
    assert event.quantity == -1
    assert store.conn.execute("SELECT quantity FROM pockets WHERE pocket = 0").fetchone()[0] == 19


def test_nested_transactions_are_a_programming_error_not_a_disk_fault(store: Store) -> None:
    """A write inside a write fails loudly, without a storage alarm."""
    with pytest.raises(RuntimeError, match="cannot be nested"), store.transaction():
        store.move(
            Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=0, delta=-1, actor="nurse-1")
        )
    assert store.pending_faults == []
    assert store.conn.execute("SELECT quantity FROM pockets WHERE pocket = 0").fetchone()[0] == 20


def test_checkpoints_are_signed_every_n_events_in_the_same_commit(store: Store) -> None:
    """With checkpoint_every = 10: checkpoints at 10, 20, 30; then one at stop."""
    for i in range(34):
        store.move(
            Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=i % 3, delta=-1, actor="n")
        )
    seqs = [r[0] for r in store.conn.execute("SELECT seq FROM checkpoints ORDER BY seq")]
    assert seqs == [10, 20, 30]
    assert store.checkpoint() == 34
    assert store.checkpoint() is None  # nothing new to sign
    store.raise_alarm("door_forced", "drawer 0 opened while locked", payload={"drawer": 0})
    kinds = store.conn.execute("SELECT kind, severity FROM alarms").fetchall()
    assert kinds == [("door_forced", "critical")]


def test_two_writers_never_sign_the_same_head_twice(
    store: Store, state: Path, clock: DrivenClock
) -> None:
    """A second process writing (a report command) and the daemon share the checkpoints."""
    from tests.foundation.helpers import open_store

    other = open_store(state, clock, checkpoint_every=10)
    try:
        for i in range(25):
            writer = store if i % 2 else other
            writer.move(
                Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=i % 3, delta=-1, actor="n")
            )
        assert other.checkpoint() == 25
        assert store.checkpoint() is None
    finally:
        other.close()
    seqs = [r[0] for r in store.conn.execute("SELECT seq FROM checkpoints ORDER BY seq")]
    assert seqs == [10, 20, 25]
