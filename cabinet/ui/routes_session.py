"""Sign-in by badge and PIN, sign-out, the witness at the same screen, and the kiosk page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.domain.roles import Action
from cabinet.ui.auth import COOKIE
from cabinet.ui.deps import Rt, User, allowed
from cabinet.ui.models import (
    Done,
    Kiosk,
    Me,
    PendingBadgeOut,
    Refusal,
    SignIn,
    WitnessOut,
    WitnessState,
)
from cabinet.ui.runtime import Runtime

STATIC = Path(__file__).parent / "static"
router = APIRouter()
REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"model": Refusal, "description": "not signed in, or the sign-in failed"},
    403: {"model": Refusal, "description": "the signed-in user's roles do not allow this"},
    409: {"model": Refusal, "description": "refused by the cabinet; nothing changed"},
}


@router.get("/", include_in_schema=False)
async def kiosk_page() -> FileResponse:
    """The kiosk page: the one screen reachable before signing in."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


@router.get("/api/kiosk", tags=["sign-in"])
async def kiosk(rt: Rt) -> Kiosk:
    """What the sign-in screen shows: who the cabinet is, a badge read, the offline banner."""
    badge = rt.scans.pending_badge
    status = rt.cabinet.status()
    return Kiosk(
        cabinet_id=rt.cabinet_id,
        care_unit=rt.care_unit,
        language=rt.language,
        pending_badge=PendingBadgeOut(name=badge.name) if badge else None,
        notice=rt.scans.notice,
        sync=rt.sync(),
        degraded=status.degraded,
        degraded_reason=status.degraded_reason,
    )


@router.post("/api/signin", tags=["sign-in"], responses=REFUSALS)
async def sign_in(body: SignIn, rt: Rt, response: Response) -> Me:
    """Complete the sign-in with the PIN (for the badge just read, or the user id given)."""
    if body.user_id is None and rt.scans.pending_badge is None:
        raise Refused(RefusalCode.UNKNOWN_BADGE)
    try:
        view = await rt.cabinet.sign_in_pin(body.pin, user_id=body.user_id)
    except Refused as refused:
        if refused.code is RefusalCode.LOCKED_OUT:
            # A locked account has nothing more to type: back to the badge prompt.
            rt.scans.clear()
        raise
    rt.scans.clear()
    token = rt.binder.bind(view.user_id)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
    return Me(
        user_id=view.user_id,
        name=view.name,
        roles=list(view.roles),
        patient_id=view.patient_id,
        expires_in_s=view.expires_in_s,
    )


@router.post("/api/signin/cancel", tags=["sign-in"])
async def cancel_badge(rt: Rt) -> Done:
    """Forget a badge read at the sign-in screen (the wrong person scanned)."""
    if rt.cabinet.session() is None:
        rt.scans.clear()
        await rt.cabinet.cancel_badge()
    return Done()


@router.post("/api/signout", tags=["sign-in"], responses=REFUSALS)
async def sign_out(rt: Rt, user_id: User, response: Response) -> Done:
    """Sign out; a task not yet released is cancelled by the workflow."""
    await rt.cabinet.sign_out()
    rt.binder.drop()
    rt.scans.clear()
    response.delete_cookie(COOKIE, path="/")
    return Done()


@router.get("/api/me", tags=["sign-in"], responses=REFUSALS)
async def me(rt: Rt, user_id: User) -> Me:
    """The signed-in user and how long until the inactivity sign-out."""
    view = rt.cabinet.session()
    if view is None:
        raise Refused(RefusalCode.NOT_SIGNED_IN)
    return Me(
        user_id=view.user_id,
        name=view.name,
        roles=list(view.roles),
        patient_id=view.patient_id,
        expires_in_s=view.expires_in_s,
    )


@router.get("/api/witness", tags=["tasks"], responses=REFUSALS)
async def witness_state(
    rt: Rt, user_id: Annotated[str, Depends(allowed(Action.WASTE, Action.RESOLVE))]
) -> WitnessState:
    """Whether a witness's badge has been read at this screen (never the badge itself)."""
    return WitnessState(
        badge_read=rt.scans.witness_badge is not None,
        candidates=[WitnessOut(user_id=i, name=n) for i, n in rt.stock.witnesses(user_id)],
    )


# Refusals that say the badge read cannot witness at all (a wrong PIN keeps it, to retype).
NOT_THIS_WITNESS = frozenset(
    {
        RefusalCode.UNKNOWN_BADGE,
        RefusalCode.WITNESS_SAME_AS_ACTOR,
        RefusalCode.WITNESS_NOT_ALLOWED,
        RefusalCode.LOCKED_OUT,
    }
)


@router.post("/api/witness", tags=["tasks"], responses=REFUSALS)
async def witness(
    body: SignIn,
    rt: Rt,
    user_id: Annotated[str, Depends(allowed(Action.WASTE, Action.RESOLVE))],
) -> WitnessOut:
    """A second user witnesses at this screen: their badge read, then their PIN."""
    badge = rt.scans.witness_badge
    if body.user_id is None and badge is None:
        raise Refused(RefusalCode.WITNESS_REQUIRED)
    try:
        witness_id = await rt.cabinet.witness_sign_in(
            body.pin, user_id=body.user_id, badge=None if body.user_id else badge
        )
    except Refused as refused:
        if refused.code in NOT_THIS_WITNESS:
            rt.scans.clear_witness()  # the card read was not a witness's: the next read counts
        raise
    rt.scans.clear_witness()
    return WitnessOut(user_id=witness_id, name=rt.stock.user_name(witness_id))


def refusal_status(code: RefusalCode, path: str) -> int:
    """The HTTP status of a refusal: who you are (401/403), locked (423), what (404/409)."""
    if code in (RefusalCode.WRONG_PIN, RefusalCode.UNKNOWN_USER, RefusalCode.UNKNOWN_BADGE):
        return 401 if path.startswith("/api/signin") else 409
    if code is RefusalCode.NOT_SIGNED_IN:
        return 401
    if code is RefusalCode.LOCKED_OUT:
        return 423
    if code in (RefusalCode.NOT_AUTHORISED, RefusalCode.WITNESS_NOT_ALLOWED):
        return 403
    if code in (
        RefusalCode.UNKNOWN_PATIENT,
        RefusalCode.UNKNOWN_ORDER,
        RefusalCode.UNKNOWN_ITEM,
        RefusalCode.UNKNOWN_DISCREPANCY,
    ):
        return 404
    return 409


def refusal_body(request: Request, refused: Refused) -> dict[str, object]:
    """The refusal's JSON body, its sentence in the kiosk's language."""
    return refusal_content(request.app.state.runtime, refused)


def refusal_content(rt: Runtime, refused: Refused) -> dict[str, object]:
    """The refusal's JSON body for this runtime's language."""
    params = {k: str(v) for k, v in refused.params.items()}
    return {"code": refused.code.value, "message": rt.refusal_text(refused), "params": params}


def http_error_content(exc: HTTPException) -> dict[str, object]:
    """An HTTP error in the refusal shape the page expects."""
    if isinstance(exc.detail, dict):
        return exc.detail
    return {"code": "http_" + str(exc.status_code), "message": str(exc.detail)}
