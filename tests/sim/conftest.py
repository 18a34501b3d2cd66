"""Fixtures: simulators on free ports, shared per test module and reset before each test."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from tests.sim.simproc import SimProcess, running_sim


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    """One demo-cabinet simulator on Modbus TCP for a whole test module (starting one costs)."""
    with running_sim(tmp_path_factory.mktemp("sim")) as s:
        yield s


@pytest.fixture
def sim(shared_sim: SimProcess) -> SimProcess:
    """The shared simulator, reset to power-on: closed, locked, empty, no fault."""
    shared_sim.ok("reset")
    return shared_sim


@pytest.fixture
def modbus(sim: SimProcess) -> Iterator[ModbusTcpClient]:
    """A plain pymodbus TCP client connected to the simulator."""
    client = ModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=1, retries=0)
    assert client.connect()
    try:
        yield client
    finally:
        client.close()


def socat_pair(directory: Path) -> Iterator[tuple[str, str]]:
    """A null-modem pair of ptys made by socat: (simulator side, host side)."""
    socat = shutil.which("socat")
    assert socat, "Debian's socat is required (make system-deps)"
    a, b = directory / "sim-side", directory / "host-side"
    proc = subprocess.Popen(
        [socat, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()):
            assert time.monotonic() < deadline, "socat did not create the pty pair"
            time.sleep(0.02)
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A socat pty pair for one test."""
    yield from socat_pair(tmp_path)


@pytest.fixture(scope="module")
def shared_rtu_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimProcess, str]]:
    """One simulator on Modbus RTU over a socat pair for a module; yields it and the host side."""
    directory = tmp_path_factory.mktemp("rtu")
    for sim_side, host_side in socat_pair(directory):
        with running_sim(directory, "--modbus", "rtu", "--serial", sim_side) as s:
            yield s, host_side
