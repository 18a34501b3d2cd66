"""Waste of part or all of a dose in hand; a controlled item needs a different witness."""

from __future__ import annotations

from cabinet.domain.refusals import RefusalCode
from cabinet.domain.roles import Action
from cabinet.errors import MovementRefused, StorageError
from cabinet.store import Movement, MovementKind
from cabinet.workflows import repo
from cabinet.workflows.core import Core
from cabinet.workflows.drawer import persist, step
from cabinet.workflows.endings import closing_hook
from cabinet.workflows.events import Committed
from cabinet.workflows.machines import Task, advance
from cabinet.workflows.tasks import authorised, new_id


def start_waste(core: Core, item_code: str, quantity: int, order_id: str | None = None) -> Task:
    """Declare units of a dose that will not be given; nothing leaves a pocket."""
    session = authorised(core, Action.WASTE)
    conn = core.store.conn
    item = repo.item(conn, item_code)
    if item is None:
        core.refuse(RefusalCode.UNKNOWN_ITEM)
    if quantity <= 0:
        core.refuse(RefusalCode.BAD_QUANTITY)
    if order_id is not None:
        rule = repo.order(conn, order_id)
        if rule is None or rule.item_code != item_code:
            core.refuse(RefusalCode.UNKNOWN_ORDER)
        if quantity > rule.dose:
            core.refuse(RefusalCode.DOSE_ABOVE_ORDER, dose=rule.dose)
    # The event is filed against the pocket the item came from, for the controlled register.
    row = conn.execute(
        "SELECT drawer, pocket FROM ledger WHERE kind = 'dispense' AND item_code = ? "
        "AND (patient_id IS ? OR ? IS NULL) ORDER BY seq DESC LIMIT 1",
        (item_code, session.patient_id, session.patient_id),
    ).fetchone()
    if row is None:
        pockets = repo.pockets_of(conn, item_code)
        if not pockets:
            core.refuse(RefusalCode.NO_POCKET)
        where = (pockets[0].drawer, pockets[0].pocket)
    else:
        where = (int(row[0]), int(row[1]))
    session.witness = None  # a witness signs in for this waste, after it is declared
    task = Task(
        id=new_id("waste"),
        kind="waste",
        actor=session.user_id,
        patient_id=session.patient_id,
        order_id=order_id,
        item_code=item_code,
        quantity=quantity,
        drawer=where[0],
        pocket=where[1],
        controlled=item.controlled,
    )
    core.task = task
    persist(core, task)
    return task


def witnessed(core: Core, task: Task, witness: str) -> None:
    """A second user signed in for this waste."""
    task.witness = witness
    step(core, task, "witness_signed")


def commit_waste(core: Core, task: Task) -> int:
    """Write the waste with its witness in one transaction; the task ends with it."""
    session = core.signed_in()
    if task.controlled and task.witness is None:
        core.refuse(RefusalCode.WITNESS_REQUIRED)
    if task.witness is not None and task.witness == task.actor:
        core.refuse(RefusalCode.WITNESS_SAME_AS_ACTOR)
    assert task.drawer is not None and task.pocket is not None
    previous = task.state
    advance(task, "commit")
    try:
        event = core.store.move(
            Movement(
                kind=MovementKind.WASTE,
                drawer=task.drawer,
                pocket=task.pocket,
                delta=0,
                actor=task.actor,
                witness=task.witness,
                patient_id=task.patient_id,
                order_id=task.order_id,
                item_code=task.item_code,
                payload={"task": task.id, "wasted": task.quantity},
            ),
            hook=closing_hook(core, task),
        )
    except (MovementRefused, StorageError) as exc:
        task.state = previous
        core.refuse(RefusalCode.STORAGE_FAILED, detail=str(exc))
    core.task = None
    session.witness = None
    core.witness_badge = None
    core.hub.publish(Committed(task_id=task.id, kind="waste", seq=event.seq, quantity=0))
    return event.seq
