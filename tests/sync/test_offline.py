"""72 hours offline (driven clock): dispensing goes on from the cache, then the outbox drains."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from cabinet.clock import DrivenClock
from cabinet.errors import MovementRefused
from cabinet.store import Movement, MovementKind
from cabinet.sync import SyncService
from sim.central import catalog
from sim.central.credentials import FAST_COST
from tests.sync.conftest import CABINET_A, Cabinet, CentralHarness, cabinet_config, eventually

HOURS = 72


async def test_seventy_two_hours_offline_then_drain_in_order(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path,
    driven_clock: DrivenClock,
) -> None:  # fmt: skip
    """Orders cached before the outage stay usable; every movement is sent once, in order."""
    catalog.seed_demo(central.db, FAST_COST)
    cabinet = cabinet_factory(clock=driven_clock)
    central.db.register_cabinet(CABINET_A, cabinet.public_pem)
    await central.start()
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, driven_clock
    )
    await service.start()
    try:
        latest = central.db.latest_version()
        await eventually(lambda: service.state().applied_version == latest, 10, "the catalog")
        pockets = cabinet.store.conn.execute(
            "SELECT drawer, pocket, item_code FROM pockets WHERE item_code IS NOT NULL "
            "ORDER BY drawer, pocket LIMIT 6"
        ).fetchall()
        for drawer, pocket, _ in pockets:
            cabinet.store.move(
                Movement(kind=MovementKind.RESTOCK, drawer=drawer, pocket=pocket, delta=40,
                         actor="TEC-001", lot="L1", expiry="2028-06-30")
            )  # fmt: skip
        await eventually(lambda: cabinet.pending() == 0, 10, "the restocks to be sent")

        await central.stop()
        lost_at = driven_clock.now()
        await eventually(lambda: not service.state().online, 10, "the outage to be noticed")
        orders_before = cabinet.store.conn.execute(
            "SELECT id FROM orders WHERE status = 'active' AND verified_by IS NOT NULL"
        ).fetchall()
        sent_before = len(central.db.events(CABINET_A))
        for hour in range(HOURS):
            driven_clock.advance(3600)
            drawer, pocket, item = pockets[hour % len(pockets)]
            cabinet.store.move(
                Movement(kind=MovementKind.DISPENSE, drawer=drawer, pocket=pocket, delta=-1,
                         actor="IDE-001", patient_id="8001234567", item_code=item)
            )  # fmt: skip
            if hour % 24 == 0:  # the outbox never refuses to grow, nor do the stock rules relax
                with pytest.raises(MovementRefused):
                    cabinet.store.move(
                        Movement(kind=MovementKind.DISPENSE, drawer=drawer, pocket=pocket,
                                 delta=-1000, actor="IDE-001")
                    )  # fmt: skip
        state = service.state()
        assert not state.online and state.offline_since is not None
        assert state.offline_since <= lost_at + dt.timedelta(seconds=1)
        assert driven_clock.now() - state.offline_since >= dt.timedelta(hours=HOURS)
        assert cabinet.pending() == HOURS and state.outbox_depth == HOURS
        # The cache still serves: the orders are the same, still active and verified.
        assert (
            cabinet.store.conn.execute(
                "SELECT id FROM orders WHERE status = 'active' AND verified_by IS NOT NULL"
            ).fetchall()
            == orders_before
        )

        await central.start()
        await eventually(lambda: cabinet.pending() == 0, 20, "the outbox to drain")
        await eventually(lambda: service.state().online, 5, "the link to be back")
    finally:
        await service.stop()
    stored = central.db.events(CABINET_A)
    assert stored == cabinet.hashes()
    assert len(stored) == sent_before + HOURS
    assert service.state().offline_since is None and service.state().outbox_depth == 0
