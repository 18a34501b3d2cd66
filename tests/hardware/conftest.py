"""Fixtures: a driven clock, a fake cabinet with stocked pockets, and a coordinator over it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from cabinet.clock import DrivenClock
from cabinet.hardware import HardwareAlarm, HardwareCoordinator, HardwareEvent
from tests.fakes import FakeCabinet

AMPOULE_CG = 150  # one 2 ml ampoule weighs 1.50 g


@pytest.fixture
def clock() -> DrivenClock:
    """A clock that moves only when the test says so."""
    return DrivenClock()


@pytest.fixture
def cabinet(clock: DrivenClock) -> FakeCabinet:
    """Two drawers of four pockets; drawer 0 pocket 2 holds ten ampoules."""
    cab = FakeCabinet(clock, drawers={0: 4, 1: 4}, settle_s=0.5)
    for d in (0, 1):
        for p in range(4):
            cab.load(d, p, count=10, unit_cg=AMPOULE_CG + 10 * p, tare_cg=1_000)
    return cab


@pytest.fixture
def alarms() -> list[HardwareAlarm]:
    """Every alarm handed to the coordinator's callback."""
    return []


@pytest.fixture
async def coordinator(
    cabinet: FakeCabinet, clock: DrivenClock, alarms: list[HardwareAlarm]
) -> AsyncIterator[HardwareCoordinator]:
    """A started coordinator stepped by hand (no background polling)."""
    coord = HardwareCoordinator(
        cabinet.board,
        cabinet.scales,
        clock,
        lock_pulse_ms=5000,
        open_drawer_hz=25,
        idle_poll_s=1.0,
        settle_s=0.5,
        settle_timeout_s=3.0,
        down_after_failures=3,
        retry_interval_s=0,
        on_alarm=alarms.append,
        autopoll=False,
    )
    await coord.start()
    try:
        yield coord
    finally:
        await coord.stop()


async def step(coord: HardwareCoordinator, clock: DrivenClock, seconds: float = 0.04) -> None:
    """Advance the clock by one or more fast periods, polling after each."""
    period = coord.fast_period_s
    remaining = seconds
    while remaining > 1e-9:
        clock.advance(min(period, remaining))
        remaining -= period
        await coord.poll_once()
        await asyncio.sleep(0)  # let waiting tasks see the poll, as the real loop does


def drain(queue: asyncio.Queue[HardwareEvent]) -> list[HardwareEvent]:
    """Every event waiting in a subscription."""
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events
