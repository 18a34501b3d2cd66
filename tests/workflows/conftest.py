"""Fixtures of the workflow tests: a started ward on the fakes or on the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sim.hardware.client import RunningSimulator, simulator
from tests.workflows.simmetal import SIM_CONFIG
from tests.workflows.world import World


@pytest.fixture(scope="module")
def ward_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """One `cabinet-sim hardware` process with the ward's layout, for a whole module."""
    folder = tmp_path_factory.mktemp("ward-sim")
    config = folder / "ward.toml"
    config.write_text(SIM_CONFIG)
    with simulator(folder, "--config", str(config)) as sim:
        yield sim


@pytest.fixture(params=["fake", pytest.param("sim", marks=pytest.mark.slow)])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """A started ward with nobody signed in: hal fakes, or the simulator via the drivers."""
    sim: RunningSimulator | None = None
    if request.param == "sim":
        sim = request.getfixturevalue("ward_sim")
        sim.ok("reset")
    w = World(tmp_path, sim=sim)
    try:
        await w.start()
        yield w
    finally:
        await w.stop()


@pytest.fixture
async def ward(tmp_path: Path) -> AsyncIterator[World]:
    """A started ward on the fakes only, nobody signed in (the clock is driven: times exact)."""
    w = World(tmp_path)
    try:
        await w.start()
        yield w
    finally:
        await w.stop()
