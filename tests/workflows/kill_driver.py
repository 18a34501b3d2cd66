"""Runs a dispense and SIGKILLs itself at a named checkpoint; then restarts and reconciles.

    python -m tests.workflows.kill_driver STATE_DIR run       # env CABINET_KILL_AT=<point>
    python -m tests.workflows.kill_driver STATE_DIR restart   # prints one JSON line

The metal outlives the process: with CABINET_SIM_ENDPOINTS (the JSON endpoints of a running
`cabinet-sim hardware`) it is the simulator, reached through the real drivers; otherwise the
fake cabinet's drawers and pocket counts are saved to STATE_DIR/metal.json after every hand
movement, as real drawers keep what was taken.
Kill points are the engine's own checkpoints (after_release, after_open, after_close,
weights_read, before_commit, after_commit); "after_take" is after_open with the take done.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from cabinet.workflows.machines import Task
from sim.hardware.client import RunningSimulator
from tests.fakes.hardware import FakeCabinet
from tests.workflows.world import World

TASK_FILE = "task_id"


def attach() -> RunningSimulator | None:
    """The simulator named by the environment, if any (its process belongs to the test)."""
    text = os.environ.get("CABINET_SIM_ENDPOINTS")
    if not text:
        return None
    return RunningSimulator(None, json.loads(text))  # type: ignore[arg-type]


def save_metal(world: World) -> None:
    """Write the fake metal's state atomically (the simulator keeps its own)."""
    if not isinstance(world.metal, FakeCabinet):
        return
    state = {
        str(d): {"closed": drawer.closed, "counts": [p.count for p in drawer.pockets]}
        for d, drawer in world.metal.drawers.items()
    }
    path = world.root / "metal.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def load_metal(world: World) -> None:
    """Restore the metal as it was when the previous process died."""
    path = world.root / "metal.json"
    if not path.exists() or not isinstance(world.metal, FakeCabinet):
        return
    for d, state in json.loads(path.read_text()).items():
        drawer = world.metal.drawers[int(d)]
        drawer.closed = bool(state["closed"])
        for pocket, count in zip(drawer.pockets, state["counts"], strict=True):
            pocket.count = int(count)


def die() -> None:
    """Stop here as a power cut would: no cleanup, no flush beyond what is committed."""
    os.kill(os.getpid(), signal.SIGKILL)


async def run(root: Path, kill_at: str) -> None:
    """Dispense two paracetamol and die at the named point."""
    world = World(root, sim=attach())
    take_first = kill_at == "after_take"
    point = "after_open" if take_first else kill_at

    def hook(name: str, task: Task) -> None:
        """At the chosen point, finish the hand's move and die."""
        (root / TASK_FILE).write_text(task.id)
        if name != point:
            return
        if take_first:
            world.metal.take(0, 0, 2)
        save_metal(world)
        die()

    cab = await world.start()
    cab.checkpoints.append(hook)
    await world.sign_in("nurse1")
    await cab.select_patient("IPP001")
    await cab.start_dispense("O-PARA")
    await cab.confirm()
    await world.until(lambda: world.metal.released(0))
    world.metal.open(0)
    save_metal(world)
    await world.until(lambda: cab.ticket() is None or cab.ticket().step != "released")
    world.metal.take(0, 0, 2)
    save_metal(world)
    await world.advance(0.6)
    world.metal.close(0)
    save_metal(world)
    await world.advance(1.0)
    await world.until(lambda: cab.ticket() is None)
    await world.stop()


async def restart(root: Path) -> dict[str, object]:
    """Start again over the same store and metal; close an open drawer; report."""
    world = World(root, sim=attach())
    load_metal(world)
    cab = await world.start()
    relocked_at_start = ("relock_all", -1, 0) in world.metal.board.writes
    if not world.metal.is_closed(0):
        await world.advance(0.6)
        world.metal.close(0)
    await world.advance(1.0)
    await world.until(lambda: cab.ticket() is None)
    task_id = (root / TASK_FILE).read_text() if (root / TASK_FILE).exists() else ""
    events = [
        (kind, json.loads(payload).get("task"))
        for kind, payload in world.store.conn.execute("SELECT kind, payload FROM ledger")
    ]
    report = {
        "task_id": task_id,
        "task_events": [kind for kind, task in events if task == task_id],
        "stock": world.stock(0, 0),
        "metal": world.metal.count(0, 0),
        "released_now": world.metal.released(0),
        "relocked_at_start": relocked_at_start,
        "open_tasks": world.store.conn.execute(
            "SELECT COUNT(*) FROM workflow_state WHERE machine LIKE 'task:%'"
        ).fetchone()[0],
    }
    await world.stop()
    return report


def main() -> None:
    """Entry point: run or restart."""
    root, phase = Path(sys.argv[1]), sys.argv[2]
    if phase == "run":
        asyncio.run(run(root, os.environ.get("CABINET_KILL_AT", "")))
    else:
        print(json.dumps(asyncio.run(restart(root))))


if __name__ == "__main__":
    main()
