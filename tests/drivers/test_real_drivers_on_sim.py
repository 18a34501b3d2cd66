"""The real drivers against `cabinet-sim hardware`: Modbus TCP, Modbus RTU on a pty, its scanner."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.barcode.reader import serial_reader
from drivers.build import ModbusHardware, ScaleSpec, from_config
from hal import DeviceDown, ProtocolError, ScanKind, TransientHardwareError, WeightReading

CONFIG = """
[[drawers]]
index = 0
pockets = 4

[[drawers]]
index = 1
pockets = 4

[[drawers]]
index = 2
pockets = 2
scale_profile = "hx711"
scale_unit = 40
"""
SPECS = [
    ScaleSpec(drawer=0, pockets=4),
    ScaleSpec(drawer=1, pockets=4),
    ScaleSpec(drawer=2, pockets=2, profile="hx711", unit=40),
]
SETTLE_S = 0.1


@dataclass
class Simulator:
    """A running simulator: its endpoints and a way to give it technician commands."""

    endpoints: dict[str, Any]

    async def command(self, line: str) -> Any:
        """Run one control-port command and return its result (failing the test if refused)."""
        control = self.endpoints["control"]
        reader, writer = await asyncio.open_connection(control["host"], control["port"])
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            reply = json.loads(await reader.readline())
        finally:
            writer.close()
        assert reply["ok"], reply
        return reply["result"]

    def hardware(self, *, retries: int = 0, down_after: int = 2) -> ModbusHardware:
        """The real drivers on the simulator's bus, impatient so that faults cost little time."""
        bus = self.endpoints["modbus"]
        if bus["transport"] == "tcp":
            return from_config(
                host=bus["host"],
                port=bus["port"],
                timeout_s=0.2,
                retries=retries,
                down_after=down_after,
                drawers=SPECS,
            )
        return from_config(
            transport="rtu",
            serial_port=bus["client_device"],
            baudrate=bus["baudrate"],
            timeout_s=0.2,
            retries=retries,
            down_after=down_after,
            drawers=SPECS,
        )


@contextmanager
def running_simulator(workdir: Path, transport: str, port: int = 0) -> Iterator[Simulator]:
    """`cabinet-sim hardware` as a subprocess, on a TCP port (0: a free one) or its own pty."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "cabinet.toml"
    config.write_text(CONFIG)
    ready = workdir / "ready.json"
    command = [sys.executable, "-m", "sim.cli", "hardware", "--config", str(config)]
    command += ["--modbus", transport, "--no-console", "--ready-file", str(ready)]
    command += ["--settle", str(SETTLE_S), "--noise", "1", "--seed", "7"]
    if transport == "tcp":
        command += ["--port", str(port)]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr else ""
                pytest.fail(f"simulator did not start: {err[-500:]}")
            time.sleep(0.05)
        yield Simulator(json.loads(ready.read_text()))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


@pytest.fixture(params=["tcp", "rtu"])
def simulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Simulator]:
    """A simulator for each transport."""
    with running_simulator(tmp_path, request.param) as sim:
        yield sim


@pytest.fixture
async def hardware(simulator: Simulator) -> AsyncIterator[ModbusHardware]:
    """The drivers on the simulator, closed after the test."""
    hw = simulator.hardware()
    try:
        yield hw
    finally:
        await hw.close()


async def settled(hw: ModbusHardware, drawer: int) -> tuple[WeightReading, ...]:
    """Read a drawer until every pocket is stable (the simulator settles like a real cell)."""
    deadline = time.monotonic() + 3
    while True:
        readings = await hw.scales[drawer].read_all()
        if all(r.stable for r in readings) or time.monotonic() > deadline:
            return readings
        await asyncio.sleep(SETTLE_S / 2)


async def test_release_open_take_close_relock(
    simulator: Simulator, hardware: ModbusHardware
) -> None:
    """A nurse's dispense as the metal sees it, read back through the drivers."""
    board = hardware.board
    await board.relock_all()
    status = await board.read_status()
    assert status.alive and not status.tamper
    assert status.closed == (True, True, True) and status.released == (False, False, False)
    assert status.bolt_engaged == (True, True, True)

    await simulator.command("load 1 2 10 250")
    before = await settled(hardware, 1)
    assert abs(before[2].centigrams - 2500) <= 5 and before[2].trustworthy

    await board.release(1, 5000)
    await simulator.command("open 1")
    status = await board.read_status()
    assert status.released[1] and not status.closed[1]

    await simulator.command("take 1 2 3")
    after = await settled(hardware, 1)
    assert abs(after[2].centigrams - 1750) <= 5
    assert round((before[2].centigrams - after[2].centigrams) / 250) == 3

    await simulator.command("close 1")
    await board.relock_all()
    status = await board.read_status()
    assert status.closed[1] and not any(status.released) and not status.tamper


async def test_forced_drawer_sets_tamper(simulator: Simulator, hardware: ModbusHardware) -> None:
    """A locked drawer pulled open shows as open with the tamper bit set."""
    await hardware.board.relock_all()
    await simulator.command("force 0")
    status = await hardware.board.read_status()
    assert status.tamper and not status.closed[0] and not status.released[0]


