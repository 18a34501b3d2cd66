"""A small, fixed ward history whose report figures are worked out by hand in the tests."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cabinet.clock import DrivenClock
from cabinet.store import Movement, MovementKind, NewEvent, Store
from cabinet.store.ledger import LedgerEvent
from cabinet.store.movements import TxHook

MORPH = "9000000000017"  # controlled
PARA = "9000000000024"
OXY = "9000000000031"  # controlled
GLUC = "9000000000048"
UNIT = "Cardiologie 3B"
START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
AS_OF = dt.datetime(2026, 11, 5, 18, 0, tzinfo=dt.UTC)


@dataclass
class History:
    """The store and the sequence numbers the tests refer to."""

    path: Path
    clock: DrivenClock
    seqs: dict[str, int] = field(default_factory=dict)


def seed(conn: sqlite3.Connection) -> None:
    """Formulary, pockets, people and orders of the ward."""
    conn.executemany(
        "INSERT INTO items (code, name, strength, form, unit_weight_cg, tolerance_cg, controlled)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (MORPH, "MORPHINE 10 mg/1 mL", "10 mg", "ampoule", 250, 40, 1),
            (PARA, "PARACETAMOL 500 mg", "500 mg", "tablet", 60, 10, 0),
            (OXY, "OXYCODONE 5 mg", "5 mg", "capsule", 30, 8, 1),
            (GLUC, "GLUCOSE 30 %", "30 %", "ampoule", 1100, 90, 0),
        ],
    )
    conn.executemany(
        "INSERT INTO item_gtins (gtin, item_code) VALUES (?, ?)",
        [("03400930000011", MORPH), ("03400930000028", PARA), ("03400930000035", OXY)],
    )
    conn.executemany(
        "INSERT INTO pockets (drawer, pocket, item_code, par, max, return_bin)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (0, 0, MORPH, 5, 20, 0),
            (0, 1, PARA, 10, 20, 0),
            (0, 2, OXY, 5, 8, 0),
            (0, 3, GLUC, 2, 6, 0),
            (1, 0, None, 0, 0, 1),
        ],
    )
    conn.executemany(
        "INSERT INTO users (id, name, roles) VALUES (?, ?, ?)",
        [(f"n{i}", f"Nurse {i}", "nurse") for i in range(1, 6)]
        + [("ph1", "Pharmacist", "pharmacist"), ("t1", "Technician", "technician")],
    )
    conn.executemany(
        "INSERT INTO patients (id, name) VALUES (?, ?)", [("P1", "DUPONT"), ("P2", "MARTIN")]
    )
    conn.executemany(
        "INSERT INTO orders (id, patient_id, item_code, dose, kind, start_at, status, verified_by)"
        " VALUES (?, ?, ?, ?, 'prn', '2026-11-01', 'active', 'ph1')",
        [("O1", "P1", MORPH, 1), ("O2", "P2", PARA, 2), ("O3", "P1", OXY, 1)],
    )


def override(reason: str, prescriber: str) -> dict[str, Any]:
    """The payload of a dispense made under an override, as the workflows write it."""
    return {"override": True, "reason": reason, "prescriber": prescriber, "review": "pending"}


def _day(clock: DrivenClock, day: int) -> None:
    """Move the clock to 08:00 of the given day of the history (day 1 = 2026-11-02)."""
    target = START + dt.timedelta(days=day - 1)
    clock.advance((target - clock.now()).total_seconds())


def build(path: Path) -> History:
    """Write the history into a new store at `path`."""
    clock = DrivenClock(START - dt.timedelta(hours=1))
    history = History(path=path, clock=clock)
    store = Store(path, clock)
    with store.transaction() as conn:
        seed(conn)

    def move(
        kind: MovementKind, pocket: tuple[int, int], delta: int, actor: str, **kw: Any
    ) -> LedgerEvent:
        """One movement, a minute after the last event."""
        clock.advance(60)
        return store.move(
            Movement(kind=kind, drawer=pocket[0], pocket=pocket[1], delta=delta, actor=actor, **kw)
        )

    def record(event: NewEvent, hook: TxHook | None = None) -> LedgerEvent:
        """One fact, a minute after the last event."""
        clock.advance(60)
        return store.record(event, hook)

    d, r = MovementKind.DISPENSE, MovementKind.RESTOCK
    _day(clock, 1)
    move(r, (0, 0), 20, "t1", lot="M1", expiry="2026-11-20")
    move(r, (0, 1), 20, "t1", lot="P1", expiry="2027-06-30")
    move(r, (0, 2), 6, "t1", lot="X1", expiry="2026-12-31")
    move(r, (0, 3), 3, "t1", lot="G0", expiry="2026-11-01")

    def open_discrepancy(
        expected: int, counted: int, pocket: tuple[int, int], item: str, by: str
    ) -> LedgerEvent:
        """A count that disagrees with the record: a discrepancy event and its row."""

        def hook(conn: sqlite3.Connection, event: LedgerEvent) -> None:
            """The discrepancy row commits with its event."""
            conn.execute(
                "INSERT INTO discrepancies (ledger_seq, opened_at, opened_by, drawer, pocket,"
                " item_code, expected, counted, cause)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'count_mismatch')",
                (event.seq, event.at, by, pocket[0], pocket[1], item, expected, counted),
            )

        change = {
            "pocket": pocket[1],
            "item": item,
            "expected": expected,
            "counted": counted,
            "cause": "count_mismatch",
            "correction": counted - expected,
        }
        return record(
            NewEvent(
                kind="discrepancy",
                actor=by,
                item_code=item,
                drawer=pocket[0],
                pocket=pocket[1],
                payload={"changes": [change], "taken": 0},
            ),
            hook,
        )

    _day(clock, 2)
    for actor, qty in (
        ("n1", 1),
        ("n2", 2),
        ("n3", 1),
        ("n4", 2),
        ("n5", 2),
        ("n5", 2),
        ("n5", 2),
        ("n5", 2),
    ):
        # The first nurse's blind count before the take: 20, as recorded.
        blind = {"blind_count": 20} if actor == "n1" else {}
        move(d, (0, 0), -qty, actor, patient_id="P1", order_id="O1", payload=blind)
    move(d, (0, 1), -2, "n1", patient_id="P2", order_id="O2")
    move(d, (0, 1), -2, "n2", patient_id="P2", order_id="O2")
    _day(clock, 3)
    history.seqs["override_para"] = move(
        d, (0, 1), -2, "n3", patient_id="P2", payload=override("emergency", "Dr House")
    ).seq
    history.seqs["waste"] = move(
        MovementKind.WASTE,
        (0, 0),
        -1,
        "n1",
        witness="n2",
        patient_id="P1",
        payload={"reason": "ampoule dropped"},
    ).seq
    history.seqs["count_morph"] = open_discrepancy(5, 4, (0, 0), MORPH, "n4").seq

    def resolve(conn: sqlite3.Connection, event: LedgerEvent) -> None:
        """The pharmacist's resolution commits with the count correction."""
        conn.execute(
            "UPDATE discrepancies SET status = 'resolved', reason = 'count error confirmed',"
            " resolved_by = 'ph1', witness = 'n2', resolved_at = ?, resolved_seq = ?"
            " WHERE item_code = ? AND status = 'open'",
            (event.at, event.seq, MORPH),
        )

    clock.advance(60)
    store.move(
        Movement(
            kind=MovementKind.COUNT_CORRECTION,
            drawer=0,
            pocket=0,
            delta=-1,
            actor="ph1",
            witness="n2",
            payload={"reason": "count error confirmed"},
        ),
        resolve,
    )
    record(
        NewEvent(
            kind="discrepancy_resolved",
            actor="ph1",
            witness="n2",
            item_code=MORPH,
            drawer=0,
            pocket=0,
            payload={"reason": "count error confirmed"},
        )
    )
    move(MovementKind.RETURN, (1, 0), 1, "n1", item_code=MORPH, patient_id="P1")
    history.seqs["override_oxy"] = move(
        d, (0, 2), -1, "n5", patient_id="P1", payload=override("order pending", "Dr Grey")
    ).seq
    record(
        NewEvent(
            kind="count",
            actor="n1",
            item_code=OXY,
            drawer=0,
            pocket=2,
            payload={"counted": 5, "balance": 5},
        )
    )
    # Part of a dose already taken, wasted at the cabinet: no stock change.
    move(MovementKind.WASTE, (0, 2), 0, "n2", witness="n3", patient_id="P1", payload={"wasted": 1})
    _day(clock, 4)
    record(
        NewEvent(
            kind="override_linked",
            patient_id="P1",
            order_id="O3",
            item_code=OXY,
            payload={"override_seq": history.seqs["override_oxy"]},
        )
    )
    record(
        NewEvent(
            kind="override_reviewed",
            actor="ph1",
            item_code=PARA,
            payload={"override_seq": history.seqs["override_para"], "note": "ok"},
        )
    )
    move(d, (0, 2), -1, "n4", patient_id="P1", order_id="O3")
    open_discrepancy(14, 15, (0, 1), PARA, "n2")
    clock.advance((AS_OF - clock.now()).total_seconds())
    store.close()
    return history
