"""Stock and expiry reports: what each pocket holds, what to bring, and what runs out of date."""

from __future__ import annotations

import datetime as dt
import sqlite3

from cabinet.reports.model import (
    Cell,
    Chart,
    Params,
    Report,
    ReportError,
    Series,
    Table,
    snapshot,
)


def refill_quantity(quantity: int, par: int, maximum: int) -> int:
    """Units to bring to a pocket: up to its max once it is below par, else nothing."""
    if quantity >= par:
        return 0
    # A pocket whose max was never set is filled back to par.
    return max(maximum, par) - quantity


def build_stock(conn: sqlite3.Connection, params: Params) -> Report:
    """Per pocket: item, quantity, lots with expiry, par and max; and the refill list."""
    with snapshot(conn):
        pockets = conn.execute(
            "SELECT p.drawer, p.pocket, p.item_code, COALESCE(i.name, ''), p.quantity, p.par,"
            " p.max, p.return_bin, COALESCE(i.controlled, 0) FROM pockets p"
            " LEFT JOIN items i ON i.code = p.item_code ORDER BY p.drawer, p.pocket"
        ).fetchall()
        lots = conn.execute(
            "SELECT drawer, pocket, lot, expiry, quantity FROM lots WHERE quantity > 0"
            " ORDER BY drawer, pocket, expiry, lot"
        ).fetchall()
    lots_by_pocket: dict[tuple[int, int], list[tuple[str, str, int]]] = {}
    for drawer, pocket, lot, expiry, qty in lots:
        lots_by_pocket.setdefault((drawer, pocket), []).append((lot, expiry, qty))
    pocket_rows: list[tuple[Cell, ...]] = []
    refill_rows: list[tuple[Cell, ...]] = []
    lot_rows: list[tuple[Cell, ...]] = []
    for drawer, pocket, code, name, qty, par, maximum, return_bin, controlled in pockets:
        held = lots_by_pocket.get((drawer, pocket), [])
        lots_text = "; ".join(f"{lot} exp {expiry} x{n}" for lot, expiry, n in held)
        untracked = qty - sum(n for _, _, n in held)
        if untracked > 0 and held:
            lots_text += f"; unknown lot x{untracked}"
        to_bring = 0 if return_bin or code is None else refill_quantity(qty, par, maximum)
        place = f"{drawer}.{pocket}"
        pocket_rows.append(
            (place, code, name, qty, par, maximum, lots_text, to_bring, "yes" if controlled else "")
        )
        if to_bring:
            refill_rows.append((place, code, name, qty, par, maximum, to_bring))
        lot_rows.extend((place, code, lot, expiry, n) for lot, expiry, n in held)
    report = Report(name="stock", title="Stock by pocket", params=params)
    report.summary = {
        "pockets": len(pocket_rows),
        "units_in_stock": sum(int(r[3] or 0) for r in pocket_rows),
        "pockets_below_par": len(refill_rows),
        "units_to_bring": sum(int(r[6] or 0) for r in refill_rows),
    }
    report.tables = [
        Table(
            name="pockets",
            title="Pockets",
            columns=(
                "pocket",
                "item",
                "name",
                "quantity",
                "par",
                "max",
                "lots",
                "refill",
                "controlled",
            ),
            rows=pocket_rows,
        ),
        Table(
            name="refill",
            title="Refill list (below par, quantity to bring up to max)",
            columns=("pocket", "item", "name", "quantity", "par", "max", "to_bring"),
            rows=refill_rows,
        ),
        Table(
            name="lots",
            title="Lots in pockets",
            columns=("pocket", "item", "lot", "expiry", "quantity"),
            rows=lot_rows,
        ),
    ]
    if refill_rows:
        report.charts.append(
            Chart(
                title="Pockets below par: quantity held and par",
                kind="bar",
                y_label="units",
                series=[
                    Series(
                        label="held", points=[(str(r[0]), float(r[3] or 0)) for r in refill_rows]
                    ),
                    Series(
                        label="par", points=[(str(r[0]), float(r[4] or 0)) for r in refill_rows]
                    ),
                ],
            )
        )
    return report


def build_expiry(conn: sqlite3.Connection, params: Params) -> Report:
    """Lots expiring within `days` and expired lots still in a pocket, as of `now`."""
    if params.days < 0:
        raise ReportError(f"--days {params.days}: the horizon cannot be negative")
    today = params.now.date()
    horizon = today + dt.timedelta(days=params.days)
    with snapshot(conn):
        rows = conn.execute(
            "SELECT l.drawer, l.pocket, p.item_code, COALESCE(i.name, ''), l.lot, l.expiry,"
            " l.quantity FROM lots l JOIN pockets p USING (drawer, pocket)"
            " LEFT JOIN items i ON i.code = p.item_code"
            " WHERE l.quantity > 0 AND l.expiry <= ? ORDER BY l.expiry, l.drawer, l.pocket",
            (horizon.isoformat(),),
        ).fetchall()
    expired: list[tuple[Cell, ...]] = []
    expiring: list[tuple[Cell, ...]] = []
    for drawer, pocket, code, name, lot, expiry, qty in rows:
        # The expiry date is the last day of use: a lot is expired from the day after.
        left = (dt.date.fromisoformat(expiry[:10]) - today).days
        row: tuple[Cell, ...] = (f"{drawer}.{pocket}", code, name, lot, expiry, qty, left)
        (expired if left < 0 else expiring).append(row)
    report = Report(
        name="expiry",
        title=f"Expiry as of {today.isoformat()} (horizon {params.days} days)",
        params=params,
    )
    report.summary = {
        "as_of": today.isoformat(),
        "horizon_days": params.days,
        "lots_expiring": len(expiring),
        "units_expiring": sum(int(r[5] or 0) for r in expiring),
        "lots_expired_in_pocket": len(expired),
        "units_expired_in_pocket": sum(int(r[5] or 0) for r in expired),
    }
    columns = ("pocket", "item", "name", "lot", "expiry", "quantity", "days_left")
    report.tables = [
        Table(
            name="expired", title="Expired lots still in a pocket", columns=columns, rows=expired
        ),
        Table(
            name="expiring",
            title=f"Lots expiring within {params.days} days",
            columns=columns,
            rows=expiring,
        ),
    ]
    return report
