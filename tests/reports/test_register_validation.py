"""A validated controlled register refuses any change before its date, whatever the write path."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator

import pytest

from cabinet.clock import DrivenClock
from cabinet.errors import MovementRefused, StorageError
from cabinet.reports import Params, ReportError, build
from cabinet.reports.cli import main
from cabinet.reports.validation import validate_register
from cabinet.store import Movement, MovementKind, NewEvent, Store, open_read_only
from cabinet.store.ledger import append
from tests.reports.history import AS_OF, MORPH, OXY, PARA, History

THROUGH = dt.date(2026, 11, 3)


@pytest.fixture
def validated(fresh_ward: History) -> Iterator[tuple[Store, DrivenClock]]:
    """The ward's registers validated through 3 November, with a writer at 5 November."""
    clock = DrivenClock(AS_OF)
    store = Store(fresh_ward.path, clock)
    validate_register(store, THROUGH, "ph1")
    yield store, clock
    store.close()


def ledger_state(conn: sqlite3.Connection) -> tuple[int, int]:
    """Ledger length and morphine pocket stock: both must stay put after a refusal."""
    seq = conn.execute("SELECT MAX(seq) FROM ledger").fetchone()[0]
    qty = conn.execute("SELECT quantity FROM pockets WHERE drawer = 0 AND pocket = 0").fetchone()[0]
    return int(seq), int(qty)


def back_dated_clock(clock: DrivenClock) -> DrivenClock:
    """A clock set back to the validated day (a cabinet with a wrong date)."""
    return DrivenClock(dt.datetime(2026, 11, 3, 23, 59, tzinfo=dt.UTC))


def test_movement_dated_before_validation_is_refused(
    validated: tuple[Store, DrivenClock],
) -> None:
    """Store.move with a clock on the validated day: refused, stock and ledger untouched."""
    store, clock = validated
    before = ledger_state(store.conn)
    store.clock = back_dated_clock(clock)
    with pytest.raises(StorageError, match="validated"):
        store.move(
            Movement(
                kind=MovementKind.DISPENSE,
                drawer=0,
                pocket=0,
                delta=-1,
                actor="n1",
                patient_id="P1",
                order_id="O1",
            )
        )
    assert ledger_state(store.conn) == before
    store.clock = clock
    store.move(Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=0, delta=-1, actor="n1"))
    # The refused attempt is kept as a critical alarm, written with the next good commit.
    assert ledger_state(store.conn) == (before[0] + 2, before[1] - 1)
    added = store.conn.execute(
        "SELECT kind, json_extract(payload, '$.error') FROM ledger WHERE seq > ? ORDER BY seq",
        (before[0],),
    ).fetchall()
    assert [k for k, _ in added] == ["alarm", "dispense"]
    assert "validated" in added[0][1]


def test_recorded_fact_dated_before_validation_is_refused(
    validated: tuple[Store, DrivenClock],
) -> None:
    """Store.record of a count of a controlled item on the validated day: refused."""
    store, clock = validated
    store.clock = back_dated_clock(clock)
    with pytest.raises(StorageError, match="validated"):
        store.record(
            NewEvent(kind="count", actor="n1", item_code=OXY, payload={"expected": 4, "counted": 4})
        )
    # An uncontrolled item has no register: its events are not concerned.
    store.record(
        NewEvent(kind="count", actor="n1", item_code=PARA, payload={"expected": 14, "counted": 14})
    )


def test_raw_sql_cannot_back_date_edit_or_delete(validated: tuple[Store, DrivenClock]) -> None:
    """Straight into SQLite: a back-dated insert, an edit, a deletion are all refused."""
    store, _ = validated
    conn = store.conn
    before = ledger_state(conn)
    with pytest.raises(sqlite3.IntegrityError, match="validated"):
        conn.execute("BEGIN IMMEDIATE")
        try:
            append(
                conn,
                NewEvent(
                    kind="dispense", actor="n1", item_code=MORPH, drawer=0, pocket=0, quantity=-1
                ),
                "2026-11-02T09:00:00.000000+00:00",
            )
        finally:
            conn.execute("ROLLBACK")
    with pytest.raises(sqlite3.IntegrityError, match="validated"):
        conn.execute(
            "INSERT INTO ledger (seq, at, kind, item_code, quantity, payload, prev_hash, hash)"
            " VALUES (999, '2026-11-01T00:00:00.000000+00:00', 'restock', ?, 5, '{}', '', '')",
            (OXY,),
        )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE ledger SET quantity = -5 WHERE seq = 5")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM ledger WHERE seq = 5")
    assert ledger_state(conn) == before


