"""Fixtures: a running hardware simulator on free ports, stopped after each test."""

from __future__ import annotations

import shutil
import subprocess
import time
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


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A null-modem pair of ptys made by socat, removed afterwards."""
    socat = shutil.which("socat")
    assert socat, "Debian's socat is required (make system-deps)"
    a, b = tmp_path / "sim-side", tmp_path / "host-side"
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
