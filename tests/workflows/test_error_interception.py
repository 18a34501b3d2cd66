"""Error interception: each mistake at the cabinet is stopped or recorded with the right reason."""

from __future__ import annotations

import pytest

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.errors import StorageError
from cabinet.store import Movement, MovementKind, NewEvent
from drivers.barcode.decode import decode
from tests.workflows.world import World, check_invariants


def open_discrepancies(world: World) -> list[tuple[int, int, int, int, str]]:
    """(drawer, pocket, expected, counted, cause) of each open discrepancy."""
    return [
        (d.drawer, d.pocket, d.expected, d.counted, d.cause)
        for d in world.cab.discrepancies(open_only=True)
    ]


async def refused(code: RefusalCode, awaitable: object) -> Refused:
    """Await and expect a refusal with this code."""
    with pytest.raises(Refused) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code is code, caught.value
    return caught.value


async def nurse_at_patient(world: World, patient: str = "IPP001") -> None:
    """Nurse 1 signed in, patient selected."""
    await world.sign_in("nurse1")
    await world.cab.select_patient(patient)


async def test_wrong_pocket_taken(world: World) -> None:
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.open_take_close(0, takes={2: 2})
    found = open_discrepancies(world)
    assert (0, 2, 0, -2, "wrong_pocket") in found
    assert (0, 0, -2, 0, "too_few") in found
    assert world.stock(0, 0) == 20 and world.stock(0, 2) == 10  # nothing booked as given
    assert "dispense" not in world.kinds()[7:]
    check_invariants(world.store.conn)


async def test_one_too_many(world: World) -> None:
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.open_take_close(0, takes={0: 3})
    assert open_discrepancies(world) == [(0, 0, -2, -3, "too_many")]
    check_invariants(world.store.conn)


async def test_one_too_few(world: World) -> None:
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.open_take_close(0, takes={0: 1})
    assert open_discrepancies(world) == [(0, 0, -2, -1, "too_few")]
    check_invariants(world.store.conn)


async def test_dose_above_the_order(world: World) -> None:
    await nurse_at_patient(world)
    await refused(RefusalCode.DOSE_ABOVE_ORDER, world.cab.start_dispense("O-PARA", quantity=3))
    assert world.cab.ticket() is None


async def test_too_early(world: World) -> None:
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.open_take_close(0, takes={0: 2})
    await refused(RefusalCode.TOO_EARLY, world.cab.start_dispense("O-PARA"))
    orders = {o.order_id: o for o in world.cab.orders_for()}
    assert orders["O-PARA"].refusal is RefusalCode.TOO_EARLY
    assert orders["O-PARA"].next_allowed_at is not None
    assert orders["O-PARA"].next_allowed_at.startswith("2026-11-30T13:00")


async def test_above_the_daily_maximum(world: World) -> None:
    # Three morphine doses given four hours apart (the order allows 3 per 24 h).
    for _dose in range(3):
        world.store.move(
            Movement(
                kind=MovementKind.DISPENSE,
                drawer=0,
                pocket=1,
                delta=-1,
                actor="nurse2",
                patient_id="IPP001",
                order_id="O-MORPH",
            )
        )
        world.clock.advance(4 * 3600)
    await nurse_at_patient(world)
    refusal = await refused(RefusalCode.DAILY_MAX, world.cab.start_dispense("O-MORPH"))
    assert refusal.params == {"given": 3, "daily_max": 3}
    assert "Daily maximum" in refusal.text("en") and "maximale" in refusal.text("fr")


async def test_expired_lot(world: World) -> None:
    await nurse_at_patient(world, "IPP002")
    await refused(RefusalCode.ONLY_EXPIRED, world.cab.start_dispense("O-KETA"))


async def test_unverified_order(world: World) -> None:
    await nurse_at_patient(world)
    await refused(RefusalCode.NOT_VERIFIED, world.cab.start_dispense("O-IBU"))


