"""The controlled-drugs register: every entry and exit of each controlled item, in order."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from cabinet.reports import kinds
from cabinet.reports.model import Cell, Chart, Params, Report, Series, Table, snapshot
from cabinet.reports.register_sources import (
    access_path,
    controlled_items,
    discrepancy_facts,
    opening_stock,
    return_bins,
    validations,
)

REGISTER_COLUMNS = (
    "item",
    "seq",
    "at",
    "kind",
    "user",
    "witness",
    "patient",
    "order",
    "pocket",
    "lot",
    "entry",
    "exit",
    "wasted",
    "balance",
    "pocket_balance",
    "expected",
    "counted",
    "difference",
    "note",
)
_COL = {name: i for i, name in enumerate(REGISTER_COLUMNS)}
_COUNT_COLUMNS = (
    "item",
    "seq",
    "at",
    "kind",
    "user",
    "pocket",
    "expected",
    "counted",
    "difference",
)
_KINDS = (*kinds.MOVEMENT_KINDS, kinds.COUNT, kinds.DISCREPANCY, kinds.DISCREPANCY_RESOLVED)
_MAX_CHART_POINTS = 120


@dataclass
class _Register:
    """One item's register over the period, with the totals gathered on the way."""

    opening: int
    closing: int = 0
    entries: int = 0
    exits: int = 0
    lines: list[tuple[Cell, ...]] = field(default_factory=list)
    counts: list[tuple[Cell, ...]] = field(default_factory=list)


def _register_rows(
    conn: sqlite3.Connection,
    codes: list[str],
    low: str,
    high: str,
    bins: set[tuple[int, int]],
    path: str,
) -> dict[str, _Register]:
    """Each item's register lines with running balances, opening and closing balance, totals."""
    stock = {code: opening_stock(conn, code, low, bins) for code in codes}
    registers = {code: _Register(opening=sum(stock[code].values())) for code in codes}
    balances = {code: registers[code].opening for code in codes}
    # One pass for all the items, in sequence order. json_extract in SQL: the register of a
    # busy item has tens of thousands of lines.
    cursor = conn.execute(
        "SELECT item_code, seq, at, kind, actor, witness, patient_id, order_id, drawer, pocket,"
        " lot, quantity, json_extract(payload, '$.balance'), json_extract(payload, '$.expected'),"
        " json_extract(payload, '$.counted'), json_extract(payload, '$.blind_count'),"
        " json_extract(payload, '$.wasted'), CASE WHEN kind = ? THEN payload END"
        f" FROM ledger {path} WHERE item_code IN ({', '.join('?' * len(codes))})"
        " AND at >= ? AND at < ?"
        f" AND kind IN ({', '.join('?' * len(_KINDS))}) ORDER BY seq",
        (kinds.DISCREPANCY, *codes, low, high, *_KINDS),
    )
    movements = frozenset(kinds.MOVEMENT_KINDS)
    names: dict[tuple[int, int] | None, str] = {None: ""}
    discrepancy, count = kinds.DISCREPANCY, kinds.COUNT
    for row in cursor:
        (
            code,
            seq,
            at,
            kind,
            actor,
            witness,
            patient,
            order,
            drawer,
            pocket,
            lot,
            qty,
            after,
            expected,
            counted,
            blind,
            wasted,
            facts,
        ) = row
        pockets, register, balance = stock[code], registers[code], balances[code]
        place = (drawer, pocket) if pocket is not None and drawer is not None else None
        where = names.get(place)
        if where is None:
            where = names[place] = f"{drawer}.{pocket}"
        note = ""
        if kind == discrepancy:
            expected, counted, note = discrepancy_facts(facts, code)
        elif kind == count and expected is None:
            expected = after  # a matching count records the stock it confirmed as its balance
        elif kind in movements and place is not None:
            before = pockets.get(place, 0)
            if blind is not None:
                expected, counted = before, blind  # the blind count before the take
            now = before + qty
            if after is not None and place not in bins:
                # The store wrote the pocket's balance with the event: a jump means a gap.
                if after != now:
                    note = f"pocket balance jumps from {before} to {after} for {qty:+d}"
                now = int(after)
            pockets[place] = now
            balance += now - before
            balances[code] = balance
            if qty > 0:
                register.entries += qty
            else:
                register.exits -= qty
        diff = None
        if counted is not None and expected is not None:
            diff = counted - expected
        line = (
            code,
            seq,
            at,
            kind,
            actor,
            witness,
            patient,
            order,
            where,
            lot,
            qty if qty > 0 else None,
            -qty if qty < 0 else None,
            wasted,
            balance,
            pockets.get(place) if place is not None else None,
            expected,
            counted,
            diff,
            note,
        )
        register.lines.append(line)
        # Every count and discrepancy, and the blind counts that disagreed with the record.
        if kind in (count, discrepancy) or diff:
            register.counts.append((code, seq, at, kind, actor, where, expected, counted, diff))
    for code in codes:
        registers[code].closing = balances[code]
    return registers


