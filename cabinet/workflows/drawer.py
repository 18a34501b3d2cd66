"""A drawer task's life with the hardware: release, open, close, settle, then commit or not."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from cabinet.domain.refusals import RefusalCode
from cabinet.domain.weighing import PocketChange, compare_drawer
from cabinet.errors import StorageError
from cabinet.hardware.errors import HardwareUnavailable, ReleaseRefused
from cabinet.hardware.errors import RefusalCode as ReleaseCode
from cabinet.workflows import endings, machines, repo
from cabinet.workflows.core import Core
from cabinet.workflows.events import Progress
from cabinet.workflows.machines import Task, advance

log = logging.getLogger("cabinet.workflows")


def persist(core: Core, task: Task) -> None:
    """Save the task's state in its own transaction."""
    with core.store.transaction() as conn:
        machines.save(conn, task, core.now_iso())


def step(core: Core, task: Task, event: str, **detail: object) -> None:
    """Move the task's machine, persist it and tell the screen."""
    advance(task, event)
    if task.state == "ready" and task.drawer is not None:
        arm(core, task)
    if task.state not in machines.FINAL_STATES:
        persist(core, task)
    core.hub.publish(
        Progress(
            task_id=task.id,
            kind=task.kind,
            step=task.state,
            drawer=task.drawer,
            pocket=task.pocket,
            detail=dict(detail),
        )
    )


def arm(core: Core, task: Task) -> None:
    """Keep the drawer's settled weights as the baseline, made durable with the ready step.

    A task saved as ready with a baseline counts as possibly released: a restart reconciles it
    by weight (recovery.py). So when the drawer has not changed by the time of the release,
    the baseline is already on disk and the release needs no commit before it.
    """
    assert task.drawer is not None
    view = core.settled_view(task.drawer)
    task.baseline = {} if view is None else {str(p): int(w) for p, w in view.items()}
    task.extra["armed_at"] = core.clock.monotonic()
    task.extra["armed_faults"] = core.store.faults_seen


def _still_armed(core: Core, task: Task, baseline: dict[str, int]) -> bool:
    """True when the baseline on disk may stand for the release without a commit first.

    The drawer's settled reading must be the one saved; the save must be recent (a disk that
    failed since would have been caught by that commit); and no write may have failed since
    (a store in doubt keeps the drawers locked: the commit is attempted, and refused).
    """
    armed_at = task.extra.get("armed_at")
    return (
        bool(task.baseline)
        and baseline == task.baseline
        and isinstance(armed_at, int | float)
        and core.clock.monotonic() - armed_at <= core.settings.armed_baseline_s
        and task.extra.get("armed_faults") == core.store.faults_seen
    )


async def release(core: Core, task: Task) -> None:
    """Weigh the drawer, make the baseline durable, then ask the coordinator to release it."""
    if core.degraded:
        core.refuse(RefusalCode.DEGRADED, reason=core.degraded)
    if task.drawer is None:
        core.refuse(RefusalCode.NO_POCKET)
    drawer = task.drawer
    try:
        _precheck(core, drawer)
        weights = await core.baseline(drawer)
    except HardwareUnavailable as exc:
        core.refuse(RefusalCode.HARDWARE_UNAVAILABLE, detail=str(exc))
    previous = task.state
    baseline = {str(p): int(w) for p, w in weights.items()}
    armed = _still_armed(core, task, baseline)
    task.baseline = baseline
    task.released_at = core.clock.monotonic()
    advance(task, "release")
    if not armed:
        try:
            # The baseline is durable before the lock moves: a crash after this is reconciled.
            persist(core, task)
        except StorageError:
            task.state = previous
            core.refuse(RefusalCode.STORAGE_FAILED)
    try:
        await core.hardware.release(drawer, reason=f"{task.kind} {task.id}")
    except HardwareUnavailable as exc:
        task.state = previous  # nothing was released: the task may be confirmed again
        persist(core, task)
        core.refuse(RefusalCode.HARDWARE_UNAVAILABLE, detail=str(exc))
    core.checkpoint("after_release", task)
    if armed:
        try:
            persist(core, task)
        except StorageError as exc:
            # On disk the task is still ready with this very baseline: a restart weighs it.
            log.error("task %s released but not saved as released: %s", task.id, exc)
    if task.pocket is not None:
        try:
            await core.hardware.set_guide_light(drawer, task.pocket, True)
        except HardwareUnavailable as exc:
            log.warning("guide light not lit: %s", exc)  # the screen still shows the pocket
    core.hub.publish(
        Progress(
            task_id=task.id, kind=task.kind, step=task.state, drawer=drawer, pocket=task.pocket
        )
    )


