"""Each order of the patient says which dose is due now and which were missed today."""

from __future__ import annotations

from tests.workflows.world import World


async def test_the_dose_due_now_comes_first(ward: World) -> None:
    await ward.sign_in("nurse1")
    orders = ward.cab.orders_for("IPP001")
    assert orders[0].order_id == "O-PARA"
    assert orders[0].due_at == "2026-11-30T08:00:00+00:00" and orders[0].overdue_at == ()
    others = {o.order_id: o for o in orders[1:]}
    # PRN orders are never due; an unverified order is not due yet.
    assert {o.due_at for o in others.values()} == {None}
    assert {o.overdue_at for o in others.values()} == {()}


async def test_a_missed_dose_is_overdue_and_goes_to_the_top(ward: World) -> None:
    ward.clock.advance(6.5 * 3600)  # 14:30: the 08:00 dose was never given
    await ward.sign_in("nurse1")
    para = ward.cab.orders_for("IPP001")[0]
    assert para.order_id == "O-PARA"
    assert para.overdue_at == ("2026-11-30T08:00:00+00:00",)
    assert para.due_at == "2026-11-30T14:00:00+00:00"
    row = next(p for p in ward.cab.patient_list() if p.patient_id == "IPP001")
    assert (row.due, row.overdue) == (1, 1), "the list and the orders agree"


async def test_a_dose_given_is_neither_due_nor_overdue(ward: World) -> None:
    await ward.sign_in("nurse1")
    await ward.cab.select_patient("IPP001")
    ticket = await ward.cab.start_dispense("O-PARA")
    await ward.cab.confirm()
    await ward.open_take_close(ticket.drawer or 0, takes={ticket.pocket or 0: 2})
    para = next(o for o in ward.cab.orders_for("IPP001") if o.order_id == "O-PARA")
    assert para.due_at is None and para.overdue_at == ()