async def test_wrong_pack_at_restock(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_restock(0, 0)
    ibuprofen = decode("]d2" + "0103400930000014" + "17271231" + "10LOT7\x1d" + "21SER1")
    await refused(RefusalCode.WRONG_PACK, world.cab.scan_pack(ibuprofen, 10))
    assert world.cab.ticket() is not None and world.cab.ticket().step == "prepared"


async def test_pack_with_a_wrong_check_digit(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_restock(0, 0)
    bad = decode("]d2" + "0103400935955839" + "17271231" + "10LOT7\x1d" + "21SER1")
    await refused(RefusalCode.BAD_BARCODE, world.cab.scan_pack(bad, 10))


async def test_expired_pack_at_restock(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_restock(0, 0)
    old = decode("]d2" + "0103400935955838" + "17261031" + "10LOT7\x1d" + "21SER1")
    await refused(RefusalCode.EXPIRED_PACK, world.cab.scan_pack(old, 10))


async def test_controlled_waste_without_witness(world: World) -> None:
    await nurse_at_patient(world)
    ticket = await world.cab.start_waste("MORPH10", 1, order_id="O-MORPH")
    assert ticket.needs_witness
    await refused(RefusalCode.WITNESS_REQUIRED, world.cab.confirm())
    assert "waste" not in world.kinds()


async def test_witness_is_the_actor(world: World) -> None:
    await nurse_at_patient(world)
    await world.cab.start_waste("MORPH10", 1, order_id="O-MORPH")
    await refused(
        RefusalCode.WITNESS_SAME_AS_ACTOR, world.cab.witness_sign_in("1111", user_id="nurse1")
    )
    await refused(
        RefusalCode.WITNESS_NOT_ALLOWED, world.cab.witness_sign_in("4444", user_id="tech1")
    )
    await refused(RefusalCode.WITNESS_REQUIRED, world.cab.confirm())


async def test_override_of_an_item_not_on_the_list(world: World) -> None:
    await nurse_at_patient(world)
    await refused(
        RefusalCode.NOT_ON_OVERRIDE_LIST,
        world.cab.start_override("AMOX1G", "emergency", "Dr House"),
    )
    with pytest.raises(Refused) as caught:
        world.cab.override_search("amox")
    assert caught.value.code is RefusalCode.SEARCH_TOO_SHORT
    assert world.cab.override_search("amoxicilline") == []


async def test_drawer_forced_open(world: World) -> None:
    world.metal.force(0)
    await world.advance(0.2)
    await world.until(lambda: any(a.kind == "drawer_forced" for a in world.cab.alarms()))
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    await refused(RefusalCode.HARDWARE_UNAVAILABLE, world.cab.confirm())
    assert world.metal.board.releases == []
    world.metal.take(0, 3, 1)
    await world.advance(0.6)
    world.metal.close(0)
    await world.advance(1.0)
    await world.until(lambda: bool(open_discrepancies(world)))
    assert open_discrepancies(world) == [(0, 3, 0, -1, "unauthorised_change")]
    kinds = world.kinds()
    assert "alarm" in kinds
    check_invariants(world.store.conn)


async def test_cancel_after_taking(world: World) -> None:
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.until(lambda: world.metal.released(0))
    world.metal.open(0)
    await world.until(lambda: world.cab.ticket().step == "open")
    world.metal.take(0, 0, 2)
    await world.cab.cancel()
    assert world.cab.ticket().step == "cancelling"
    await world.advance(0.6)
    world.metal.close(0)
    await world.advance(1.0)
    await world.until(lambda: world.cab.ticket() is None)
    assert open_discrepancies(world) == [(0, 0, 0, -2, "cancel_taken")]
    assert world.stock(0, 0) == 20
    check_invariants(world.store.conn)


async def test_blind_count_mismatch_is_recorded(world: World) -> None:
    await nurse_at_patient(world)
    ticket = await world.cab.start_dispense("O-MORPH")
    assert ticket.needs_blind_count
    await refused(RefusalCode.BLIND_COUNT_REQUIRED, world.cab.confirm())
    await world.cab.enter_blind_count(9)
    assert open_discrepancies(world) == [(0, 1, 10, 9, "blind_count")]
    await world.cab.confirm()
    await world.open_take_close(0, takes={1: 1})
    assert world.stock(0, 1) == 9


async def test_lockout_after_five_wrong_pins(world: World) -> None:
    for _attempt in range(4):
        await refused(RefusalCode.WRONG_PIN, world.cab.sign_in_pin("0000", user_id="nurse1"))
    await refused(RefusalCode.LOCKED_OUT, world.cab.sign_in_pin("0000", user_id="nurse1"))
    await refused(RefusalCode.LOCKED_OUT, world.cab.sign_in_pin("1111", user_id="nurse1"))
    assert world.kinds().count("login_failure") == 4 and "user_locked" in world.kinds()
    world.clock.advance(15 * 60 + 1)
    await world.cab.sign_in_pin("1111", user_id="nurse1")
    assert world.cab.session() is not None


async def test_unknown_badge_and_wrong_role(world: World) -> None:
    await refused(RefusalCode.UNKNOWN_BADGE, world.cab.sign_in_badge("B-NOBODY"))
    await world.cab.sign_in_badge("B-AUDIT1")
    await world.cab.sign_in_pin("5555")
    await world.cab.select_patient("IPP001")
    await refused(RefusalCode.NOT_AUTHORISED, world.cab.start_dispense("O-PARA"))


async def test_storage_failure_refuses_and_changes_nothing(world: World) -> None:
    """A store in doubt keeps the drawer locked: a write failed since the task became ready."""
    await nurse_at_patient(world)
    await world.cab.start_dispense("O-PARA")
    world.store.conn.execute("PRAGMA query_only = ON")  # the disk stops taking writes
    try:
        with pytest.raises(StorageError):
            world.store.record(NewEvent(kind="sign_in", actor="nurse2"))  # a write notices
        await refused(RefusalCode.STORAGE_FAILED, world.cab.confirm())
    finally:
        world.store.conn.execute("PRAGMA query_only = OFF")
    assert world.metal.board.releases == []
    assert world.cab.ticket() is not None and world.cab.ticket().step == "ready"
    await world.cab.confirm()
    await world.open_take_close(0, takes={0: 2})
    assert world.stock(0, 0) == 18
    check_invariants(world.store.conn)
