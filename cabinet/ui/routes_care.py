"""Care at the bedside: patients, orders, dispense, override, waste, return and the task."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.domain.roles import Action
from cabinet.domain.search import OverrideReason
from cabinet.ui.deps import Rt, User, allowed
from cabinet.ui.models import (
    CountEntry,
    Dispense,
    ItemOut,
    OrderOut,
    Override,
    PackLoad,
    PackOut,
    PatientDetail,
    PatientOut,
    Return,
    TaskOut,
    Waste,
)
from cabinet.ui.routes_session import REFUSALS
from cabinet.ui.runtime import Runtime
from cabinet.workflows.views import DispenseTicket, OrderView, PatientRow

router = APIRouter(responses=REFUSALS)
Carer = Annotated[str, Depends(allowed(Action.DISPENSE))]
# Whoever may run a drawer task of some kind may confirm, cancel or count it.
TASK_ACTIONS = (Action.DISPENSE, Action.RESTOCK, Action.COUNT, Action.WASTE)
Worker = Annotated[str, Depends(allowed(*TASK_ACTIONS))]
PatientId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


def patient_out(row: PatientRow) -> PatientOut:
    """A patient line for the screen."""
    return PatientOut(
        patient_id=row.patient_id,
        name=row.name,
        room=row.room,
        bed=row.bed,
        allergies=list(row.allergies),
        due=row.due,
        overdue=row.overdue,
    )


def order_out(rt: Runtime, o: OrderView) -> OrderOut:
    """An order for the screen, its refusal already in words."""
    text = None
    if o.refusal is not None:
        text = Refused(o.refusal, **o.refusal_params).text(rt.language)
    return OrderOut(
        order_id=o.order_id,
        item_code=o.item_code,
        item_name=o.item_name,
        strength=o.strength,
        form=o.form,
        dose=o.dose,
        kind=o.kind,
        controlled=o.controlled,
        high_alert=o.high_alert,
        allergies=list(o.allergies),
        warnings=list(o.warnings),
        next_allowed_at=o.next_allowed_at,
        dispensable=o.dispensable,
        refusal=o.refusal.value if o.refusal else None,
        refusal_text=text,
        due_at=o.due_at,
        overdue_at=list(o.overdue_at),
    )


def task_out(rt: Runtime, t: DispenseTicket) -> TaskOut:
    """The task with its drawer drawn and, for a restock, the pack just read."""
    pack = None
    scan = rt.scans.pack if t.kind == "restock" else None
    if scan is not None:
        meaning = scan.meaning
        gtin, lot = getattr(meaning, "gtin", ""), getattr(meaning, "lot", "")
        expiry = getattr(meaning, "expiry", None)
        pack = PackOut(gtin=gtin, lot=lot, expiry=expiry.isoformat() if expiry else "")
    return TaskOut(
        task_id=t.task_id,
        kind=t.kind,
        step=t.step,
        item_code=t.item_code,
        item_name=t.item_name,
        quantity=t.quantity,
        drawer=t.drawer,
        pocket=t.pocket,
        controlled=t.controlled,
        needs_blind_count=t.needs_blind_count,
        needs_witness=t.needs_witness,
        patient_id=t.patient_id,
        order_id=t.order_id,
        layout=rt.stock.layout(t.drawer) if t.drawer is not None else None,
        pack=pack,
    )


@router.get("/api/patients", tags=["patients"])
async def patients(rt: Rt, user_id: Carer) -> list[PatientOut]:
    """The unit's patients with their due and overdue doses."""
    return [patient_out(row) for row in rt.cabinet.patient_list()]


@router.post("/api/patients/{patient_id}/select", tags=["patients"])
async def select(patient_id: PatientId, rt: Rt, user_id: Carer) -> PatientDetail:
    """Work for this patient (one at a time): their allergies and orders."""
    row = await rt.cabinet.select_patient(patient_id)
    orders = rt.cabinet.orders_for(patient_id)
    return PatientDetail(patient=patient_out(row), orders=[order_out(rt, o) for o in orders])


@router.post("/api/dispense", tags=["tasks"])
async def dispense(body: Dispense, rt: Rt, user_id: Carer) -> TaskOut:
    """Prepare one dose of the patient's order; the drawer opens on confirmation."""
    await rt.cabinet.select_patient(body.patient_id)
    return task_out(rt, await rt.cabinet.start_dispense(body.order_id))


