"""The ledger report: what the period holds, and the chain and checkpoints verified over it."""

from __future__ import annotations

import sqlite3

from cabinet.reports.model import Cell, Chart, Params, Report, Series, Table, snapshot
from cabinet.store.chain_workers import available_cores
from cabinet.store.checkpoints import Checkpoint
from cabinet.store.verify import verify


def _start_checkpoint(conn: sqlite3.Connection, anchor: int | None) -> Checkpoint | None:
    """The last signed checkpoint before `anchor` (None: before the head): the walk's start."""
    row = conn.execute(
        "SELECT seq, hash, signature, at FROM checkpoints WHERE seq < ? ORDER BY seq DESC LIMIT 1",
        ((1 << 62) if anchor is None else anchor,),
    ).fetchone()
    if row is None:
        return None
    return Checkpoint(seq=int(row[0]), hash=str(row[1]), signature=str(row[2]), at=str(row[3]))


def _scope(conn: sqlite3.Connection, params: Params) -> tuple[Checkpoint | None, int | None]:
    """What the period needs verified: from the checkpoint before it through its last event.

    Why not the whole chain every time: each earlier event is covered by the signed checkpoint
    the walk starts from (its signature and the event it names are checked), and the period's
    own events are re-hashed one by one. A report over the whole history walks from the genesis.
    """
    low, high = params.bounds()
    start = None
    if low:
        # The first event on or after the period's first day, by the roll-ups and by the
        # ledger's own time index; the earlier of the two, so neither can narrow the check.
        firsts = [
            conn.execute(
                "SELECT min(min_seq) FROM ledger_rollup WHERE dim = 'kind' AND day >= ?", (low,)
            ).fetchone()[0],
            _one(conn, "SELECT seq FROM ledger WHERE at >= ? ORDER BY at LIMIT 1", low),
        ]
        known = [int(f) for f in firsts if f is not None]
        start = _start_checkpoint(conn, min(known) if known else None)
    stop = None
    if params.date_to is not None:
        lasts = [
            conn.execute(
                "SELECT max(max_seq) FROM ledger_rollup WHERE dim = 'kind' AND day < ?", (high,)
            ).fetchone()[0],
            _one(conn, "SELECT seq FROM ledger WHERE at < ? ORDER BY at DESC LIMIT 1", high),
        ]
        stop = max((int(v) for v in lasts if v is not None), default=0)
    return start, stop


def _one(conn: sqlite3.Connection, sql: str, value: str) -> object:
    """The first column of the first row, or None."""
    row = conn.execute(sql, (value,)).fetchone()
    return None if row is None else row[0]


def _scope_text(start: Checkpoint | None, stop: int | None, last_seq: int) -> str:
    """The verified part of the chain, in words, for the reader of the report."""
    origin = "the genesis" if start is None else f"signed checkpoint {start.seq}"
    end = f"sequence {last_seq}" if stop is not None else f"the head (sequence {last_seq})"
    return f"hash chain re-computed from {origin} through {end}; signed checkpoints in it checked"


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
        start, stop = _scope(conn, params)
        result = verify(conn, None, start=start, stop=stop, workers=available_cores())
    events = sum(int(r[1]) for r in by_kind)
    report = Report(name="ledger", title=f"Ledger, {params.period_text()}", params=params)
    report.summary = {
        "verify": result.line(),
        "ok": "yes" if result.ok else "no",
        "broken_at": result.seq,
        "reason": result.reason,
        "verified_from": (start.seq + 1) if start else 1,
        "verified_to": result.last_seq,
        "verified_scope": _scope_text(start, stop, result.last_seq),
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