def _precheck(core: Core, drawer: int) -> None:
    """Fail fast when the coordinator would refuse anyway (device down, tamper, forced).

    Weights that are still settling are not a reason to refuse: weighing waits for them.
    """
    try:
        core.hardware.check_release(drawer)
    except ReleaseRefused as exc:
        if exc.code is not ReleaseCode.WEIGHTS_UNTRUSTWORTHY:
            raise


def settle_task(core: Core) -> None:
    """Forget the current task once it has ended."""
    if core.task is not None and core.task.state in machines.FINAL_STATES:
        core.task = None


def drawer_opened(core: Core, task: Task) -> None:
    """The task's drawer left its closed sensor."""
    task.drawer_open = True
    step(core, task, "opened")
    core.checkpoint("after_open", task)


def drawer_closed(core: Core, task: Task) -> None:
    """The task's drawer is shut again; its weights settle next."""
    task.drawer_open = False
    task.extra["closed_at"] = core.clock.monotonic()
    if task.state == "open":
        step(core, task, "closed")
    else:
        persist(core, task)
    core.checkpoint("after_close", task)


async def finish(core: Core, task: Task, after: Mapping[int, int] | None) -> None:
    """Compare settled weights with the baseline; commit, cancel, or open a discrepancy."""
    drawer = task.drawer
    if drawer is None:
        return
    try:
        # The task ends here: what is left of the lock pulse must not outlive it.
        await core.hardware.relock_all(f"{task.kind} {task.id} ended")
    except HardwareUnavailable as exc:
        log.error("relock after task %s failed (the pulse still ends by itself): %s", task.id, exc)
    if task.pocket is not None:
        # A lit pocket is harmless; the next task darkens every light.
        with contextlib.suppress(HardwareUnavailable):
            await core.hardware.set_guide_light(drawer, task.pocket, False)
    core.checkpoint("weights_read", task)
    before = {int(p): w for p, w in task.baseline.items()}
    scales = repo.drawer_scales(core.store.conn, drawer)
    if task.kind == "return" and task.pocket is not None:
        returned = repo.item(core.store.conn, task.item_code or "")
        if returned is not None:
            scales[task.pocket] = scales[task.pocket].__class__(
                pocket=task.pocket,
                item_code=returned.code,
                unit_cg=returned.unit_cg,
                tolerance_cg=returned.tolerance_cg,
            )
    if after is None:
        changes = [
            PocketChange(
                pocket=task.pocket or 0,
                item_code=task.item_code,
                expected=task.expected_moves().get(task.pocket or 0, 0),
                counted=0,
                readable=False,
                delta_cg=0,
            )
        ]
    else:
        if (
            task.kind == "restock"
            and not task.extra.get("declared", True)
            and task.pocket is not None
        ):
            _count_load(task, before, after, scales)
        changes = compare_drawer(before, after, scales, task.expected_moves())
    recovering = bool(task.extra.get("recovering"))
    moved = changes if after is None else compare_drawer(before, after, scales, {})
    extra: dict[str, object] | None = {"interrupted": True} if recovering else None
    if task.cancel_requested or (recovering and not moved):
        if moved:
            endings.mismatch(core, task, drawer, moved, extra, cause="cancel_taken")
        elif recovering:
            endings.close_interrupted(core, task, outcome="nothing_taken")
        else:
            await endings.close_cancelled(core, task)
        return
    if task.kind == "count":
        if moved:
            endings.mismatch(core, task, drawer, moved, extra, cause="unexpected_change")
        elif task.counted is None and recovering:
            endings.close_interrupted(core, task, outcome="count_not_entered")
        elif task.counted is None:
            step(core, task, "await_entry")
        else:
            endings.count_or_mismatch(core, task)
        return
    if changes:
        endings.mismatch(core, task, drawer, changes, extra, cause=None)
        return
    if task.quantity == 0:
        # A restock that loaded nothing (no quantity declared, nothing weighed): no movement.
        task.cancel_requested = True
        advance(task, "cancel")
        await endings.close_cancelled(core, task)
        return
    await endings.commit(core, task)


def _count_load(
    task: Task, before: Mapping[int, int], after: Mapping[int, int], scales: Mapping[int, Any]
) -> None:
    """A restock without a declared quantity loads what the weight counts, if it can."""
    assert task.pocket is not None
    one = compare_drawer(
        {task.pocket: before.get(task.pocket, 0)}, {task.pocket: after.get(task.pocket, 0)},
        {task.pocket: scales[task.pocket]}, {},
    )  # fmt: skip
    if one and one[0].readable and one[0].counted > 0:
        task.quantity = one[0].counted
