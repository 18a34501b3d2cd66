"""A nurse dispenses a scheduled dose: the right count from the right pocket commits."""

from __future__ import annotations

from tests.workflows.world import World, check_invariants


async def test_scheduled_dose_commits(world: World) -> None:
    await world.sign_in("nurse1")
    await world.cab.select_patient("IPP001")
    ticket = await world.cab.start_dispense("O-PARA")
    assert (ticket.drawer, ticket.pocket, ticket.quantity) == (0, 0, 2)
    await world.cab.confirm()
    await world.open_take_close(0, takes={0: 2})
    assert world.stock(0, 0) == 18
    assert "dispense" in world.kinds()
    check_invariants(world.store.conn)
