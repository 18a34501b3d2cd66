"""At start: every task a previous run left open is closed safely, with exactly one event."""

from __future__ import annotations

import logging

from cabinet.hardware.errors import HardwareUnavailable
from cabinet.workflows import drawer, endings, machines
from cabinet.workflows.core import Core
from cabinet.workflows.machines import HARDWARE_STATES, machine_for
from cabinet.workflows.watch import settle_task

log = logging.getLogger("cabinet.workflows")


async def recover(core: Core) -> None:
    """Close what was not released; reconcile by weight what was (the drawer is relocked)."""
    open_tasks = machines.load_open(core.store.conn)
    for task in open_tasks:
        task.extra["recovering"] = True
        if task.state not in HARDWARE_STATES:
            # Nothing was released: the drawer never opened for it.
            endings.close_interrupted(core, task, outcome="not_released")
            continue
        if task.state == "open":
            machine_for(task).send("closed")  # it is judged as closed once it is shut
        core.task = task
        drawer.persist(core, task)
        await _reconcile_if_closed(core)


async def _reconcile_if_closed(core: Core) -> None:
    """Judge the interrupted task now if its drawer is shut; otherwise when it closes."""
    task = core.task
    if task is None or task.drawer is None:
        return
    snapshot = core.hardware.snapshot()
    state = snapshot.drawers.get(task.drawer)
    if state is not None and state.closed is False:
        task.drawer_open = True
        task.extra.pop("closed_at", None)
        drawer.persist(core, task)
        log.warning(
            "task %s: drawer %s is open at start; judged when it closes", task.id, task.drawer
        )
        return
    task.drawer_open = False
    try:
        weights = await core.weigh(task.drawer)
    except HardwareUnavailable as exc:
        # Weights cannot be trusted now: keep the task and judge it when the drawer settles.
        log.warning("task %s: weights not available at start: %s", task.id, exc)
        return
    await drawer.finish(core, task, dict(weights))
    settle_task(core)
