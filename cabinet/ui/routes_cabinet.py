"""The cabinet itself: pockets, restock, counts, discrepancies, alarms, status, live events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.sse import EventSourceResponse, ServerSentEvent

from cabinet.domain.roles import Action
from cabinet.ui.deps import Rt, User, allowed, any_role
from cabinet.ui.models import (
    AlarmOut,
    DiscrepancyOut,
    Done,
    PocketOut,
    PocketRef,
    Resolve,
    StatusOut,
    TaskOut,
)
from cabinet.ui.routes_care import task_out
from cabinet.ui.routes_session import REFUSALS

router = APIRouter(responses=REFUSALS)
Stocker = Annotated[str, Depends(allowed(Action.RESTOCK, Action.COUNT))]
Restocker = Annotated[str, Depends(allowed(Action.RESTOCK))]
Counter = Annotated[str, Depends(allowed(Action.COUNT))]
Anyone = Annotated[str, Depends(any_role)]


@router.get("/api/pockets", tags=["stock"])
async def pockets(rt: Rt, user_id: Stocker) -> list[PocketOut]:
    """Every assigned pocket with its stock, par and max (below par first to the eye)."""
    return rt.stock.pockets()


@router.post("/api/restock", tags=["stock"])
async def restock(body: PocketRef, rt: Rt, user_id: Restocker) -> TaskOut:
    """A technician starts loading a pocket: the pack is scanned next."""
    rt.scans.clear()
    return task_out(rt, await rt.cabinet.start_restock(body.drawer, body.pocket))


@router.post("/api/count", tags=["stock"])
async def count(body: PocketRef, rt: Rt, user_id: Counter) -> TaskOut:
    """A blind inventory count of one pocket."""
    return task_out(rt, await rt.cabinet.start_count(body.drawer, body.pocket))


@router.get("/api/discrepancies", tags=["discrepancies"])
async def discrepancies(rt: Rt, user_id: Anyone) -> list[DiscrepancyOut]:
    """Open discrepancies."""
    return [
        DiscrepancyOut(
            discrepancy_id=d.discrepancy_id,
            opened_at=d.opened_at,
            opened_by=d.opened_by,
            drawer=d.drawer,
            pocket=d.pocket,
            item_code=d.item_code,
            expected=d.expected,
            counted=d.counted,
            cause=d.cause,
            status=d.status,
            reason=d.reason,
            controlled=d.controlled,
        )
        for d in rt.cabinet.discrepancies()
    ]


@router.post("/api/discrepancies/{discrepancy_id}/resolve", tags=["discrepancies"])
async def resolve(
    discrepancy_id: Annotated[int, Path(ge=1, le=2**53)],
    body: Resolve,
    rt: Rt,
    user_id: Annotated[str, Depends(allowed(Action.RESOLVE))],
) -> Done:
    """A pharmacist resolves a discrepancy with a reason (a witness first if controlled)."""
    seq = await rt.cabinet.resolve_discrepancy(discrepancy_id, body.reason)
    return Done(seq=seq)


@router.get("/api/alarms", tags=["cabinet"])
async def alarms(rt: Rt, user_id: Anyone) -> list[AlarmOut]:
    """Active alarms."""
    return [
        AlarmOut(
            alarm_id=a.alarm_id,
            raised_at=a.raised_at,
            kind=a.kind,
            severity=a.severity,
            message=a.message,
            cleared_at=a.cleared_at,
        )
        for a in rt.cabinet.alarms()
    ]


@router.get("/api/status", tags=["cabinet"])
async def status(rt: Rt, user_id: Anyone) -> StatusOut:
    """The cabinet at a glance, with the link to the central."""
    s = rt.cabinet.status()
    return StatusOut(
        ready=s.ready,
        degraded=s.degraded,
        degraded_reason=s.degraded_reason,
        hardware_ok=s.hardware_ok,
        open_alarms=s.open_alarms,
        open_discrepancies=s.open_discrepancies,
        signed_in=s.signed_in,
        sync=rt.sync(),
    )


@router.get("/api/events", tags=["cabinet"], response_class=EventSourceResponse)
async def events(rt: Rt, user_id: User) -> AsyncIterator[ServerSentEvent]:
    """Live drawer, weight, alarm, scan and task events while the session lives."""
    async for event in rt.hub.subscribe():
        if rt.binder.user_for_current() != user_id:
            # The session ended (or someone else signed in): say so, and close the stream.
            yield ServerSentEvent(event="session", data={"user_id": None, "reason": "ended"})
            return
        if event.kind == "heartbeat":
            yield ServerSentEvent(comment="heartbeat")
            continue
        yield ServerSentEvent(event=event.kind, data=event.data, id=str(event.id))
