"""Reading the formulary, pockets, patients, orders and dose history from the store."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

from cabinet.domain.dosing import DAY, Given, OrderRule, parse_times
from cabinet.domain.stock import LotStock, PocketStock
from cabinet.domain.weighing import PocketScale


@dataclass(frozen=True, kw_only=True, slots=True)
class Item:
    """A formulary item."""

    code: str
    name: str
    strength: str
    form: str
    unit_cg: int
    tolerance_cg: int
    controlled: bool
    high_alert: bool
    lookalike_group: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Patient:
    """A patient of the care unit."""

    id: str
    name: str
    room: str | None
    bed: str | None
    allergies: tuple[str, ...]


_ITEM_COLUMNS = (
    "code, name, strength, form, unit_weight_cg, tolerance_cg, controlled, high_alert, "
    "lookalike_group"
)


def _item(row: tuple[object, ...]) -> Item:
    """An Item from a row of _ITEM_COLUMNS."""
    return Item(
        code=str(row[0]),
        name=str(row[1]),
        strength=str(row[2]),
        form=str(row[3]),
        unit_cg=int(str(row[4])),
        tolerance_cg=int(str(row[5])),
        controlled=bool(row[6]),
        high_alert=bool(row[7]),
        lookalike_group=None if row[8] is None else str(row[8]),
    )


def item(conn: sqlite3.Connection, code: str) -> Item | None:
    """One item by code."""
    row = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE code = ?", (code,)).fetchone()
    return None if row is None else _item(tuple(row))


def items(conn: sqlite3.Connection, codes: list[str] | None = None) -> list[Item]:
    """Every item, or those named."""
    rows = conn.execute(f"SELECT {_ITEM_COLUMNS} FROM items ORDER BY name").fetchall()
    found = [_item(tuple(r)) for r in rows]
    return found if codes is None else [i for i in found if i.code in set(codes)]


def override_items(conn: sqlite3.Connection) -> list[Item]:
    """The items on the care unit's override list."""
    codes = [str(r[0]) for r in conn.execute("SELECT item_code FROM override_list").fetchall()]
    return items(conn, codes)


def patient(conn: sqlite3.Connection, patient_id: str) -> Patient | None:
    """One patient by IPP."""
    row = conn.execute(
        "SELECT id, name, room, bed, allergies FROM patients WHERE id = ?", (patient_id,)
    ).fetchone()
    return None if row is None else _patient(tuple(row))


def patients(conn: sqlite3.Connection) -> list[Patient]:
    """Every patient, by room and bed."""
    rows = conn.execute(
        "SELECT id, name, room, bed, allergies FROM patients ORDER BY room, bed, name"
    ).fetchall()
    return [_patient(tuple(r)) for r in rows]


def _patient(row: tuple[object, ...]) -> Patient:
    """A Patient from its row; bad allergy JSON shows as itself rather than vanishing."""
    raw = str(row[4] or "[]")
    try:
        parsed = json.loads(raw)
        allergies = tuple(str(a) for a in parsed) if isinstance(parsed, list) else (raw,)
    except json.JSONDecodeError:
        allergies = (raw,)
    return Patient(
        id=str(row[0]),
        name=str(row[1]),
        room=None if row[2] is None else str(row[2]),
        bed=None if row[3] is None else str(row[3]),
        allergies=allergies,
    )


_ORDER_COLUMNS = (
    "id, patient_id, item_code, dose, kind, times, window_minutes, min_interval_minutes, "
    "daily_max, start_at, stop_at, status, verified_by"
)


def _order(row: tuple[object, ...]) -> OrderRule:
    """An OrderRule from a row of _ORDER_COLUMNS."""
    return OrderRule(
        order_id=str(row[0]),
        patient_id=str(row[1]),
        item_code=str(row[2]),
        dose=int(str(row[3])),
        kind=str(row[4]),
        times=parse_times(str(row[5])),
        window=dt.timedelta(minutes=int(str(row[6]))),
        min_interval=dt.timedelta(minutes=int(str(row[7]))),
        daily_max=None if row[8] is None else int(str(row[8])),
        start_at=_when(str(row[9])),
        stop_at=None if row[10] is None else _when(str(row[10])),
        status=str(row[11]),
        verified_by=None if row[12] is None else str(row[12]),
    )