async def test_guide_light_and_tare(simulator: Simulator, hardware: ModbusHardware) -> None:
    """A guide light coil is written; a tare zeroes a loaded pocket of the cabinet profile."""
    await hardware.board.set_guide_light(1, 3, True)
    await hardware.board.set_guide_light(1, 3, False)
    await simulator.command("load 0 1 4 500")
    assert abs((await settled(hardware, 0))[1].centigrams - 2000) <= 5
    await hardware.scales[0].tare(1)
    assert abs((await settled(hardware, 0))[1].centigrams) <= 5


async def test_hx711_transmitters(simulator: Simulator, hardware: ModbusHardware) -> None:
    """The HX711-class profile: one unit per pocket, grams with decimals, stable bit 5 clear."""
    await simulator.command("load 2 1 3 1000")
    readings = await settled(hardware, 2)
    assert len(readings) == 2
    assert abs(readings[1].centigrams - 3000) <= 5 and readings[1].stable


async def test_dead_scale_goes_down_and_comes_back(
    simulator: Simulator, hardware: ModbusHardware
) -> None:
    """No answer: transient, then DeviceDown; healed: it answers and is up again."""
    await simulator.command("fault no-answer scale 0")
    with pytest.raises(TransientHardwareError):
        await hardware.scales[0].read_all()
    with pytest.raises(DeviceDown):
        await hardware.scales[0].read_all()
    assert (await hardware.board.read_status()).alive  # the rest of the bus still answers
    await simulator.command("clear")
    assert len(await hardware.scales[0].read_all()) == 4
    assert not hardware.link.is_down(10)


async def test_exception_answer_is_a_protocol_error(
    simulator: Simulator, hardware: ModbusHardware
) -> None:
    """A board answering with an exception is a protocol error, never a status."""
    await simulator.command("fault exception board 4")
    with pytest.raises(ProtocolError):
        await hardware.board.read_status()
    await simulator.command("clear")
    assert (await hardware.board.read_status()).alive


async def test_scanner_pty_of_the_simulator(simulator: Simulator) -> None:
    """Packs, badges, garbage and a merged lot from the simulator's scanner, in order."""
    scanner = simulator.endpoints["scanner"]
    reader = serial_reader(scanner["path"], inter_char_timeout_s=0.05)
    await reader.open()
    try:
        await simulator.command("scan-pack 03400933816759 B04059A 140500 SERIAL1")
        await simulator.command("fault scanner-garbage 24")
        await simulator.command("fault missing-gs 03400933816759 B04059A 140500 SERIAL1")
        await simulator.command("badge NURSE-0042")
        kinds = [(await asyncio.wait_for(reader.read(), 3)).kind]
        # Garbage may hold CR or LF bytes and so make several reads: read on to the badge.
        while kinds[-1] is not ScanKind.STAFF_BADGE:
            kinds.append((await asyncio.wait_for(reader.read(), 3)).kind)
    finally:
        await reader.close()
    assert kinds[0] is ScanKind.DRUG_PACK
    assert len(kinds) >= 4  # pack, at least one garbage read, the merged lot, the badge
    assert set(kinds[1:-1]) == {ScanKind.UNKNOWN}


async def test_slow_answer_is_dropped_and_never_misread(
    simulator: Simulator, hardware: ModbusHardware
) -> None:
    """A scale answering after the timeout: transient, and its late frame is never taken for
    the answer to the next request (on RTU, only timing tells answers apart)."""
    await simulator.command("load 0 0 2 1000")
    await settled(hardware, 0)
    await simulator.command("fault slow scale 0 300")
    with pytest.raises(TransientHardwareError):
        await hardware.scales[0].read_all()
    await simulator.command("clear")
    status = await hardware.board.read_status()
    assert status.alive and status.closed == (True, True, True)
    readings = await settled(hardware, 0)
    assert abs(readings[0].centigrams - 2000) <= 5


async def test_corrupt_crc_on_rtu(simulator: Simulator, hardware: ModbusHardware) -> None:
    """Over RTU, answers with a bad CRC are never decoded; healed, the next one is."""
    if simulator.endpoints["modbus"]["transport"] != "rtu":
        assert simulator.endpoints["modbus"]["transport"] == "tcp"  # TCP frames carry no CRC
        return
    await simulator.command("fault crc board")
    with pytest.raises(TransientHardwareError):
        await hardware.board.read_status()
    await simulator.command("clear")
    assert (await hardware.board.read_status()).alive


async def test_tcp_link_reconnects_when_the_board_comes_back(tmp_path: Path) -> None:
    """The Modbus TCP endpoint restarts: errors, then DeviceDown, then it simply works again."""
    with running_simulator(tmp_path / "first", "tcp") as first:
        hardware = first.hardware(down_after=2)
        port = first.endpoints["modbus"]["port"]
        assert (await hardware.board.read_status()).alive
    try:
        with pytest.raises(TransientHardwareError) as lost:
            await hardware.board.read_status()
        assert not isinstance(lost.value, DeviceDown)
        with pytest.raises(DeviceDown):
            await hardware.board.read_status()
        with running_simulator(tmp_path / "second", "tcp", port):
            assert (await hardware.board.read_status()).alive
            assert not hardware.link.is_down(1)
    finally:
        await hardware.close()
