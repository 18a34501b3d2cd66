"""Benchmark: every auditor report over a 1,000,000-event history, against a bare SQL pass.

`python bench/reports.py [--events N]` generates the history once (bench/gen_history.py, cached
under /tmp/cabinet-bench), then times each report over the whole history on a read-only
connection, as JSON and as HTML, and a bare `GROUP BY` over the whole ledger as the baseline.
The `ledger` report over the whole history re-hashes every event from the genesis (`cabinet
ledger verify`'s check, shared between the available cores). Target: each report ≤ 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit
from bench.gen_history import ensure
from cabinet.reports import REPORTS, Params, render
from cabinet.store import open_read_only
from cabinet.store.chain_workers import available_cores

TARGET_S = 2.0
# Also shown: the ledger report over an audit period, which re-hashes only the chain from the
# signed checkpoint before the period through the period's last event.
LEDGER_PERIOD_DAYS = 30


def best_of(action: Callable[[], object], repeat: int) -> float:
    """The best wall time of `repeat` runs, in seconds (the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def cpu_of(action: Callable[[], object]) -> float:
    """The CPU time of one run, worker processes included: its cost whatever the machine's load."""
    before = os.times()
    action()
    after = os.times()
    return sum(after[i] - before[i] for i in range(4))


def main() -> int:
    """Time every report and print the one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    path = ensure(args.events)
    generated_s = time.perf_counter() - started
    conn = open_read_only(path)
    try:
        events = int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])
        last = dt.datetime.fromisoformat(
            conn.execute("SELECT at FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()[0]
        )
        everything = Params(now=last)
        recent = Params(now=last, date_from=last.date() - dt.timedelta(days=LEDGER_PERIOD_DAYS))
        baseline_s = best_of(
            lambda: conn.execute(
                "SELECT kind, actor, item_code, COUNT(*), SUM(quantity) FROM ledger"
                " GROUP BY kind, actor, item_code"
            ).fetchall(),
            args.repeat,
        )
        seconds: dict[str, float] = {}
        for name in REPORTS:
            for fmt in ("json", "html"):
                seconds[f"{name}_{fmt}_s"] = round(
                    best_of(lambda n=name, f=fmt: render(n, conn, everything, f), args.repeat), 3
                )
        cpu = {name: cpu_of(lambda n=name: render(n, conn, everything, "json")) for name in REPORTS}
        ledger_period_s = best_of(lambda: render("ledger", conn, recent, "json"), args.repeat)
    finally:
        conn.close()
    worst = max(seconds.values())
    emit(
        {
            "bench": "reports",
            "events": events,
            "history_ready_s": round(generated_s, 1),
            "baseline_group_by_s": round(baseline_s, 3),
            **seconds,
            "worst_report_s": worst,
            "worst_vs_baseline": round(worst / baseline_s, 1) if baseline_s else None,
            "worst_report_cpu_s": round(max(cpu.values()), 3),
            "controlled_cpu_s": round(cpu["controlled"], 3),
            "ledger_cpu_s": round(cpu["ledger"], 3),
            f"ledger_last_{LEDGER_PERIOD_DAYS}_days_s": round(ledger_period_s, 3),
            "cores": available_cores(),
            "target": f"each report <= {TARGET_S} s over {events} events, the whole history "
            "(ledger: full chain from the genesis)",
            "met": worst <= TARGET_S,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
