"""What the screens read straight from the store, through their own read-only connection."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from cabinet.clock import Clock, iso
from cabinet.config import DrawerSection
from cabinet.store import open_read_only
from cabinet.ui.models import DrawerLayout, ItemOut, PocketOut

_POCKETS = (
    "SELECT p.drawer, p.pocket, p.item_code, i.name, COALESCE(i.strength, ''), p.quantity, "
    "p.par, p.max FROM pockets p LEFT JOIN items i ON i.code = p.item_code "
    "WHERE p.return_bin = 0 {where} ORDER BY p.drawer, p.pocket"
)


class StockReader:
    """Pockets, drawers and items for the drawer picture and the restock, count, waste lists."""

    def __init__(self, db_path: Path, drawers: tuple[DrawerSection, ...], clock: Clock) -> None:
        """Keep what the object needs; nothing starts here."""
        self._db_path = db_path
        self._drawers = {d.index: d for d in drawers}
        self._clock = clock
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        """The read-only connection, opened on first use (the writer creates the file)."""
        if self._conn is None:
            self._conn = open_read_only(self._db_path)
        return self._conn

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @staticmethod
    def _pocket(row: sqlite3.Row | tuple[object, ...]) -> PocketOut:
        """One pockets row as the screen shows it."""
        drawer, pocket, code, name, strength, quantity, par, maximum = tuple(row)
        return PocketOut(
            drawer=int(str(drawer)),
            pocket=int(str(pocket)),
            item_code=None if code is None else str(code),
            item_name=None if name is None else str(name),
            strength=str(strength),
            quantity=None if code is None else int(str(quantity)),
            par=int(str(par)),
            max=int(str(maximum)),
            below_par=code is not None and int(str(quantity)) < int(str(par)),
        )

    def pockets(self) -> list[PocketOut]:
        """Every assigned pocket, drawer by drawer."""
        rows = self._db().execute(_POCKETS.format(where="AND p.item_code IS NOT NULL"))
        return [self._pocket(r) for r in rows.fetchall()]

    def layout(self, drawer: int) -> DrawerLayout | None:
        """One drawer seen from above; pockets unknown to the store are drawn empty."""
        section = self._drawers.get(drawer)
        if section is None:
            return None
        rows = self._db().execute(_POCKETS.format(where="AND p.drawer = ?"), (drawer,)).fetchall()
        known = {p.pocket: p for p in map(self._pocket, rows)}
        if section.kind == "return_bin":
            known = {}
        pockets = [
            known.get(i)
            or PocketOut(
                drawer=drawer,
                pocket=i,
                item_code=None,
                item_name=None,
                strength="",
                quantity=None,
                par=0,
                max=0,
                below_par=False,
            )
            for i in range(section.pockets)
        ]
        return DrawerLayout(drawer=drawer, pockets=pockets)

    def recent_items(self, user_id: str, hours: float = 24.0) -> list[ItemOut]:
        """Items this user took in the last hours first (what a waste or a return is usually
        about), then every other stocked item."""
        since = iso(self._clock.now() - dt.timedelta(hours=hours))
        recent = (
            self._db()
            .execute(
                "SELECT i.code, i.name, i.strength, i.form, i.controlled FROM items i "
                "WHERE i.code IN (SELECT item_code FROM ledger WHERE kind = 'dispense' "
                "AND actor = ? AND at >= ? AND item_code IS NOT NULL) ORDER BY i.name",
                (user_id, since),
            )
            .fetchall()
        )
        stocked = (
            self._db()
            .execute(
                "SELECT DISTINCT i.code, i.name, i.strength, i.form, i.controlled FROM items i "
                "JOIN pockets p ON p.item_code = i.code ORDER BY i.name"
            )
            .fetchall()
        )
        seen: set[str] = set()
        items = []
        for r in [*recent, *stocked]:
            if str(r[0]) in seen:
                continue
            seen.add(str(r[0]))
            items.append(ItemOut(item_code=str(r[0]), name=str(r[1]), strength=str(r[2]),
                                 form=str(r[3]), controlled=bool(r[4])))  # fmt: skip
        return items

    def witnesses(self, actor: str) -> list[tuple[str, str]]:
        """Who may witness for this actor: active nurses and pharmacists other than the actor."""
        rows = (
            self._db()
            .execute(
                "SELECT id, name, roles FROM users WHERE active = 1 AND id != ? ORDER BY name",
                (actor,),
            )
            .fetchall()
        )
        allowed = {"nurse", "pharmacist"}
        return [
            (str(r[0]), str(r[1]))
            for r in rows
            if allowed & {part.strip() for part in str(r[2]).split(",")}
        ]

    def order_names(self, patient_id: str, order_id: str) -> tuple[str, str]:
        """The patient's name and the ordered item's name (the ids when unknown)."""
        db = self._db()
        patient = db.execute("SELECT name FROM patients WHERE id = ?", (patient_id,)).fetchone()
        item = db.execute(
            "SELECT i.name FROM orders o JOIN items i ON i.code = o.item_code WHERE o.id = ?",
            (order_id,),
        ).fetchone()
        return (str(patient[0]) if patient else patient_id, str(item[0]) if item else order_id)

    def item_name(self, code: str) -> str:
        """An item's name (the code itself when unknown)."""
        row = self._db().execute("SELECT name FROM items WHERE code = ?", (code,)).fetchone()
        return str(row[0]) if row else code

    def user_name(self, user_id: str) -> str:
        """A user's display name (the id itself when unknown)."""
        row = self._db().execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone()
        return str(row[0]) if row else user_id
