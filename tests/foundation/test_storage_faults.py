"""A full disk or an I/O error during a movement: refused, nothing half-written, an alarm."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from cabinet.errors import StorageError
from cabinet.store import Movement, MovementKind, Store
from cabinet.store.movements import StorageFault
from cabinet.store.verify import verify
from tests.foundation.fakes import FailingDisk


def snapshot(store: Store) -> tuple[Any, ...]:
    """Everything a movement writes: stock, lots, ledger, outbox, checkpoints, alarms."""
    conn = store.conn
    return (
        conn.execute("SELECT drawer, pocket, quantity FROM pockets ORDER BY 1, 2").fetchall(),
        conn.execute("SELECT * FROM lots ORDER BY id").fetchall(),
        conn.execute("SELECT seq, hash FROM ledger ORDER BY seq").fetchall(),
        conn.execute("SELECT seq FROM outbox ORDER BY seq").fetchall(),
        conn.execute("SELECT seq FROM checkpoints ORDER BY seq").fetchall(),
        conn.execute("SELECT id FROM alarms ORDER BY id").fetchall(),
    )


def restock(note: str = "") -> Movement:
    """A technician loads 10 units of a lot into pocket 0.1."""
    return Movement(
        kind=MovementKind.RESTOCK,
        drawer=0,
        pocket=1,
        delta=10,
        actor="tech-1",
        lot="L2411",
        expiry="2027-06-30",
        payload={"note": note} if note else {},
    )


def assert_alarm_recorded_once(store: Store) -> None:
    """The storage fault reached the ledger (an alarm event and its alarms row), once."""
    rows = store.conn.execute(
        "SELECT payload FROM ledger WHERE kind = 'alarm' ORDER BY seq"
    ).fetchall()
    alarms = [json.loads(r[0]) for r in rows]
    assert [a["alarm"] for a in alarms] == ["storage_fault"]
    kinds = store.conn.execute("SELECT kind, severity, ledger_seq FROM alarms").fetchall()
    assert [(k, s) for k, s, _ in kinds] == [("storage_fault", "critical")]
    assert store.pending_faults == []


@pytest.mark.parametrize(
    "statement",
    [
        "BEGIN IMMEDIATE",
        "UPDATE POCKETS",
        "INSERT INTO LEDGER",
        "INSERT INTO OUTBOX",
        "INSERT INTO LOTS",
        "COMMIT",
    ],
)
def test_io_error_refuses_the_movement_and_the_next_one_succeeds(
    store: Store, statement: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fails at each step of a restock in turn; nothing of it remains."""
    heard: list[StorageFault] = []
    store.on_fault(heard.append)
    before = snapshot(store)
    real = store.conn
    disk = FailingDisk(real, statement)
    store.conn = disk  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="cabinet.store"), pytest.raises(StorageError):
        store.move(restock())
    store.conn = real
    assert snapshot(store) == before, "a refused movement left something behind"
    assert len(heard) == 1 and "disk I/O error" in heard[0].error
    assert any("storage fault" in r.getMessage() for r in caplog.records)
    assert len(store.pending_faults) == 1
    event = store.move(restock())
    assert event.quantity == 10
    assert (
        store.conn.execute(
            "SELECT quantity FROM pockets WHERE drawer = 0 AND pocket = 1"
        ).fetchone()[0]
        == 30
    )
    assert_alarm_recorded_once(store)
    assert verify(store.conn, None).ok


def test_full_disk_refuses_the_movement_and_the_next_one_succeeds(store: Store) -> None:
    """SQLITE_FULL (the database may not grow): refused, rolled back, then recovered."""
    before = snapshot(store)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError, match="full"):
        store.move(restock(note="x" * 50_000))  # a record that needs new pages
    assert snapshot(store) == before
    # Still full: the pending alarm cannot be written either, and stays pending.
    with pytest.raises(StorageError, match="full"):
        store.move(restock(note="y" * 50_000))
    assert len(store.pending_faults) == 2
    store.conn.execute("PRAGMA max_page_count = 1073741823")
    store.move(restock())
    alarms = store.conn.execute("SELECT count(*) FROM alarms").fetchone()[0]
    assert alarms == 2
    assert store.pending_faults == []
    assert verify(store.conn, None).ok


def test_a_refused_movement_below_zero_is_not_a_storage_fault(store: Store) -> None:
    """Stock can never go negative: a clear refusal, nothing written, no alarm."""
    from cabinet.errors import MovementRefused

    before = snapshot(store)
    with pytest.raises(MovementRefused, match="holds 20: cannot take 21"):
        store.move(
            Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=0, delta=-21, actor="nurse-1")
        )
    assert snapshot(store) == before
    assert store.pending_faults == []
