"""A nurse's dispense as the coordinator sees it: release, open, take, close, settle."""

from __future__ import annotations

import pytest

from cabinet.clock import DrivenClock
from cabinet.hardware import (
    DrawerClosed,
    DrawerOpened,
    HardwareCoordinator,
    RefusalCode,
    ReleaseRefused,
    WeightSettled,
)
from tests.fakes import DrawerStillLocked, FakeCabinet
from tests.hardware.conftest import AMPOULE_CG, drain, step


async def test_start_relocks_and_reads_everything(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet
) -> None:
    """At start every lock is relocked and every pocket has a stable reading."""
    assert cabinet.board.writes[0] == ("relock_all", -1, 0)
    snap = coordinator.snapshot()
    assert snap.healthy
    assert snap.drawers[0].closed is True
    assert snap.drawers[0].settled[2] == 1_000 + 10 * (AMPOULE_CG + 20)


async def test_dispense_two_ampoules(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """Release, open, take two, close: one settled event with the pocket's delta."""
    events = coordinator.subscribe()
    with pytest.raises(DrawerStillLocked):
        cabinet.open(0)
    await coordinator.release(0, reason="dispense 1")
    assert cabinet.board.releases == [(0, 5000)]
    cabinet.open(0)
    await step(coordinator, clock)
    assert [type(e) for e in drain(events)] == [DrawerOpened]
    cabinet.take(0, 2, 2)
    await step(coordinator, clock, 1.0)
    cabinet.close(0)
    await step(coordinator, clock)
    assert [type(e) for e in drain(events)] == [DrawerClosed]
    await step(coordinator, clock, 0.6)
    settled = drain(events)
    assert len(settled) == 1 and isinstance(settled[0], WeightSettled)
    assert dict(settled[0].deltas) == {2: -2 * (AMPOULE_CG + 20)}
    assert settled[0].weights[2] == 1_000 + 8 * (AMPOULE_CG + 20)


async def test_one_drawer_at_a_time(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """While drawer 0 is released, drawer 1 is refused and nothing is written for it."""
    await coordinator.release(0, reason="dispense 1")
    with pytest.raises(ReleaseRefused) as refused:
        await coordinator.release(1, reason="dispense 2")
    assert refused.value.code is RefusalCode.ANOTHER_DRAWER_OPEN
    assert cabinet.board.releases == [(0, 5000)]


async def test_unknown_drawer_is_refused(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet
) -> None:
    """A drawer the cabinet does not have is refused with its own code."""
    with pytest.raises(ReleaseRefused) as refused:
        await coordinator.release(7, reason="typo")
    assert refused.value.code is RefusalCode.UNKNOWN_DRAWER
    assert cabinet.board.releases == []