def test_the_register_cannot_be_emptied_by_the_back_door(
    validated: tuple[Store, DrivenClock],
) -> None:
    """Uncontrolling, renaming or deleting the item, or undoing the validation: refused."""
    store, _ = validated
    # Through 4 November, which freezes the morphine discrepancy resolved that day.
    validate_register(store, dt.date(2026, 11, 4), "ph1")
    conn = store.conn
    statements = [
        ("UPDATE items SET controlled = 0 WHERE code = ?", (MORPH,)),
        ("UPDATE items SET code = 'X' WHERE code = ?", (MORPH,)),
        ("DELETE FROM items WHERE code = ?", (OXY,)),
        ("DELETE FROM register_validations WHERE item_code = ?", (MORPH,)),
        ("UPDATE register_validations SET through = '2026-11-01' WHERE item_code = ?", (MORPH,)),
        (
            "INSERT INTO register_validations (item_code, through, validated_by, validated_at)"
            " VALUES (?, '2026-11-01', 'x', '2026-11-05')",
            (MORPH,),
        ),
        ("UPDATE discrepancies SET reason = 'lost' WHERE item_code = ?", (MORPH,)),
        ("DELETE FROM discrepancies WHERE item_code = ?", (MORPH,)),
        (
            "INSERT INTO discrepancies (ledger_seq, opened_at, drawer, pocket, item_code, expected,"
            " counted, cause) VALUES (1, '2026-11-03T10:00:00+00:00', 0, 0, ?, 1, 0, 'x')",
            (MORPH,),
        ),
    ]
    for sql, args in statements:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql, args)
            pytest.fail(f"not refused: {sql}")
    # Other facts of the item stay editable where the register does not depend on them.
    conn.execute("UPDATE items SET name = 'MORPHINE 10 mg/mL' WHERE code = ?", (MORPH,))


def test_validation_only_moves_forward_and_only_over_past_days(fresh_ward: History) -> None:
    """Today or a future day cannot be validated; a later validation cannot go back."""
    store = Store(fresh_ward.path, DrivenClock(AS_OF))
    try:
        for day in (AS_OF.date(), AS_OF.date() + dt.timedelta(days=3)):
            with pytest.raises(ReportError, match="over"):
                validate_register(store, day, "ph1")
        validate_register(store, THROUGH, "ph1", item=MORPH)
        with pytest.raises(ReportError, match="already validated"):
            validate_register(store, dt.date(2026, 11, 2), "ph1", item=MORPH)
        with pytest.raises(ReportError, match="not a controlled item"):
            validate_register(store, THROUGH, "ph1", item=PARA)
        validate_register(store, dt.date(2026, 11, 4), "ph1")
    finally:
        store.close()
    conn = open_read_only(fresh_ward.path)
    try:
        report = build("controlled", conn, Params(now=AS_OF))
    finally:
        conn.close()
    assert {r["item"]: r["validated_through"] for r in report.table("items").as_dicts()} == {
        MORPH: "2026-11-04",
        OXY: "2026-11-04",
    }


def test_command_line_validates_and_refuses(
    fresh_ward: History, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cabinet report controlled --validate-through`: validated, then a back-dated write fails."""
    db = str(fresh_ward.path)
    assert (
        main(
            ["report", "controlled", "--db", db, "--validate-through", "2026-11-04", "--by", "ph1"]
        )
        == 0
    )
    assert "validated through 2026-11-04" in capsys.readouterr().out
    assert main(["report", "controlled", "--db", db, "--validate-through", "3000-01-01"]) == 2
    assert "only a day that is over" in capsys.readouterr().err
    store = Store(fresh_ward.path, DrivenClock(dt.datetime(2026, 11, 4, 12, tzinfo=dt.UTC)))
    try:
        with pytest.raises(StorageError):
            store.move(
                Movement(
                    kind=MovementKind.WASTE, drawer=0, pocket=0, delta=-1, actor="n1", witness="n2"
                )
            )
        with pytest.raises(MovementRefused):
            store.move(
                Movement(kind=MovementKind.DISPENSE, drawer=0, pocket=0, delta=-99, actor="n1")
            )
    finally:
        store.close()
