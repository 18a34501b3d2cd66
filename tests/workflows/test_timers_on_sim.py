"""The workflow timers against `cabinet-sim hardware`, in real time with short settings.

The simulator's time is real (the drivers stamp its answers with the machine's monotonic
clock), so these take their timers down to seconds instead of driving a clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cabinet.workflows.core import Settings
from sim.hardware.client import RunningSimulator
from tests.workflows.world import World

SHORT = Settings(settle_timeout_s=5.0, release_expiry_s=2.0, inactivity_s=3.0)


@pytest.fixture
async def ward(ward_sim: RunningSimulator, tmp_path: Path) -> AsyncIterator[World]:
    """The ward on the simulator, through the real drivers, with timers of seconds."""
    ward_sim.ok("reset")
    w = World(tmp_path, sim=ward_sim, settings=SHORT)
    try:
        await w.start()
        yield w
    finally:
        await w.stop()


@pytest.mark.slow
async def test_unused_release_is_closed_by_weight(ward: World) -> None:
    await ward.sign_in("nurse1")
    await ward.cab.select_patient("IPP001")
    await ward.cab.start_dispense("O-PARA")
    await ward.cab.confirm()
    await ward.until(lambda: ward.metal.released(0))
    await ward.until(lambda: ward.cab.ticket() is None, within=15)
    assert ward.kinds()[-1] == "cancelled"
    assert ward.stock(0, 0) == 20
    await ward.until(lambda: not ward.metal.released(0))


@pytest.mark.slow
async def test_inactivity_signs_out(ward: World) -> None:
    await ward.sign_in("nurse1")
    await ward.advance(1.0)
    assert ward.cab.session() is not None
    await ward.until(lambda: ward.cab.session() is None, within=10)
    assert ward.kinds()[-1] == "sign_out"


@pytest.mark.slow
async def test_abandoned_count_ends_with_the_session(ward: World) -> None:
    await ward.sign_in("tech1")
    await ward.cab.start_count(0, 2)
    await ward.cab.confirm()
    await ward.open_take_close(0)
    assert ward.cab.ticket() is not None and ward.cab.ticket().step == "awaiting_entry"
    await ward.until(lambda: ward.cab.ticket() is None and ward.cab.session() is None, within=15)
    assert ward.kinds()[-2:] == ["cancelled", "sign_out"]
