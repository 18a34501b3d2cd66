"""The controlled-drugs register: every entry and exit of each controlled item, in order."""

from __future__ import annotations

import sqlite3

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


def _register_rows(
    conn: sqlite3.Connection,
    codes: list[str],
    low: str,
    high: str,
    bins: set[tuple[int, int]],
    path: str,
) -> dict[str, tuple[list[tuple[Cell, ...]], int, int]]:
    """Each item's register lines with running balances, and its opening and closing balance."""
    stock = {code: opening_stock(conn, code, low, bins) for code in codes}
    opening = {code: sum(stock[code].values()) for code in codes}
    balances = dict(opening)
    per_item: dict[str, list[tuple[Cell, ...]]] = {code: [] for code in codes}
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
        pockets, lines, balance = stock[code], per_item[code], balances[code]
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
        diff = None
        if counted is not None and expected is not None:
            diff = counted - expected
        lines.append(
            (
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
        )
    return {code: (per_item[code], opening[code], balances[code]) for code in codes}


def _chart_points(lines: list[tuple[Cell, ...]]) -> list[tuple[str, float]]:
    """The running balance, thinned to a readable number of points."""
    # The full timestamp: two lines in the same minute stay two points.
    points = [(str(line[_COL["at"]]), float(line[_COL["balance"]] or 0)) for line in lines]
    if len(points) <= _MAX_CHART_POINTS:
        return points
    step = len(points) / _MAX_CHART_POINTS
    return [points[int(i * step)] for i in range(_MAX_CHART_POINTS)] + [points[-1]]


def build_controlled(conn: sqlite3.Connection, params: Params) -> Report:
    """The register of every controlled item (or one) over the period, with counts."""
    low, high = params.bounds()
    with snapshot(conn):
        items = controlled_items(conn, params.item)
        validated = validations(conn)
        bins = return_bins(conn)
        path = access_path(params, len(items))
        registers = _register_rows(conn, [code for code, _ in items], low, high, bins, path)
        per_item = [(code, name, *registers[code]) for code, name in items]
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
    for code, name, lines, opening, closing in per_item:
        register.extend(lines)
        entries = sum(int(line[_COL["entry"]] or 0) for line in lines)
        exits = sum(int(line[_COL["exit"]] or 0) for line in lines)
        # Every count and discrepancy, and the blind counts that disagreed with the record.
        counts = [
            line
            for line in lines
            if line[_COL["kind"]] in (kinds.COUNT, kinds.DISCREPANCY)
            or line[_COL["difference"]] not in (None, 0)
        ]
        count_rows.extend(tuple(line[_COL[c]] for c in _COUNT_COLUMNS) for line in counts)
        summary_rows.append(
            (
                code,
                name,
                opening,
                entries,
                exits,
                closing,
                int(stock.get(code) or 0),
                len(counts),
                sum(abs(int(line[_COL["difference"]] or 0)) for line in counts),
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