def _chart_points(lines: list[tuple[Cell, ...]]) -> list[tuple[str, float]]:
    """The running balance, thinned to a readable number of points."""
    step = max(1.0, len(lines) / _MAX_CHART_POINTS)
    picked = sorted({min(len(lines) - 1, int(i * step)) for i in range(_MAX_CHART_POINTS)})
    if lines and picked[-1] != len(lines) - 1:
        picked.append(len(lines) - 1)
    at, balance = _COL["at"], _COL["balance"]
    # The full timestamp: two lines in the same minute stay two points.
    return [(str(lines[i][at]), float(lines[i][balance] or 0)) for i in picked if lines]


def build_controlled(conn: sqlite3.Connection, params: Params) -> Report:
    """The register of every controlled item (or one) over the period, with counts."""
    low, high = params.bounds()
    with snapshot(conn):
        items = controlled_items(conn, params.item)
        validated = validations(conn)
        bins = return_bins(conn)
        path = access_path(params, len(items))
        registers = _register_rows(conn, [code for code, _ in items], low, high, bins, path)
        stock = dict(
            conn.execute(
                "SELECT item_code, SUM(quantity) FROM pockets WHERE item_code IS NOT NULL"
                " GROUP BY item_code"
            ).fetchall()
        )
    register: list[tuple[Cell, ...]] = []
    summary_rows: list[tuple[Cell, ...]] = []
    count_rows: list[tuple[Cell, ...]] = []
    report = Report(
        name="controlled", title=f"Controlled-drugs register, {params.period_text()}", params=params
    )
    for code, name in items:
        item = registers[code]
        lines = item.lines
        register.extend(lines)
        count_rows.extend(item.counts)
        summary_rows.append(
            (
                code,
                name,
                item.opening,
                item.entries,
                item.exits,
                item.closing,
                int(stock.get(code) or 0),
                len(item.counts),
                sum(abs(int(line[-1] or 0)) for line in item.counts),
                validated.get(code, ""),
            )
        )
        if lines:
            report.charts.append(
                Chart(
                    title=f"Running balance of {name} ({code})",
                    kind="line",
                    y_label="units",
                    series=[Series(label=code, points=_chart_points(lines))],
                )
            )
    report.summary = {
        "items": len(summary_rows),
        "lines": len(register),
        "entries": sum(int(r[3] or 0) for r in summary_rows),
        "exits": sum(int(r[4] or 0) for r in summary_rows),
        "count_differences": sum(int(r[8] or 0) for r in summary_rows),
    }
    report.tables = [
        Table(
            name="items",
            title="Balances per controlled item",
            columns=(
                "item",
                "name",
                "opening",
                "entries",
                "exits",
                "closing",
                "in_pockets_now",
                "counts",
                "count_differences",
                "validated_through",
            ),
            rows=summary_rows,
        ),
        Table(name="register", title="Register", columns=REGISTER_COLUMNS, rows=register),
        Table(
            name="counts",
            title="Counts and their differences",
            columns=_COUNT_COLUMNS,
            rows=count_rows,
        ),
    ]
    report.notes.append(
        "balance: the item's stock in the whole cabinet (every pocket and the return bin) after "
        "the line; pocket_balance: the item's stock in the line's pocket (in the return bin, "
        "the item's share of it)."
    )
    return report
