"""How a drawer task ends: the commit, a discrepancy, a cancellation or an interruption."""

from __future__ import annotations

import json
import sqlite3

from cabinet.domain.weighing import PocketChange, cause_of
from cabinet.errors import MovementRefused, StorageError
from cabinet.store import LedgerEvent, Movement, MovementKind, NewEvent
from cabinet.store.movements import TxHook
from cabinet.workflows import machines, repo
from cabinet.workflows.core import Core
from cabinet.workflows.discrepancy import open_discrepancies, record_alarm
from cabinet.workflows.events import Cancelled, Committed
from cabinet.workflows.machines import Task, advance


def mismatch(
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
    advance(task, "mismatch")
    open_discrepancies(core, task=task, drawer=drawer, changes=causes, extra=extra)


async def commit(core: Core, task: Task) -> None:
    """Write the task's stock movement with its ledger event; the task ends in the same commit."""
    if task.kind == "count":
        count_or_mismatch(core, task)
        return
    core.checkpoint("before_commit", task)
    previous = task.state
    advance(task, "commit")
    movement = _movement(task, core.settings.care_unit)
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
        advance(task, "mismatch")
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


def _movement(task: Task, unit: str) -> Movement:
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
    if unit:
        payload["unit"] = unit  # the care unit: reports compare users within a unit
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
        """Save or remove the task (and flag an override) with the event."""
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
        advance(task, "mismatch")
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
    advance(task, "commit")
    event = core.store.record(
        NewEvent(
            kind="count",
            actor=task.actor,
            item_code=task.item_code,
            drawer=task.drawer,
            pocket=task.pocket,
            payload={
                "task": task.id,
                "counted": task.counted,
                "expected": recorded,
                "balance": recorded,
            },
        ),
        hook=closing_hook(core, task),
    )
    core.checkpoint("after_commit", task)
    core.hub.publish(Committed(task_id=task.id, kind=task.kind, seq=event.seq, quantity=0))


async def close_cancelled(core: Core, task: Task) -> None:
    """Nothing moved after a release: record the cancellation once and end the task."""
    advance(task, "nothing_taken")
    event = core.store.record(
        _task_event(task, "cancelled", checked_by_weight=True), hook=closing_hook(core, task)
    )
    core.hub.publish(Cancelled(task_id=task.id, kind=task.kind, seq=event.seq))


def close_interrupted(core: Core, task: Task, *, outcome: str) -> None:
    """A task a previous run left open ends here with exactly one interrupted event."""
    advance(task, "interrupt")
    event = core.store.record(
        _task_event(task, "interrupted", outcome=outcome), hook=closing_hook(core, task)
    )
    core.hub.publish(Cancelled(task_id=task.id, kind=task.kind, seq=event.seq))


def _task_event(task: Task, kind: str, **facts: object) -> NewEvent:
    """A ledger event that ends a task without moving stock, naming the task and its pocket."""
    return NewEvent(
        kind=kind,
        actor=task.actor,
        patient_id=task.patient_id,
        order_id=task.order_id,
        item_code=task.item_code,
        drawer=task.drawer,
        pocket=task.pocket,
        payload={"task": task.id, "task_kind": task.kind, **facts},
    )