@router.get("/api/task", tags=["tasks"])
async def task(rt: Rt, user_id: User) -> TaskOut | None:
    """The task in progress, or null."""
    ticket = rt.cabinet.ticket()
    return None if ticket is None else task_out(rt, ticket)


@router.post("/api/task/confirm", tags=["tasks"])
async def confirm(rt: Rt, user_id: Worker) -> TaskOut:
    """Go: the pocket's drawer is released (or the waste is written).

    The kiosk's server answers this through the fast lane (fastlane.py); this route is its
    published contract and the reference the lane is tested against, answer for answer.
    """
    return await confirmed(rt)


async def confirmed(rt: Runtime) -> TaskOut:
    """Confirm the task in progress: the one call behind the route and the fast lane."""
    return task_out(rt, await rt.cabinet.confirm())


@router.post("/api/task/count", tags=["tasks"])
async def count(body: CountEntry, rt: Rt, user_id: Worker) -> TaskOut | None:
    """A count typed on the pad: the blind count before a release, or an inventory count."""
    ticket = rt.cabinet.ticket()
    if ticket is None:
        raise Refused(RefusalCode.NO_TASK)
    if ticket.needs_blind_count:
        return task_out(rt, await rt.cabinet.enter_blind_count(body.count))
    if ticket.kind == "count":
        after = await rt.cabinet.enter_count(body.count)
        return None if after is None else task_out(rt, after)
    raise Refused(RefusalCode.WRONG_STEP, step=ticket.step)


@router.post("/api/task/pack", tags=["tasks"])
async def pack(body: PackLoad, rt: Rt, user_id: Worker) -> TaskOut:
    """The restock's pack (the last one read) and how many units go in."""
    scan = rt.scans.pack
    if scan is None:
        raise Refused(RefusalCode.BAD_BARCODE)
    return task_out(rt, await rt.cabinet.scan_pack(scan, body.quantity))


@router.post("/api/task/cancel", tags=["tasks"])
async def cancel(rt: Rt, user_id: User) -> TaskOut | None:
    """Cancel; after a release the weight checks that nothing was taken."""
    ticket = await rt.cabinet.cancel()
    return None if ticket is None else task_out(rt, ticket)


@router.get("/api/override/reasons", tags=["override"])
async def override_reasons(rt: Rt, user_id: Carer) -> list[str]:
    """The override reason codes (the screen translates them)."""
    return [r.value for r in OverrideReason]


@router.get("/api/override/items", tags=["override"])
async def override_items(
    rt: Rt, user_id: Carer, q: Annotated[str, Query(min_length=1, max_length=40)]
) -> list[ItemOut]:
    """Items of the unit's override list matching the search (5 letters, or one match)."""
    return [
        ItemOut(
            item_code=m.item_code,
            name=m.name,
            strength=m.strength,
            form=m.form,
            controlled=m.controlled,
        )
        for m in rt.cabinet.override_search(q)
    ]


@router.post("/api/override", tags=["override"])
async def override(body: Override, rt: Rt, user_id: Carer) -> TaskOut:
    """Take an item of the override list for this patient, flagged for pharmacist review."""
    await rt.cabinet.select_patient(body.patient_id)
    ticket = await rt.cabinet.start_override(
        body.item_code, body.reason, body.prescriber, body.quantity
    )
    return task_out(rt, ticket)


@router.get("/api/waste/candidates", tags=["waste"])
async def waste_candidates(rt: Rt, user_id: Carer) -> list[ItemOut]:
    """Items this user took recently (else every stocked item)."""
    return rt.stock.recent_items(user_id)


@router.post("/api/waste", tags=["waste"])
async def waste(body: Waste, rt: Rt, user_id: Carer) -> TaskOut:
    """Declare a waste; a controlled item then needs a witness before confirmation."""
    ticket = await rt.cabinet.start_waste(body.item_code, body.quantity, body.order_id)
    return task_out(rt, ticket)


@router.get("/api/return/candidates", tags=["return"])
async def return_candidates(rt: Rt, user_id: Carer) -> list[ItemOut]:
    """Items this user took recently (else every stocked item)."""
    return rt.stock.recent_items(user_id)


@router.post("/api/return", tags=["return"])
async def give_back(body: Return, rt: Rt, user_id: Carer) -> TaskOut:
    """An unused dose goes into the return bin, never back into a pocket."""
    return task_out(rt, await rt.cabinet.start_return(body.item_code, body.quantity))
