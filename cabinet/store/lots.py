"""Lot quantities of a pocket, kept in step with its stock: named lots in, FEFO out."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cabinet.store.movements import Movement


def apply_lots(conn: sqlite3.Connection, m: Movement) -> dict[str, int]:
    """Add to the named lot, or take out first-expiry-first; the lots touched and by how much.

    The caller holds the write transaction. Stock of no known lot (a count that found more)
    changes the pocket's total only.
    """
    touched: dict[str, int] = {}
    if m.delta > 0:
        if m.lot is None or m.expiry is None:
            return touched
        conn.execute(
            "INSERT INTO lots (drawer, pocket, lot, expiry, quantity) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (drawer, pocket, lot, expiry) "
            "DO UPDATE SET quantity = quantity + excluded.quantity",
            (m.drawer, m.pocket, m.lot, m.expiry, m.delta),
        )
        touched[m.lot] = m.delta
        return touched
    remaining = -m.delta
    query = (
        "SELECT id, lot, quantity FROM lots WHERE drawer = ? AND pocket = ? AND quantity > 0 "
        + ("AND lot = ? " if m.lot else "")
        + "ORDER BY expiry, id"
    )
    args: tuple[Any, ...] = (m.drawer, m.pocket, m.lot) if m.lot else (m.drawer, m.pocket)
    for lot_id, lot_name, lot_qty in conn.execute(query, args).fetchall():
        if remaining == 0:
            break
        take = min(remaining, int(lot_qty))
        conn.execute("UPDATE lots SET quantity = quantity - ? WHERE id = ?", (take, lot_id))
        touched[str(lot_name)] = touched.get(str(lot_name), 0) - take
        remaining -= take
    return touched
