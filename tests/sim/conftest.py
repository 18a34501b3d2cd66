"""Fixtures: a running hardware simulator on free ports, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from tests.sim.simproc import SimProcess, running_sim


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    """The default demo cabinet on Modbus TCP with a pty scanner."""
    with running_sim(tmp_path) as s:
        yield s


@pytest.fixture
def modbus(sim: SimProcess) -> Iterator[ModbusTcpClient]:
    """A plain pymodbus TCP client connected to the simulator."""
    client = ModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=1, retries=0)
    assert client.connect()
    try:
        yield client
    finally:
        client.close()
