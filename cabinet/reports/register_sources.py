"""What the controlled register reads besides its lines: items, openings, validations."""

from __future__ import annotations

import sqlite3

from cabinet.reports import kinds
from cabinet.reports.model import Cell, Params, ReportError

_SHORT_PERIOD_DAYS = 92


def controlled_items(conn: sqlite3.Connection, only: str | None) -> list[tuple[str, str]]:
    """The controlled items the register covers: (code, name), or the one asked for."""
    rows = conn.execute(
        "SELECT code, name, controlled FROM items WHERE (? IS NULL OR code = ?) ORDER BY code",
        (only, only),
    ).fetchall()
    if only is not None:
        if not rows:
            raise ReportError(f"no item {only!r} in the formulary")
        if not rows[0][2]:
            raise ReportError(f"item {only!r} is not a controlled item: it has no register")
    return [(str(r[0]), str(r[1])) for r in rows if r[2]]


def return_bins(conn: sqlite3.Connection) -> set[tuple[int, int]]:
    """The return-bin pockets: they hold several items, so their balance is not the item's."""
    rows = conn.execute("SELECT drawer, pocket FROM pockets WHERE return_bin = 1").fetchall()
    return {(int(d), int(p)) for d, p in rows}


def opening_stock(
    conn: sqlite3.Connection, code: str, low: str, bins: set[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """Each pocket's stock of the item just before the period.

    An item's own pocket: the balance its last movement wrote. A return bin: the sum of the
    item's movements into and out of it.
    """
    if not low:
        return {}
    movement_kinds = ", ".join("?" * len(kinds.MOVEMENT_KINDS))
    rows = conn.execute(
        "SELECT drawer, pocket, json_extract(payload, '$.balance') FROM ledger WHERE seq IN ("
        " SELECT MAX(seq) FROM ledger WHERE item_code = ? AND at < ?"
        f" AND kind IN ({movement_kinds}) GROUP BY drawer, pocket)",
        (code, low, *kinds.MOVEMENT_KINDS),
    ).fetchall()
    opening = {(int(d), int(p)): int(b or 0) for d, p, b in rows}
    for place in bins:
        if place in opening:
            opening[place] = int(
                conn.execute(
                    "SELECT COALESCE(SUM(quantity), 0) FROM ledger WHERE item_code = ? AND at < ?"
                    f" AND drawer = ? AND pocket = ? AND kind IN ({movement_kinds})",
                    (code, low, *place, *kinds.MOVEMENT_KINDS),
                ).fetchone()[0]
            )
    return opening


def validations(conn: sqlite3.Connection) -> dict[str, str]:
    """The date each item's register is validated through."""
    rows = conn.execute(
        "SELECT item_code, MAX(through) FROM register_validations GROUP BY item_code"
    ).fetchall()
    return {str(code): str(through) for code, through in rows}


def discrepancy_facts(text: str | None, code: str) -> tuple[Cell, Cell, str]:
    """Expected, counted and the causes of a discrepancy event's rows for this item."""
    changes = kinds.payload_of(text).get("changes", [])
    mine = [c for c in changes if isinstance(c, dict) and c.get("item") in (code, None)]
    causes = ", ".join(str(c.get("cause", "")) for c in mine)
    if len(mine) != 1:
        return None, None, causes
    return mine[0].get(kinds.EXPECTED), mine[0].get(kinds.COUNTED), causes


def access_path(params: Params, items: int) -> str:
    """How to read the ledger: by item for one item, by date for a short period, else a scan.

    The rows of one item are spread over the whole table: for several items over a long
    period, reading the table once in order beats an indexed walk and a sort.
    """
    if items == 1:
        return "INDEXED BY ledger_item"
    if params.date_from is not None:
        end = params.date_to or params.now.date()
        if (end - params.date_from).days <= _SHORT_PERIOD_DAYS:
            return "INDEXED BY ledger_at"
    return "NOT INDEXED"
