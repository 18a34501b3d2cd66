"""Correct workflows: each ends committed, with no discrepancy and no alarm (no false alarm)."""

from __future__ import annotations

import pytest

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.workflows.events import Committed, OmissionAlert
from drivers.barcode.decode import decode
from tests.workflows.world import World, check_invariants


@pytest.fixture(autouse=True)
def no_false_alarm(world: World) -> object:
    """After each correct workflow: no discrepancy, no alarm, invariants hold."""
    yield None
    assert world.cab.discrepancies(open_only=False) == []
    assert world.cab.alarms(active_only=False) == []
    check_invariants(world.store.conn)


async def test_badge_sign_in_and_scheduled_dose(world: World) -> None:
    pending = await world.cab.sign_in_badge("B-NURSE1")
    assert pending.user_id == "nurse1"
    view = await world.cab.sign_in_pin("1111")
    assert view.roles == ("nurse",)
    rows = {r.patient_id: r for r in world.cab.patient_list()}
    assert rows["IPP001"].due == 1
    await world.cab.select_patient("IPP001")
    orders = {o.order_id: o for o in world.cab.orders_for()}
    assert orders["O-PARA"].dispensable and orders["O-IBU"].refusal is RefusalCode.NOT_VERIFIED
    assert "allergy:pénicilline" not in orders["O-PARA"].warnings
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    assert world.metal.board.releases == [(0, 8000)]
    await world.open_take_close(0, takes={0: 2})
    assert world.stock(0, 0) == 18
    assert {r.patient_id: r for r in world.cab.patient_list()}["IPP001"].due == 0


async def test_controlled_prn_with_blind_count(world: World) -> None:
    events = world.cab.subscribe()
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    await world.cab.start_dispense("O-MORPH")
    await world.cab.enter_blind_count(10)
    await world.cab.confirm()
    await world.open_take_close(0, takes={1: 1})
    assert world.stock(0, 1) == 9
    seen = []
    while not events.empty():
        seen.append(events.get_nowait())
    assert any(isinstance(e, Committed) and e.kind == "dispense" for e in seen)
    row = world.store.conn.execute(
        "SELECT lot, payload FROM ledger WHERE kind = 'dispense'"
    ).fetchone()
    assert row[0] == "L-MOR-1" and '"blind_count":10' in row[1]


