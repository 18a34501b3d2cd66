"""A process that performs random stock movements until killed (crash consistency test).

Run as `python -m tests.foundation.crash_worker STATE_DIR SEED TOTAL`: it opens the signed
store as the daemon does, prints `ready`, then performs random movements until the ledger
holds TOTAL movements, printing the count after each commit so that the test can aim its
SIGKILL at a chosen point.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from cabinet.clock import SystemClock
from cabinet.errors import MovementRefused
from cabinet.store import Movement, MovementKind, NewEvent, Store
from tests.foundation.helpers import open_store

KINDS = ("dispense", "restock", "return", "waste", "count_correction")


def random_movement(rng: random.Random) -> Movement:
    """One plausible movement on drawer 0 (pockets 0-2) or the return bin."""
    kind = rng.choice(KINDS)
    pocket = rng.randrange(3)
    if kind == "dispense":
        return Movement(
            kind=MovementKind.DISPENSE,
            drawer=0,
            pocket=pocket,
            delta=-rng.randint(1, 3),
            actor="nurse-1",
            patient_id=f"IPP-{rng.randrange(5)}",
        )
    if kind == "restock":
        lot = f"L{rng.randrange(4)}"
        return Movement(
            kind=MovementKind.RESTOCK,
            drawer=0,
            pocket=pocket,
            delta=rng.randint(1, 10),
            actor="tech-1",
            lot=lot,
            expiry=f"2027-0{1 + int(lot[1:])}-28",
        )
    if kind == "return":
        return Movement(
            kind=MovementKind.RETURN,
            drawer=6,
            pocket=0,
            delta=1,
            actor="nurse-2",
            item_code="3400892088310",
        )
    if kind == "waste":
        return Movement(
            kind=MovementKind.WASTE,
            drawer=0,
            pocket=pocket,
            delta=-1,
            actor="nurse-1",
            witness="nurse-2",
        )
    return Movement(
        kind=MovementKind.COUNT_CORRECTION,
        drawer=0,
        pocket=pocket,
        delta=rng.choice((-1, 1)),
        actor="pharm-1",
    )


def movements_so_far(store: Store) -> int:
    """How many stock movements the ledger already holds."""
    row = store.conn.execute("SELECT count(*) FROM ledger WHERE drawer IS NOT NULL").fetchone()
    return int(row[0])


def main(state: Path, seed: int, total: int) -> int:
    """Move stock at random until the ledger holds `total` movements."""
    rng = random.Random(seed)
    store = open_store(state, SystemClock(), checkpoint_every=7)
    store.record(NewEvent(kind="start", payload={"seed": seed}))
    print("ready", flush=True)
    done = movements_so_far(store)
    while done < total:
        try:
            store.move(random_movement(rng))
            done += 1
            print(done, flush=True)
        except MovementRefused:
            continue
    store.checkpoint()
    store.close()
    print("finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
