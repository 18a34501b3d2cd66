"""Restart with a task left open by a previous run, when the drawer's scale does not answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from cabinet.workflows import machines
from cabinet.workflows.machines import Task
from tests.workflows.world import World, check_invariants


def left_open(world: World, state: str = "settling") -> Task:
    """What a run that died after the take (drawer shut, not yet judged) left on disk."""
    task = Task(
        id="dispense-left", kind="dispense", actor="nurse1", state=state,
        patient_id="IPP001", order_id="O-PARA", item_code="PARA500", quantity=2, drawer=0,
        pocket=0, lot="L-PARA-1",
        baseline={"0": 1000 + 20 * 250, "1": 1000 + 10 * 400, "2": 1000 + 10 * 300,
                  "3": 1000 + 10 * 500},
        extra={"closed_at": 123456.0},
    )  # fmt: skip
    with world.store.transaction() as conn:
        machines.save(conn, task, world.clock.now().isoformat())
    world.metal.drawers[0].pockets[0].count = 18  # the two units did leave the pocket
    return task


async def test_restart_waits_for_the_scale_then_commits_once(tmp_path: Path) -> None:
    w = World(tmp_path)
    task = left_open(w)
    w.metal.fail_scale(0, "down")
    try:
        await w.start()
        await w.advance(10, step=0.5)  # far beyond the settle timeout: no guess is made
        assert w.cab.ticket() is not None and w.cab.ticket().task_id == task.id
        assert "dispense" not in w.kinds() and w.cab.discrepancies() == []
        w.metal.clear()
        await w.advance(2, step=0.25)
        await w.until(lambda: w.cab.ticket() is None)
        assert w.kinds().count("dispense") == 1 and w.stock(0, 0) == 18
        check_invariants(w.store.conn)
    finally:
        await w.stop()


@pytest.mark.parametrize(("taken", "event"), [(2, "dispense"), (0, "interrupted")])
async def test_an_armed_task_left_ready_is_weighed_as_if_released(
    tmp_path: Path, taken: int, event: str
) -> None:
    """Killed between the release write and the "released" save: on disk it is still ready,
    with its baseline. The lock may have moved, so the restart weighs the drawer."""
    w = World(tmp_path)
    left_open(w, state="ready")
    w.metal.drawers[0].pockets[0].count = 20 - taken
    try:
        await w.start()
        await w.until(lambda: w.cab.ticket() is None)
        ends = [k for k in w.kinds() if k in ("dispense", "interrupted", "discrepancy")]
        assert ends == [event] and w.stock(0, 0) == 20 - taken
        check_invariants(w.store.conn)
    finally:
        await w.stop()
