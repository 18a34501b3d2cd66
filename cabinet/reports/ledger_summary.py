"""The ledger report: what the period holds, and the chain and checkpoints verified over it."""

from __future__ import annotations

import sqlite3

from cabinet.reports.model import Cell, Chart, Params, Report, Series, Table, snapshot
from cabinet.store import checkpoints
from cabinet.store.checkpoints import Checkpoint
from cabinet.store.verify import verify


def _start_checkpoint(conn: sqlite3.Connection, first_seq: int | None) -> Checkpoint | None:
    """The last signed checkpoint before the period: the chain is walked from there."""
    if first_seq is None:
        return None
    before = [cp for cp in checkpoints.all_checkpoints(conn) if cp.seq < first_seq]
    return before[-1] if before else None


def build_ledger(conn: sqlite3.Connection, params: Params) -> Report:
    """Events of the period by kind, and `cabinet ledger verify` from the period on."""
    low, high = params.bounds()
    with snapshot(conn):
        # From the daily roll-ups (migration 0002): a period counts in whole days.
        by_kind = conn.execute(
            "SELECT kind, SUM(events), SUM(abs_units), MIN(min_seq), MAX(max_seq)"
            " FROM ledger_rollup WHERE dim = 'kind' AND day >= ? AND day < ?"
            " GROUP BY kind ORDER BY kind",
            (low, high),
        ).fetchall()
        per_day = conn.execute(
            "SELECT day, SUM(events) FROM ledger_rollup WHERE dim = 'kind' AND day >= ?"
            " AND day < ? GROUP BY day ORDER BY day",
            (low, high),
        ).fetchall()
        signed = conn.execute(
            "SELECT seq, at, hash FROM checkpoints WHERE at >= ? AND at < ? ORDER BY seq",
            (low, high),
        ).fetchall()
        pending = int(
            conn.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]
        )
        first_seq = min((int(r[3]) for r in by_kind), default=None)
        start = _start_checkpoint(conn, first_seq) if low else None
        result = verify(conn, None, start=start)
    events = sum(int(r[1]) for r in by_kind)
    report = Report(name="ledger", title=f"Ledger, {params.period_text()}", params=params)
    report.summary = {
        "verify": result.line(),
        "ok": "yes" if result.ok else "no",
        "broken_at": result.seq,
        "reason": result.reason,
        "verified_from": (start.seq + 1) if start else 1,
        "verified_to": result.last_seq,
        "events_in_period": events,
        "first_seq": first_seq,
        "last_seq": max((int(r[4]) for r in by_kind), default=None),
        "checkpoints_in_period": len(signed),
        "outbox_pending": pending,
    }
    rows: list[tuple[Cell, ...]] = [
        (str(k), int(n), int(u or 0), int(a), int(b)) for k, n, u, a, b in by_kind
    ]
    report.tables = [
        Table(
            name="by_kind",
            title="Events by kind",
            columns=("kind", "events", "units", "first_seq", "last_seq"),
            rows=rows,
        ),
        Table(
            name="checkpoints",
            title="Signed checkpoints in the period",
            columns=("seq", "at", "hash"),
            rows=[(int(s), str(a), str(h)) for s, a, h in signed],
        ),
    ]
    if per_day:
        report.charts.append(
            Chart(
                title="Ledger events per day",
                kind="bar",
                y_label="events",
                series=[Series(label="events", points=[(str(d), float(n)) for d, n in per_day])],
            )
        )
    return report
