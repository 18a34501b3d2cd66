"""At start: every task a previous run left open is closed safely, with exactly one event."""

from __future__ import annotations

import logging

from cabinet.hardware.errors import HardwareUnavailable
from cabinet.workflows import drawer, endings, machines
from cabinet.workflows.core import Core
from cabinet.workflows.drawer import settle_task
from cabinet.workflows.machines import HARDWARE_STATES, advance

log = logging.getLogger("cabinet.workflows")


async def recover(core: Core) -> None:
    """Close what was not released; reconcile by weight what was (the drawer is relocked)."""
    open_tasks = machines.load_open(core.store.conn)
    for task in open_tasks:
        task.extra["recovering"] = True
        if task.state == "ready" and task.baseline and task.drawer is not None:
            # Armed (drawer.arm): its release may have reached the board before the
            # "released" step reached the disk. Its baseline is durable: weigh, as if released.
            advance(task, "release")
        if task.state not in HARDWARE_STATES:
            # Nothing was released: the drawer never opened for it.
            endings.close_interrupted(core, task, outcome="not_released")
            continue
        if task.state == "open":
            advance(task, "closed")  # it is judged as closed once it is shut
        core.task = task
        drawer.persist(core, task)
        await _reconcile_if_closed(core)


async def _reconcile_if_closed(core: Core) -> None:
    """Judge the interrupted task now if its drawer is shut; otherwise when it closes."""
    task = core.task
    if task is None or task.drawer is None:
        return
    state = core.hardware.snapshot().drawers.get(task.drawer)
    if state is not None and state.closed is False:
        task.drawer_open = True
        task.extra.pop("closed_at", None)
        drawer.persist(core, task)
        log.warning(
            "task %s: drawer %s is open at start; judged when it closes", task.id, task.drawer
        )
        return
    task.drawer_open = False
    await judge(core)


async def judge(core: Core) -> None:
    """Weigh the drawer of a task left by a previous run, as soon as it can be weighed.

    Called at start and by every tick until it succeeds: while the drawer's scale does not
    answer, the task waits (the cabinet refuses new tasks) rather than guess.
    """
    task = core.task
    if task is None or task.drawer is None or task.drawer_open:
        return
    if task.state not in HARDWARE_STATES:
        return
    device = core.hardware.snapshot().devices.get(f"scale{task.drawer}")
    if device is not None and not device.available:
        log.warning("task %s: scale of drawer %s not answering; judged later", task.id, task.drawer)
        return
    try:
        weights = await core.weigh(task.drawer)
    except HardwareUnavailable as exc:
        log.warning("task %s: weights not available: %s", task.id, exc)
        return
    await drawer.finish(core, task, weights)
    settle_task(core)
