"""Badges read by the scanner: held for their PIN a limited time, a witness's kept apart."""

from __future__ import annotations

import pytest

import hal
from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.workflows.events import ScanRead
from tests.workflows.world import World


def badge(code: str) -> hal.Scan:
    """A staff badge as the reader delivers it."""
    return hal.Scan(raw=code, symbology="]C0", kind=hal.ScanKind.STAFF_BADGE,
                    meaning=hal.StaffBadge(code=code))  # fmt: skip


async def refused(code: RefusalCode, call: object) -> None:
    """Await the call and check it is refused with this code."""
    with pytest.raises(Refused) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code is code


async def waste_awaiting_witness(ward: World) -> None:
    """nurse1 declares a controlled waste, which now needs a witness."""
    await ward.sign_in("nurse1")
    await ward.cab.select_patient("IPP001")
    ticket = await ward.cab.start_waste("MORPH10", 1, order_id="O-MORPH")
    assert ticket.needs_witness


async def test_a_witness_signs_in_with_the_badge_read_and_a_pin(ward: World) -> None:
    await waste_awaiting_witness(ward)
    await ward.cab.handle_scan(badge("B-PHARM1"))
    assert ward.cab.witness_badge_waiting() == "B-PHARM1"
    assert ward.cab.session() is not None and ward.cab.session().user_id == "nurse1"
    assert await ward.cab.witness_sign_in("3333") == "pharm1"
    assert ward.cab.witness_badge_waiting() is None, "a read is used once"
    await ward.cab.confirm()
    row = ward.store.conn.execute(
        "SELECT actor, witness FROM ledger WHERE kind = 'waste'"
    ).fetchone()
    assert tuple(row) == ("nurse1", "pharm1")


async def test_the_screen_learns_a_witness_badge_was_read_never_its_code(ward: World) -> None:
    await waste_awaiting_witness(ward)
    assert ward.events is not None
    while not ward.events.empty():
        ward.events.get_nowait()
    await ward.cab.handle_scan(badge("B-PHARM1"))
    reads = []
    while not ward.events.empty():
        event = ward.events.get_nowait()
        if isinstance(event, ScanRead):
            reads.append(event)
    assert len(reads) == 1 and reads[0].detail == {"witness": True}
    assert "B-PHARM1" not in repr(reads[0])


async def test_a_wrong_pin_keeps_the_read_the_actor_s_own_badge_drops_it(ward: World) -> None:
    await waste_awaiting_witness(ward)
    await ward.cab.handle_scan(badge("B-PHARM1"))
    await refused(RefusalCode.WRONG_PIN, ward.cab.witness_sign_in("0000"))
    assert ward.cab.witness_badge_waiting() == "B-PHARM1", "the same witness types again"
    await ward.cab.handle_scan(badge("B-NURSE1"))  # the nurse scans her own badge
    await refused(RefusalCode.WITNESS_SAME_AS_ACTOR, ward.cab.witness_sign_in("1111"))
    assert ward.cab.witness_badge_waiting() is None
    await refused(RefusalCode.WITNESS_REQUIRED, ward.cab.witness_sign_in("3333"))
    await ward.cab.handle_scan(badge("B-NOBODY"))
    await refused(RefusalCode.UNKNOWN_BADGE, ward.cab.witness_sign_in("3333"))
    assert ward.cab.witness_badge_waiting() is None
    # Nothing was witnessed: the waste cannot be written.
    await refused(RefusalCode.WITNESS_REQUIRED, ward.cab.confirm())


async def test_a_witness_read_expires_and_ends_with_the_session(ward: World) -> None:
    await waste_awaiting_witness(ward)
    await ward.cab.handle_scan(badge("B-PHARM1"))
    ward.clock.advance(ward.settings.badge_hold_s + 1)
    assert ward.cab.witness_badge_waiting() is None
    await refused(RefusalCode.WITNESS_REQUIRED, ward.cab.witness_sign_in("3333"))
    await ward.cab.handle_scan(badge("B-PHARM1"))
    await ward.cab.sign_out()
    assert ward.cab.witness_badge_waiting() is None


async def test_a_sign_in_badge_waits_for_its_pin_only_so_long(ward: World) -> None:
    await ward.cab.handle_scan(badge("B-NURSE1"))
    assert ward.cab.badge_waiting() == "nurse1"
    ward.clock.advance(ward.settings.badge_hold_s + 1)
    # Whoever comes next does not type a PIN against the badge left behind.
    assert ward.cab.badge_waiting() is None
    await refused(RefusalCode.UNKNOWN_USER, ward.cab.sign_in_pin("1111"))


async def test_cancel_badge_forgets_the_read(ward: World) -> None:
    await ward.cab.handle_scan(badge("B-NURSE1"))
    await ward.cab.cancel_badge()
    assert ward.cab.badge_waiting() is None
    await refused(RefusalCode.UNKNOWN_USER, ward.cab.sign_in_pin("1111"))
    await ward.cab.handle_scan(badge("B-NURSE2"))
    assert (await ward.cab.sign_in_pin("2222")).user_id == "nurse2"
    await ward.cab.cancel_badge()  # a session is open: nothing to forget, nothing ended
    assert ward.cab.session() is not None


async def test_a_lockout_sends_the_badge_back_to_the_prompt(ward: World) -> None:
    await ward.cab.handle_scan(badge("B-NURSE1"))
    for _ in range(4):
        await refused(RefusalCode.WRONG_PIN, ward.cab.sign_in_pin("0000"))
        assert ward.cab.badge_waiting() == "nurse1"
    await refused(RefusalCode.LOCKED_OUT, ward.cab.sign_in_pin("0000"))
    assert ward.cab.badge_waiting() is None
