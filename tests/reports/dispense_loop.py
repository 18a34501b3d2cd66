"""A nurse's dispense loop in its own process, timing every commit (for the live report test).

Run as `python -m tests.reports.dispense_loop DB STOPFILE`: prints `ready`, dispenses and
restocks until STOPFILE exists, then prints one JSON list of [start, seconds] per commit.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cabinet.clock import SystemClock
from cabinet.store import Movement, MovementKind, Store

LIMIT_S = 60.0  # never outlive a test that forgot to stop us


def run(db: Path, stop: Path) -> list[tuple[float, float]]:
    """Dispense one unit at a time from pocket 0.0, restocking when empty; each commit timed."""
    store = Store(db, SystemClock())
    timings: list[tuple[float, float]] = []
    try:
        drawer, pocket = store.conn.execute(
            "SELECT drawer, pocket FROM pockets WHERE return_bin = 0 ORDER BY drawer, pocket"
        ).fetchone()
        print("ready", flush=True)
        began = time.monotonic()
        while not stop.exists() and time.monotonic() - began < LIMIT_S:
            held = store.conn.execute(
                "SELECT quantity FROM pockets WHERE drawer = ? AND pocket = ?", (drawer, pocket)
            ).fetchone()[0]
            if held > 0:
                movement = Movement(
                    kind=MovementKind.DISPENSE,
                    drawer=drawer,
                    pocket=pocket,
                    delta=-1,
                    actor="n01",
                    patient_id="P00001",
                )
            else:
                movement = Movement(
                    kind=MovementKind.RESTOCK,
                    drawer=drawer,
                    pocket=pocket,
                    delta=40,
                    actor="t1",
                    lot="LIVE",
                    expiry="2030-01-01",
                )
            start = time.monotonic()
            store.move(movement)
            timings.append((start, time.monotonic() - start))
            time.sleep(0.002)  # a busy ward, not a tight loop: leave the CPU to the reports
    finally:
        store.close()
    return timings


if __name__ == "__main__":
    result = run(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps(result), flush=True)
