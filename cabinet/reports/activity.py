"""Activity over a period (dispenses by patient, user and item) and usage anomalies."""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
from collections import defaultdict

from cabinet.reports import kinds
from cabinet.reports.model import Cell, Chart, Params, Report, Series, Table, snapshot

# 0.6745 is the 75th percentile of the standard normal: it makes the MAD comparable to a
# standard deviation (Iglewicz and Hoaglin); 1.2533 = sqrt(pi/2) does the same for the mean
# absolute deviation, used when more than half the users have exactly the median.
_MAD_SCALE = 0.6745
_MEAN_AD_SCALE = 1.2533
_CHART_ITEMS = 6
_MAX_DAILY_POINTS = 120


def _by_week(per_day: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Daily units summed per week, each week named by its Monday."""
    weekly: dict[str, dict[str, float]] = defaultdict(dict)
    for item, days in per_day.items():
        for day, units in days.items():
            date = dt.date.fromisoformat(day)
            monday = (date - dt.timedelta(days=date.weekday())).isoformat()
            weekly[item][monday] = weekly[item].get(monday, 0.0) + units
    return weekly


def robust_z(values: list[float]) -> list[float]:
    """Modified z-score of each value against the median and MAD of all of them."""
    if not values:
        return []
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    if mad > 0:
        return [_MAD_SCALE * (v - median) / mad for v in values]
    mean_ad = statistics.fmean(abs(v - median) for v in values)
    if mean_ad > 0:
        return [(v - median) / (_MEAN_AD_SCALE * mean_ad) for v in values]
    return [0.0 for _ in values]


def build_activity(conn: sqlite3.Connection, params: Params) -> Report:
    """Dispenses in the period, counted and summed by patient, by user and by item."""
    low, high = params.bounds()
    with snapshot(conn):
        # The daily roll-ups (migration 0002) hold these sums; days are what periods count in.
        totals = conn.execute(
            "SELECT dim, key, SUM(events), -SUM(units) FROM ledger_rollup"
            " WHERE dim IN ('actor', 'patient', 'item') AND kind = ? AND day >= ? AND day < ?"
            " GROUP BY dim, key",
            (kinds.DISPENSE, low, high),
        ).fetchall()
        daily = conn.execute(
            "SELECT key, day, -units FROM ledger_rollup"
            " WHERE dim = 'item' AND kind = ? AND day >= ? AND day < ?",
            (kinds.DISPENSE, low, high),
        ).fetchall()
        names = dict(conn.execute("SELECT code, name FROM items").fetchall())
    by: dict[str, dict[str, list[int]]] = {"patient": {}, "user": {}, "item": {}}
    dims = {"actor": "user", "patient": "patient", "item": "item"}
    for dim, key, count, units in totals:
        by[dims[dim]][str(key)] = [int(count), int(units)]
    per_day: dict[str, dict[str, float]] = defaultdict(dict)
    for item, day, units in daily:
        per_day[str(item)][str(day)] = float(units)
    report = Report(name="activity", title=f"Activity, {params.period_text()}", params=params)
    report.summary = {
        "dispenses": sum(v[0] for v in by["item"].values()),
        "units": sum(v[1] for v in by["item"].values()),
        "patients": len(by["patient"]),
        "users": len(by["user"]),
        "items": len(by["item"]),
    }
    for key in ("patient", "user", "item"):
        table_rows: list[tuple[Cell, ...]] = []
        for value, (count, units) in sorted(by[key].items(), key=lambda kv: (-kv[1][1], kv[0])):
            if key == "item":
                table_rows.append((value, str(names.get(value, "")), count, units))
            else:
                table_rows.append((value, count, units))
        columns = (
            (key, "name", "dispenses", "units") if key == "item" else (key, "dispenses", "units")
        )
        report.tables.append(
            Table(name=f"by_{key}", title=f"Dispenses by {key}", columns=columns, rows=table_rows)
        )
    top = [str(r[0]) for r in report.table("by_item").rows[:_CHART_ITEMS]]
    days = sorted({day for item in top for day in per_day[item]})
    weekly = len(days) > _MAX_DAILY_POINTS
    if weekly:
        # A long period reads better by week (keyed by its Monday).
        per_day = _by_week(per_day)
        days = sorted({day for item in top for day in per_day[item]})
    if top and days:
        report.charts.append(
            Chart(
                title="Units dispensed, most used items",
                kind="line",
                y_label="units per week" if weekly else "units per day",
                series=[
                    Series(
                        label=f"{names.get(i, i)}",
                        points=[(d, per_day[i].get(d, 0.0)) for d in days],
                    )
                    for i in top
                ],
            )
        )
    return report


def build_anomalies(conn: sqlite3.Connection, params: Params) -> Report:
    """Users whose controlled withdrawals or wastes are far above their peers on the unit."""
    low, high = params.bounds()
    with snapshot(conn):
        # One cabinet serves one care unit: its users are each other's peers. The roll-up
        # leaves out the return bin: emptying it destroys what others brought back.
        rows = conn.execute(
            "SELECT key, kind, SUM(events), -SUM(units) FROM ledger_rollup"
            " WHERE dim = 'controlled_use' AND day >= ? AND day < ? GROUP BY key, kind",
            (low, high),
        ).fetchall()
    # unit -> user -> [withdrawal events, units withdrawn, waste events]
    users: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for actor, kind, count, units in rows:
        slot = users[params.unit].setdefault(str(actor), [0.0, 0.0, 0.0])
        if kind == kinds.DISPENSE:
            slot[0] += float(count)
            slot[1] += float(units or 0)
        else:
            slot[2] += float(count)
    table_rows: list[tuple[Cell, ...]] = []
    flagged: list[tuple[Cell, ...]] = []
    charts: list[Chart] = []
    for unit in sorted(users):
        names = sorted(users[unit])
        withdrawn = [users[unit][u][1] for u in names]
        wasted = [users[unit][u][2] for u in names]
        comparable = len(names) >= params.min_peers
        z_withdrawn = robust_z(withdrawn) if comparable else [0.0] * len(names)
        z_wasted = robust_z(wasted) if comparable else [0.0] * len(names)
        mid_withdrawn = statistics.median(withdrawn)
        mid_wasted = statistics.median(wasted)
        for i, user in enumerate(names):
            reasons = []
            # The floor keeps one extra event among quiet peers from reading as an anomaly.
            if (
                z_withdrawn[i] > params.threshold
                and withdrawn[i] - mid_withdrawn >= params.min_excess
            ):
                reasons.append("withdrawals")
            if z_wasted[i] > params.threshold and wasted[i] - mid_wasted >= params.min_excess:
                reasons.append("wastes")
            row: tuple[Cell, ...] = (
                unit,
                user,
                int(users[unit][user][0]),
                int(withdrawn[i]),
                round(z_withdrawn[i], 2),
                int(wasted[i]),
                round(z_wasted[i], 2),
                ", ".join(reasons),
            )
            table_rows.append(row)
            if reasons:
                flagged.append(row)
        charts.append(
            Chart(
                title=f"Controlled units withdrawn per user, {unit or 'this unit'} (line: median)",
                kind="bar",
                y_label="units",
                marker=mid_withdrawn,
                series=[Series(label="units", points=list(zip(names, withdrawn, strict=True)))],
            )
        )
    columns = (
        "unit",
        "user",
        "withdrawals",
        "units_withdrawn",
        "z_withdrawn",
        "wastes",
        "z_wastes",
        "flagged_for",
    )
    report = Report(
        name="anomalies", title=f"Usage anomalies, {params.period_text()}", params=params
    )
    report.summary = {
        "users": len(table_rows),
        "flagged": len(flagged),
        "threshold": params.threshold,
        "statistic": "robust z = 0.6745 (x - median) / MAD",
    }
    report.tables = [
        Table(name="flagged", title="Flagged users", columns=columns, rows=flagged),
        Table(name="users", title="Every user", columns=columns, rows=table_rows),
    ]
    report.charts = charts
    report.notes.append(
        "Each user's controlled-item units withdrawn and waste events over the period are "
        "compared with every user of the same care unit by a modified z-score: "
        "z = 0.6745 (x - median) / MAD, where MAD is the median absolute deviation "
        "(when the MAD is 0, (x - median) / (1.2533 mean absolute deviation)). A user is "
        f"flagged when z is above {params.threshold} and the user is at least "
        f"{params.min_excess:g} above the median; units with fewer than {params.min_peers} "
        "users are not compared."
    )
    return report
