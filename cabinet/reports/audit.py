"""Discrepancy and override reports: what went missing, who overrode what, and the rate."""

from __future__ import annotations

import sqlite3
from collections import Counter

from cabinet.reports import kinds
from cabinet.reports.model import Cell, Chart, Params, Report, Series, Table, snapshot


def _grouped(name: str, title: str, key: str, counts: dict[str, Counter[str]]) -> Table:
    """A small table of open/resolved counts per key."""
    rows: list[tuple[Cell, ...]] = [
        (k, c["open"], c["resolved"], c["open"] + c["resolved"]) for k, c in sorted(counts.items())
    ]
    return Table(name=name, title=title, columns=(key, "open", "resolved", "total"), rows=rows)


def build_discrepancies(conn: sqlite3.Connection, params: Params) -> Report:
    """Discrepancies opened in the period, and every one still open, by pocket, item and user."""
    low, high = params.bounds()
    with snapshot(conn):
        rows = conn.execute(
            "SELECT d.id, d.opened_at, d.drawer, d.pocket, d.item_code, COALESCE(i.name, ''),"
            " d.opened_by, d.cause, d.expected, d.counted, d.status, d.reason, d.resolved_by,"
            " d.witness, d.resolved_at FROM discrepancies d"
            " LEFT JOIN items i ON i.code = d.item_code"
            " WHERE (d.opened_at >= ? AND d.opened_at < ?) OR d.status = 'open'"
            " ORDER BY d.opened_at, d.id",
            (low, high),
        ).fetchall()
    table_rows: list[tuple[Cell, ...]] = []
    by_pocket: dict[str, Counter[str]] = {}
    by_item: dict[str, Counter[str]] = {}
    by_user: dict[str, Counter[str]] = {}
    reasons: Counter[str] = Counter()
    for r in rows:
        (ident, opened, drawer, pocket, code, name, by, cause, expected, counted, status) = r[:11]
        reason, resolver, witness, resolved_at = r[11:]
        place = f"{drawer}.{pocket}"
        table_rows.append(
            (
                ident,
                opened,
                place,
                code,
                name,
                by,
                cause,
                expected,
                counted,
                counted - expected,
                status,
                reason,
                resolver,
                witness,
                resolved_at,
            )
        )
        by_pocket.setdefault(place, Counter())[status] += 1
        by_item.setdefault(code or "", Counter())[status] += 1
        by_user.setdefault(by or "", Counter())[status] += 1
        if status == "resolved":
            reasons[reason or ""] += 1
    report = Report(
        name="discrepancies", title=f"Discrepancies, {params.period_text()}", params=params
    )
    open_count = sum(1 for r in table_rows if r[10] == "open")
    report.summary = {
        "open": open_count,
        "resolved": len(table_rows) - open_count,
        "units_missing": -sum(int(r[9] or 0) for r in table_rows if int(r[9] or 0) < 0),
        "units_extra": sum(int(r[9] or 0) for r in table_rows if int(r[9] or 0) > 0),
    }
    report.tables = [
        Table(
            name="discrepancies",
            title="Discrepancies",
            columns=(
                "id",
                "opened_at",
                "pocket",
                "item",
                "name",
                "opened_by",
                "cause",
                "expected",
                "counted",
                "difference",
                "status",
                "reason",
                "resolved_by",
                "witness",
                "resolved_at",
            ),
            rows=table_rows,
        ),
        _grouped("by_pocket", "By pocket", "pocket", by_pocket),
        _grouped("by_item", "By item", "item", by_item),
        _grouped("by_user", "By user who opened them", "user", by_user),
        Table(
            name="reasons",
            title="Resolution reasons",
            columns=("reason", "count"),
            rows=[(k, v) for k, v in sorted(reasons.items())],
        ),
    ]
    return report


