"""A drawer task's life with the hardware: release, open, close, settle, then commit or not."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from cabinet.domain.refusals import RefusalCode
from cabinet.domain.weighing import PocketChange, cause_of, compare_drawer
from cabinet.errors import MovementRefused, StorageError
from cabinet.hardware.errors import HardwareUnavailable, ReleaseRefused
from cabinet.hardware.errors import RefusalCode as ReleaseCode
from cabinet.store import LedgerEvent, Movement, MovementKind, NewEvent
from cabinet.store.movements import TxHook
from cabinet.workflows import machines, repo
from cabinet.workflows.core import Core
from cabinet.workflows.discrepancy import open_discrepancies, record_alarm
from cabinet.workflows.events import Cancelled, Committed, Progress
from cabinet.workflows.machines import Task, machine_for

log = logging.getLogger("cabinet.workflows")


def persist(core: Core, task: Task) -> None:
    """Save the task's state in its own transaction."""
    with core.store.transaction() as conn:
        machines.save(conn, task, core.now_iso())


def step(core: Core, task: Task, event: str, **detail: object) -> None:
    """Move the task's machine, persist it and tell the screen."""
    machine_for(task).send(event)
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


async def release(core: Core, task: Task) -> None:
    """Weigh the drawer, persist the baseline, then ask the coordinator to release its lock."""
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
    task.baseline = {str(p): int(w) for p, w in weights.items()}
    task.released_at = core.clock.monotonic()
    machine_for(task).send("release")
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
            _mismatch(core, task, drawer, moved, extra, cause="cancel_taken")
        elif recovering:
            close_interrupted(core, task, outcome="nothing_taken")
        else:
            await close_cancelled(core, task)
        return
    if task.kind == "count":
        if moved:
            _mismatch(core, task, drawer, moved, extra, cause="unexpected_change")
        elif task.counted is None and recovering:
            close_interrupted(core, task, outcome="count_not_entered")
        elif task.counted is None:
            step(core, task, "await_entry")
        else:
            count_or_mismatch(core, task)
        return
    if changes:
        _mismatch(core, task, drawer, changes, extra, cause=None)
        return
    await commit(core, task)


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


def _mismatch(
    core: Core,
    task: Task,
    drawer: int,
    changes: list[PocketChange],
    extra: dict[str, object] | None,
    *,
    cause: str | None,
) -> None:
    """End the task in a discrepancy naming each pocket that moved other than expected."""
    causes = [
        (c, cause if cause is not None and c.readable else cause_of(c, task.pocket))
        for c in changes
    ]
    machine_for(task).send("mismatch")
    open_discrepancies(core, task=task, drawer=drawer, changes=causes, extra=extra)


async def commit(core: Core, task: Task) -> None:
    """Write the task's stock movement with its ledger event; the task ends in the same commit."""
    if task.kind == "count":
        count_or_mismatch(core, task)
        return
    core.checkpoint("before_commit", task)
    previous = task.state
    machine_for(task).send("commit")
    movement = _movement(task)
    try:
        event = core.store.move(movement, hook=closing_hook(core, task))
    except MovementRefused as exc:
        # The weights say the units moved but the record cannot follow (e.g. it says the
        # pocket was empty): the record is wrong, which is a discrepancy, not a crash.
        task.state = previous
        assert task.drawer is not None and task.pocket is not None
        change = PocketChange(pocket=task.pocket, item_code=task.item_code,
                              expected=movement.delta, counted=movement.delta, readable=True,
                              delta_cg=0)  # fmt: skip
        machine_for(task).send("mismatch")
        open_discrepancies(
            core,
            task=task,
            drawer=task.drawer,
            changes=[(change, "record_mismatch")],
            extra={"refused": str(exc)},
        )
        return
    except StorageError as exc:
        task.state = previous
        record_alarm(core, "commit_failed", "critical", f"task {task.id}: {exc}")
        raise
    core.checkpoint("after_commit", task)
    core.hub.publish(
        Committed(task_id=task.id, kind=task.kind, seq=event.seq, quantity=task.quantity)
    )