async def test_override_from_the_list(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP002")
    found = world.cab.override_search("oxyco")
    assert [m.item_code for m in found] == ["OXY5"]
    assert [m.item_code for m in world.cab.override_search("FURO")] == ["FURO40"]  # one match
    with pytest.raises(Refused):
        await world.cab.start_override("FURO40", "because", "Dr House")
    with pytest.raises(Refused):
        await world.cab.start_override("FURO40", "emergency", "  ")
    await world.cab.start_override("FURO40", "emergency", "Dr House")
    await world.cab.confirm()
    await world.open_take_close(1, takes={2: 1})
    assert world.stock(1, 2) == 11
    pending = world.cab.pending_overrides()
    assert len(pending) == 1 and pending[0]["order_id"] is None
    # The order arrives from the central: the override is linked to it.
    world.store.conn.execute(
        "INSERT INTO orders (id, patient_id, item_code, dose, kind, start_at, status, "
        "verified_by) VALUES ('O-FURO', 'IPP002', 'FURO40', 1, 'prn', ?, 'active', 'pharm1')",
        (world.clock.now().isoformat(),),
    )
    await world.cab.tick()
    assert world.cab.pending_overrides()[0]["order_id"] == "O-FURO"
    await world.cab.sign_out()
    await world.sign_in("pharm1")
    await world.cab.review_override(int(str(pending[0]["seq"])))
    assert world.cab.pending_overrides() == []
    assert {"override_linked", "override_reviewed"} <= set(world.kinds())


async def test_controlled_waste_with_witness(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    await world.cab.start_waste("MORPH10", 1, order_id="O-MORPH")
    assert await world.cab.witness_sign_in("3333", user_id="pharm1") == "pharm1"
    await world.cab.confirm()
    row = world.store.conn.execute(
        "SELECT actor, witness, quantity, payload FROM ledger WHERE kind = 'waste'"
    ).fetchone()
    assert row[:3] == ("nurse1", "pharm1", 0) and '"wasted":1' in row[3]


async def test_return_into_the_bin(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    ticket = await world.cab.start_return("PARA500", 2)
    assert (ticket.drawer, ticket.pocket) == (2, 0)
    await world.cab.confirm()
    await world.open_take_close(2, puts={0: 2})
    assert world.stock(2, 0) == 2 and world.stock(0, 0) == 20
    assert world.kinds()[-1] == "return"


async def test_restock_with_a_good_pack(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_restock(0, 0)
    pack = decode("]d2" + "0103400935955838" + "17280131" + "10LOT-NEW\x1d" + "21SER9")
    await world.cab.scan_pack(pack, 10)
    await world.cab.confirm()
    await world.open_take_close(0, puts={0: 10})
    assert world.stock(0, 0) == 30
    lots = dict(
        world.store.conn.execute(
            "SELECT lot, quantity FROM lots WHERE drawer = 0 AND pocket = 0"
        ).fetchall()
    )
    assert lots == {"L-PARA-1": 20, "LOT-NEW": 10}


async def test_blind_inventory_count(world: World) -> None:
    await world.sign_in("tech1")
    ticket = await world.cab.start_count(0, 2)
    assert ticket.quantity == 0  # the recorded stock is never shown
    await world.cab.confirm()
    await world.open_take_close(0)
    assert world.cab.ticket() is not None and world.cab.ticket().step == "awaiting_entry"
    await world.cab.enter_count(10)
    assert world.cab.ticket() is None and world.kinds()[-1] == "count"


async def test_cancel_before_and_after_release(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    await world.cab.start_dispense("O-PARA")
    await world.cab.cancel()
    assert world.cab.ticket() is None and world.metal.board.releases == []
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.cab.cancel()
    assert world.cab.ticket() is None and world.kinds()[-1] == "cancelled"
    assert world.stock(0, 0) == 20


@pytest.mark.parametrize("world", ["fake"], indirect=True)  # on the sim: test_timers_on_sim
async def test_unused_release_is_closed_by_weight(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    await world.cab.start_dispense("O-PARA")
    await world.cab.confirm()
    await world.advance(31, step=1.0)
    await world.until(lambda: world.cab.ticket() is None)
    assert world.kinds()[-1] == "cancelled"


@pytest.mark.parametrize("world", ["fake"], indirect=True)  # on the sim: test_timers_on_sim
async def test_inactivity_signs_out(world: World) -> None:
    await world.sign_in("nurse1")
    await world.advance(59, step=1.0)
    assert world.cab.session() is not None
    await world.advance(2, step=1.0)
    await world.until(lambda: world.cab.session() is None)
    assert world.kinds()[-1] == "sign_out"


async def test_missed_dose_raises_one_omission(world: World) -> None:
    events = world.cab.subscribe()
    world.clock.advance(2 * 3600)  # the 08:00 paracetamol window ended at 09:00
    await world.cab.tick()
    await world.cab.tick()
    assert world.kinds().count("omission") == 1
    alerts = []
    while not events.empty():
        event = events.get_nowait()
        if isinstance(event, OmissionAlert):
            alerts.append(event)
    assert [(a.patient_id, a.order_id) for a in alerts] == [("IPP001", "O-PARA")]


async def test_restock_counted_by_the_weight(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_restock(0, 2)
    pack = decode("]d2" + "0103400930000014" + "17280131" + "10LOT-IBU\x1d" + "21SER4")
    await world.cab.scan_pack(pack)
    await world.cab.confirm()
    await world.open_take_close(0, puts={2: 7})
    assert world.stock(0, 2) == 17
    assert world.store.conn.execute(
        "SELECT quantity, lot FROM ledger WHERE kind = 'restock' ORDER BY seq DESC LIMIT 1"
    ).fetchone() == (7, "LOT-IBU")


@pytest.mark.parametrize("world", ["fake"], indirect=True)  # on the sim: test_timers_on_sim
async def test_abandoned_count_ends_with_the_session(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_count(0, 2)
    await world.cab.confirm()
    await world.open_take_close(0)
    assert world.cab.ticket().step == "awaiting_entry"
    await world.advance(61, step=1.0)
    await world.until(lambda: world.cab.ticket() is None and world.cab.session() is None)
    assert world.kinds()[-2:] == ["cancelled", "sign_out"]


async def test_restock_that_loads_nothing_is_cancelled(world: World) -> None:
    await world.sign_in("tech1")
    await world.cab.start_restock(0, 2)
    pack = decode("]d2" + "0103400930000014" + "17280131" + "10LOT-IBU\x1d" + "21SER5")
    await world.cab.scan_pack(pack)
    await world.cab.confirm()
    await world.open_take_close(0)
    assert world.stock(0, 2) == 10 and "restock" not in world.kinds()[7:]
    assert world.kinds()[-1] == "cancelled"