def build_overrides(conn: sqlite3.Connection, params: Params) -> Report:
    """Overrides by unit, item, user and reason; those awaiting review or an order; the rate."""
    low, high = params.bounds()
    with snapshot(conn):
        overrides = conn.execute(
            "SELECT seq, at, actor, patient_id, item_code, order_id, payload FROM ledger"
            f" INDEXED BY ledger_override_dispenses WHERE {kinds.OVERRIDE_TEST}"
            " AND at >= ? AND at < ? ORDER BY seq",
            (low, high),
        ).fetchall()
        follow_ups = conn.execute(
            "SELECT kind, actor, order_id, payload FROM ledger WHERE kind IN (?, ?) AND at >= ?",
            (kinds.OVERRIDE_LINKED, kinds.OVERRIDE_REVIEWED, low),
        ).fetchall()
        # Dispenses against an order, not made under an override: the rate's other half.
        with_order = int(
            conn.execute(
                "SELECT COALESCE(SUM(events), 0) FROM ledger_rollup"
                " WHERE dim = 'order' AND kind = ? AND day >= ? AND day < ?",
                (kinds.DISPENSE, low, high),
            ).fetchone()[0]
        )
    order_dispenses = with_order - sum(1 for row in overrides if row[5] is not None)
    linked: dict[int, str] = {}
    reviewed: dict[int, str] = {}
    for kind, actor, order_id, payload_text in follow_ups:
        target = kinds.payload_of(payload_text).get(kinds.OVERRIDE_SEQ)
        if not isinstance(target, int):
            continue
        if kind == kinds.OVERRIDE_LINKED:
            linked[target] = order_id or ""
        else:
            reviewed[target] = actor or ""
    rows: list[tuple[Cell, ...]] = []
    for seq, at, actor, patient, item, order, payload_text in overrides:
        payload = kinds.payload_of(payload_text)
        unit = str(payload.get(kinds.UNIT) or params.unit)
        rows.append(
            (
                seq,
                at,
                unit,
                item,
                actor,
                patient,
                str(payload.get(kinds.REASON) or ""),
                str(payload.get(kinds.PRESCRIBER) or ""),
                linked.get(seq, order or ""),
                reviewed.get(seq, ""),
            )
        )
    total = len(rows)
    rate = total / (total + order_dispenses) if total + order_dispenses else 0.0
    report = Report(name="overrides", title=f"Overrides, {params.period_text()}", params=params)
    awaiting_review = [r for r in rows if not r[9]]
    awaiting_order = [r for r in rows if not r[8]]
    report.summary = {
        "overrides": total,
        "order_dispenses": order_dispenses,
        "override_rate": round(rate, 4),
        "awaiting_review": len(awaiting_review),
        "awaiting_order": len(awaiting_order),
    }
    columns = (
        "seq",
        "at",
        "unit",
        "item",
        "user",
        "patient",
        "reason",
        "prescriber",
        "order",
        "reviewed_by",
    )
    report.tables = [Table(name="overrides", title="Overrides", columns=columns, rows=rows)]
    for key, index in (("unit", 2), ("item", 3), ("user", 4), ("reason", 6)):
        counts = Counter(str(r[index] or "") for r in rows)
        report.tables.append(
            Table(
                name=f"by_{key}",
                title=f"By {key}",
                columns=(key, "overrides"),
                rows=[(k, v) for k, v in sorted(counts.items())],
            )
        )
    report.tables.append(
        Table(
            name="awaiting_review",
            title="Awaiting pharmacist review",
            columns=columns,
            rows=awaiting_review,
        )
    )
    report.tables.append(
        Table(
            name="awaiting_order", title="Awaiting an order", columns=columns, rows=awaiting_order
        )
    )
    reason_counts = report.table("by_reason").rows
    if reason_counts:
        report.charts.append(
            Chart(
                title="Overrides by reason",
                kind="bar",
                y_label="overrides",
                series=[
                    Series(
                        label="overrides",
                        points=[(str(k), float(v or 0)) for k, v in reason_counts],
                    )
                ],
            )
        )
    return report
