"""What a scan means at the screen: a badge signs in, a wristband selects, a pack is held."""

from __future__ import annotations

import logging

import hal
from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.workflows import screens
from cabinet.workflows.core import Core
from cabinet.workflows.events import RefusedEvent, ScanRead

log = logging.getLogger("cabinet.workflows")


async def handle(core: Core, scan: hal.Scan) -> None:
    """Act on one scan; refusals go to the screen as events, never up to the reader loop."""
    meaning = scan.meaning
    detail: dict[str, object] = {}
    try:
        if isinstance(meaning, hal.StaffBadge):
            if core.session is None:
                pending = await screens.badge(core, meaning.code)
                detail = {"user_id": pending.user_id, "name": pending.name}
            else:
                # A badge during a session is a second person: a witness about to type a PIN.
                # Who it is stays unknown until the PIN proves it.
                core.hold_witness_badge(meaning.code)
                detail = {"witness": True}
        elif isinstance(meaning, hal.PatientWristband):
            detail = {"patient_id": meaning.patient_id}
            if core.session is not None and core.task is None:
                screens.select_patient(core, meaning.patient_id)
        elif isinstance(meaning, hal.DrugPack):
            core.last_pack = scan
            detail = {
                "gtin": meaning.gtin,
                "lot": meaning.lot,
                "expiry": meaning.expiry.isoformat(),
                "serial": meaning.serial,
            }
        else:
            core.hub.publish(
                RefusedEvent(code=RefusalCode.BAD_BARCODE, params={"reason": meaning.reason})
            )
            return
    except Refused as refusal:
        log.info("scan refused: %s", refusal)
        return  # core.refuse already published it for the screen
    # A badge code is a secret: the screen gets who it is, never the code itself.
    raw = "" if isinstance(meaning, hal.StaffBadge) else scan.raw
    core.hub.publish(ScanRead(kind=scan.kind.value, raw=raw, detail=detail))