def _when(text: str) -> dt.datetime:
    """An ISO timestamp as an aware UTC datetime (naive ones are taken as UTC)."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def order(conn: sqlite3.Connection, order_id: str) -> OrderRule | None:
    """One order by id."""
    row = conn.execute(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = ?", (order_id,)).fetchone()
    return None if row is None else _order(tuple(row))


def orders_of(conn: sqlite3.Connection, patient_id: str) -> list[OrderRule]:
    """A patient's orders, active ones first."""
    rows = conn.execute(
        f"SELECT {_ORDER_COLUMNS} FROM orders WHERE patient_id = ? ORDER BY status != 'active', id",
        (patient_id,),
    ).fetchall()
    return [_order(tuple(r)) for r in rows]


def active_orders(conn: sqlite3.Connection) -> list[OrderRule]:
    """Every active order of the unit."""
    rows = conn.execute(
        f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status = 'active' ORDER BY id"
    ).fetchall()
    return [_order(tuple(r)) for r in rows]


def given(conn: sqlite3.Connection, rule: OrderRule, now: dt.datetime) -> list[Given]:
    """Units that left the cabinet for this patient and item over the last two days.

    Counts dispenses under the order, overrides of the same item for the same patient, and
    units taken in a discrepancy of this order: the patient may have received them.
    """
    since = (now - 2 * DAY).isoformat(timespec="microseconds")
    rows = conn.execute(
        "SELECT at, kind, quantity, order_id, payload FROM ledger "
        "WHERE kind IN ('dispense', 'discrepancy') AND at >= ? AND patient_id = ? "
        "AND item_code = ?",
        (since, rule.patient_id, rule.item_code),
    ).fetchall()
    history: list[Given] = []
    for at, kind, quantity, order_id, payload in rows:
        if kind == "dispense" and (order_id in (None, rule.order_id)):
            history.append(Given(at=_when(str(at)), units=-int(quantity)))
        elif kind == "discrepancy" and order_id == rule.order_id:
            taken = int(json.loads(str(payload)).get("taken", 0))
            if taken > 0:
                history.append(Given(at=_when(str(at)), units=taken))
    return history


def pockets_of(conn: sqlite3.Connection, item_code: str) -> list[PocketStock]:
    """Every regular pocket holding the item, with its lots."""
    rows = conn.execute(
        "SELECT drawer, pocket, quantity FROM pockets WHERE item_code = ? AND return_bin = 0 "
        "ORDER BY drawer, pocket",
        (item_code,),
    ).fetchall()
    found: list[PocketStock] = []
    for drawer, pocket, quantity in rows:
        lots = conn.execute(
            "SELECT lot, expiry, quantity FROM lots "
            "WHERE drawer = ? AND pocket = ? AND quantity > 0",
            (drawer, pocket),
        ).fetchall()
        found.append(
            PocketStock(
                drawer=int(drawer),
                pocket=int(pocket),
                quantity=int(quantity),
                lots=tuple(
                    LotStock(
                        lot=str(lot), expiry=dt.date.fromisoformat(str(exp)[:10]), quantity=int(q)
                    )
                    for lot, exp, q in lots
                ),
            )
        )
    return found


def pocket_row(conn: sqlite3.Connection, drawer: int, pocket: int) -> tuple[str | None, int, bool]:
    """(item code, quantity, is return bin) of one pocket, or KeyError."""
    row = conn.execute(
        "SELECT item_code, quantity, return_bin FROM pockets WHERE drawer = ? AND pocket = ?",
        (drawer, pocket),
    ).fetchone()
    if row is None:
        raise KeyError((drawer, pocket))
    return (None if row[0] is None else str(row[0])), int(row[1]), bool(row[2])


def drawer_scales(conn: sqlite3.Connection, drawer: int) -> dict[int, PocketScale]:
    """Every pocket of a drawer with the unit weight its change is counted against."""
    rows = conn.execute(
        "SELECT p.pocket, p.item_code, i.unit_weight_cg, i.tolerance_cg FROM pockets p "
        "LEFT JOIN items i ON i.code = p.item_code WHERE p.drawer = ?",
        (drawer,),
    ).fetchall()
    return {
        int(p): PocketScale(
            pocket=int(p),
            item_code=None if code is None else str(code),
            unit_cg=int(unit or 0),
            tolerance_cg=int(tol or 0),
        )
        for p, code, unit, tol in rows
    }


def return_bin(conn: sqlite3.Connection) -> tuple[int, int] | None:
    """The return bin's (drawer, pocket), if the cabinet has one."""
    row = conn.execute(
        "SELECT drawer, pocket FROM pockets WHERE return_bin = 1 ORDER BY drawer, pocket LIMIT 1"
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def item_of_gtin(conn: sqlite3.Connection, gtin: str) -> str | None:
    """The item a pack GTIN belongs to."""
    row = conn.execute("SELECT item_code FROM item_gtins WHERE gtin = ?", (gtin,)).fetchone()
    return None if row is None else str(row[0])
