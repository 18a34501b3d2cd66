"""The pharmacist's checks: overrides to review, and a forced drawer to acknowledge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from cabinet.domain.roles import Action
from cabinet.ui.deps import Rt, allowed
from cabinet.ui.models import Done, OverrideReviewOut, ReviewNote
from cabinet.ui.routes_session import REFUSALS

router = APIRouter(responses=REFUSALS)
Reviewer = Annotated[str, Depends(allowed(Action.REVIEW_OVERRIDE))]


def _text(value: object) -> str | None:
    """A stored field as text, or None when absent."""
    return None if value is None else str(value)


@router.get("/api/overrides/pending", tags=["override"])
async def pending(rt: Rt, user_id: Reviewer) -> list[OverrideReviewOut]:
    """Overrides awaiting review, with the order they were linked to once it arrived."""
    out = []
    for review in rt.cabinet.pending_overrides():
        seq = review.get("seq")
        if not isinstance(seq, int):
            continue  # a review without its event cannot be reviewed here
        out.append(
            OverrideReviewOut(
                seq=seq,
                state=str(review.get("state", "")),
                patient_id=_text(review.get("patient_id")),
                item_code=_text(review.get("item_code")),
                item_name=rt.stock.item_name(str(review.get("item_code", ""))),
                order_id=_text(review.get("order_id")),
                reason=_text(review.get("reason")),
                prescriber=_text(review.get("prescriber")),
                actor=_text(review.get("actor")),
            )
        )
    return out


@router.post("/api/overrides/{seq}/review", tags=["override"])
async def review(
    seq: Annotated[int, Path(ge=1, le=2**53)], body: ReviewNote, rt: Rt, user_id: Reviewer
) -> Done:
    """The pharmacist has checked this override: its flag is cleared and the review recorded."""
    return Done(seq=await rt.cabinet.review_override(seq, body.note))


@router.post("/api/alarms/acknowledge-tamper", tags=["cabinet"])
async def acknowledge_tamper(
    rt: Rt, user_id: Annotated[str, Depends(allowed(Action.ACKNOWLEDGE_TAMPER))]
) -> Done:
    """A pharmacist checked a forced drawer: relock everything and record who did."""
    return Done(seq=await rt.cabinet.acknowledge_tamper())