def _movement(task: Task) -> Movement:
    """The stock movement a well-ended task writes."""
    assert task.drawer is not None and task.pocket is not None
    kind = {
        "dispense": MovementKind.DISPENSE,
        "override": MovementKind.DISPENSE,
        "restock": MovementKind.RESTOCK,
        "return": MovementKind.RETURN,
    }[task.kind]
    sign = 1 if kind in (MovementKind.RESTOCK, MovementKind.RETURN) else -1
    payload: dict[str, object] = {"task": task.id}
    if task.kind == "override":
        payload.update(
            {
                "override": True,
                "reason": task.reason_code,
                "prescriber": task.prescriber,
                "review": "pending",
            }
        )
    if task.blind_count is not None:
        payload["blind_count"] = task.blind_count
    if task.extra.get("recovering"):
        payload["recovered_after_restart"] = True
    for key in ("gtin", "serial"):
        if key in task.extra:
            payload[key] = task.extra[key]
    return Movement(
        kind=kind,
        drawer=task.drawer,
        pocket=task.pocket,
        delta=sign * task.quantity,
        actor=task.actor,
        witness=task.witness,
        patient_id=task.patient_id,
        order_id=task.order_id,
        item_code=task.item_code,
        lot=task.lot if kind is not MovementKind.RETURN else None,
        expiry=task.expiry if kind is MovementKind.RESTOCK else None,
        payload=payload,
    )


def closing_hook(core: Core, task: Task) -> TxHook:
    """A transaction hook that saves (or removes) the task with the movement."""
    at = core.now_iso()

    def hook(conn: sqlite3.Connection, event: LedgerEvent) -> None:
        machines.save(conn, task, at)
        if task.kind == "override":
            conn.execute(
                "INSERT INTO workflow_state (id, machine, state, data, updated_at) "
                "VALUES (?, 'override_review', 'pending', ?, ?)",
                (f"override:{event.seq}", _review_data(task, event.seq), at),
            )

    return hook


def _review_data(task: Task, seq: int) -> str:
    """What a pending override review remembers."""
    return json.dumps(
        {
            "seq": seq,
            "patient_id": task.patient_id,
            "item_code": task.item_code,
            "actor": task.actor,
            "reason": task.reason_code,
            "prescriber": task.prescriber,
            "order_id": None,
        },
        sort_keys=True,
    )


def count_or_mismatch(core: Core, task: Task) -> None:
    """An inventory count: a count event when it matches the record, else a discrepancy."""
    assert task.drawer is not None and task.pocket is not None and task.counted is not None
    _item, recorded, _bin = repo.pocket_row(core.store.conn, task.drawer, task.pocket)
    if task.counted != recorded:
        machine_for(task).send("mismatch")
        change = PocketChange(
            pocket=task.pocket,
            item_code=task.item_code,
            expected=recorded,
            counted=task.counted,
            readable=True,
            delta_cg=0,
        )
        open_discrepancies(
            core, task=task, drawer=task.drawer, changes=[(change, "count_mismatch")]
        )
        return
    core.checkpoint("before_commit", task)
    machine_for(task).send("commit")
    event = core.store.record(
        NewEvent(
            kind="count",
            actor=task.actor,
            item_code=task.item_code,
            drawer=task.drawer,
            pocket=task.pocket,
            payload={"task": task.id, "counted": task.counted, "balance": recorded},
        ),
        hook=closing_hook(core, task),
    )
    core.checkpoint("after_commit", task)
    core.hub.publish(Committed(task_id=task.id, kind=task.kind, seq=event.seq, quantity=0))


async def close_cancelled(core: Core, task: Task) -> None:
    """Nothing moved after a release: record the cancellation once and end the task."""
    machine_for(task).send("nothing_taken")
    event = core.store.record(
        NewEvent(
            kind="cancelled",
            actor=task.actor,
            patient_id=task.patient_id,
            order_id=task.order_id,
            item_code=task.item_code,
            drawer=task.drawer,
            pocket=task.pocket,
            payload={"task": task.id, "task_kind": task.kind, "checked_by_weight": True},
        ),
        hook=closing_hook(core, task),
    )
    core.hub.publish(Cancelled(task_id=task.id, kind=task.kind, seq=event.seq))


def close_interrupted(core: Core, task: Task, *, outcome: str) -> None:
    """A task a previous run left open ends here with exactly one interrupted event."""
    machine_for(task).send("interrupt")
    event = core.store.record(
        NewEvent(
            kind="interrupted",
            actor=task.actor,
            patient_id=task.patient_id,
            order_id=task.order_id,
            item_code=task.item_code,
            drawer=task.drawer,
            pocket=task.pocket,
            payload={"task": task.id, "task_kind": task.kind, "outcome": outcome},
        ),
        hook=closing_hook(core, task),
    )
    core.hub.publish(Cancelled(task_id=task.id, kind=task.kind, seq=event.seq))
