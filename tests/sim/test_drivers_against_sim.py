"""The real drivers against the simulator: board and scales over TCP and RTU, scanner on a pty."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.barcode.reader import StreamBarcodeReader
from drivers.build import ModbusHardware, ScaleSpec, from_config, scanner_from_config
from hal import (
    DrugPack,
    PatientWristband,
    ProtocolError,
    ScanKind,
    StaffBadge,
    TransientHardwareError,
    UnknownCode,
)
from tests.sim.simproc import SimProcess, running_sim

DEMO = [ScaleSpec(drawer=d, pockets=8) for d in range(6)] + [ScaleSpec(drawer=6, pockets=1)]


@dataclass
class Rig:
    """A running simulator and the real drivers wired to it."""

    sim: SimProcess
    hw: ModbusHardware
    transport: str


@pytest.fixture(params=["tcp", "rtu"])
def sim_for(request: pytest.FixtureRequest) -> tuple[SimProcess, str]:
    """The demo cabinet on Modbus TCP, or on RTU over one end of a socat pty pair, reset.

    Returns the simulator and where the drivers connect: "tcp" or the pair's host-side path.
    """
    if request.param == "tcp":
        sim: SimProcess = request.getfixturevalue("sim")
        return sim, "tcp"
    rtu_sim, host_side = request.getfixturevalue("shared_rtu_sim")
    rtu_sim.ok("reset")
    return rtu_sim, host_side


@pytest.fixture
async def rig(sim_for: tuple[SimProcess, str]) -> AsyncIterator[Rig]:
    """from_config() as the composition root builds it, pointed at the simulator."""
    sim, where = sim_for
    if where == "tcp":
        hw = from_config(transport="tcp", port=sim.modbus_port, drawers=DEMO, timeout_s=0.3)
    else:
        hw = from_config(transport="rtu", serial_port=where, drawers=DEMO, timeout_s=0.3)
    transport = "tcp" if where == "tcp" else "rtu"
    try:
        yield Rig(sim, hw, transport)
    finally:
        await hw.close()


async def settled() -> None:
    """Let the simulator's load cells settle (it runs with --settle 0.2)."""
    await asyncio.sleep(0.3)


async def test_the_board_reads_closed_locked_and_alive(rig: Rig) -> None:
    """After relock_all every drawer is closed, locked, bolted; the board is alive."""
    await rig.hw.board.relock_all()
    status = await rig.hw.board.read_status()
    assert status.alive and not status.tamper and status.firmware == 0x0103
    assert status.closed == (True,) * 7
    assert status.released == (False,) * 7
    assert status.bolt_engaged == (True,) * 7


async def test_a_release_lets_the_drawer_open_and_the_board_relocks(rig: Rig) -> None:
    """release() energises the lock; the drawer opens; the pulse ends by itself."""
    assert not rig.sim.send("open 2")["ok"]
    await rig.hw.board.release(2, 1500)
    status = await rig.hw.board.read_status()
    assert status.released[2] and not status.bolt_engaged[2]
    assert rig.sim.ok("open 2")["result"] == "opened"
    assert not (await rig.hw.board.read_status()).closed[2]
    await asyncio.sleep(1.6)
    status = await rig.hw.board.read_status()
    assert not status.released[2] and status.bolt_engaged[2]


async def test_a_forced_drawer_shows_tamper(rig: Rig) -> None:
    """A forced open is seen as tamper and an open drawer that was never released."""
    rig.sim.ok("force 5")
    status = await rig.hw.board.read_status()
    assert status.tamper and not status.closed[5] and not status.released[5]
    await rig.hw.board.relock_all()
    assert not (await rig.hw.board.read_status()).tamper


async def test_guide_lights_reach_the_simulator(rig: Rig) -> None:
    """set_guide_light() lights the pocket the simulator shows."""
    await rig.hw.board.set_guide_light(4, 7, True)
    assert rig.sim.drawer(4)["pockets"][7]["light"] is True


async def test_scales_read_weights_that_settle_after_a_take(rig: Rig) -> None:
    """Ten 2.50 g tablets read 2500 cg stable; a take is unstable until it settles at 2000."""
    rig.sim.ok("load 3 4 10 250")
    await settled()
    bank = rig.hw.scales[3]
    reading = (await bank.read_all())[4]
    assert reading.stable and abs(reading.centigrams - 2500) <= 1
    await rig.hw.board.release(3, 5000)
    rig.sim.ok("open 3")
    rig.sim.ok("settle 1.0")  # long enough to read the swing even on a loaded machine
    rig.sim.ok("take 3 4 2")
    assert not (await bank.read_all())[4].stable
    await asyncio.sleep(1.1)
    after = (await bank.read_all())[4]
    assert after.trustworthy and abs(after.centigrams - 2000) <= 1


async def test_tare_zeroes_a_pocket(rig: Rig) -> None:
    """tare() on the cabinet profile zeroes the pocket."""
    rig.sim.ok("load 1 0 5 700")
    await settled()
    await rig.hw.scales[1].tare(0)
    assert abs((await rig.hw.scales[1].read_all())[0].centigrams) <= 1


async def test_load_cell_faults_reach_the_readings(rig: Rig) -> None:
    """An unstable cell is never stable; a failed one carries the fault flag."""
    rig.sim.ok("load 0 0 4 100")
    rig.sim.ok("fault unstable 0 0")
    rig.sim.ok("fault cell-failed 0 1")
    await settled()
    readings = await rig.hw.scales[0].read_all()
    assert not readings[0].stable
    assert readings[1].fault and not readings[1].trustworthy


async def test_a_silent_scale_is_a_transient_error_then_recovers(rig: Rig) -> None:
    """no-answer raises a transient error for that scale only; after clear it reads again."""
    rig.sim.ok("fault no-answer scale 2")
    with pytest.raises(TransientHardwareError):
        await rig.hw.scales[2].read_all()
    assert (await rig.hw.board.read_status()).alive
    rig.sim.ok("clear")
    assert len(await rig.hw.scales[2].read_all()) == 8


async def test_an_exception_answer_is_a_protocol_error(rig: Rig) -> None:
    """A Modbus exception from the board is a ProtocolError, never a guess."""
    rig.sim.ok("fault exception board 4")
    with pytest.raises(ProtocolError):
        await rig.hw.board.read_status()


async def test_a_corrupt_crc_is_a_transient_error_on_rtu(rig: Rig) -> None:
    """On RTU a spoiled CRC is dropped and the request fails as transient (TCP has no CRC)."""
    if rig.transport != "rtu":
        assert not rig.sim.send("fault crc board")["ok"]
        return
    rig.sim.ok("fault crc board")
    with pytest.raises(TransientHardwareError):
        await rig.hw.board.read_status()
    rig.sim.ok("clear")
    await asyncio.sleep(0.4)
    assert (await rig.hw.board.read_status()).alive


async def test_the_hx711_profile_reads_through_the_same_driver(tmp_path: Path) -> None:
    """A drawer of HX711-class transmitters reads the right grams with its stable bit."""
    config = tmp_path / "cabinet.toml"
    config.write_text(
        "[[drawers]]\nindex = 0\npockets = 2\n"
        "[[drawers]]\nindex = 1\npockets = 3\nscale_profile = 'hx711'\nscale_unit = 30\n"
    )
    with running_sim(tmp_path, "--config", str(config)) as sim:
        specs = [ScaleSpec(drawer=0, pockets=2), ScaleSpec(drawer=1, pockets=3, profile="hx711",
                                                         unit=30)]  # fmt: skip
        hw = from_config(transport="tcp", port=sim.modbus_port, drawers=specs, timeout_s=0.3)
        try:
            sim.ok("load 1 2 3 4400")
            await asyncio.sleep(0.3)
            readings = await hw.scales[1].read_all()
            assert readings[2].stable and abs(readings[2].centigrams - 13200) <= 1
            sim.ok("fault cell-failed 1 0")
            assert not (await hw.scales[1].read_all())[0].stable
        finally:
            await hw.close()


@pytest.fixture
async def reader(sim: SimProcess) -> AsyncIterator[StreamBarcodeReader]:
    """The real barcode reader on the simulator's scanner pty."""
    r = scanner_from_config(transport="serial", serial_port=sim.scanner_path)
    await r.open()
    try:
        yield r
    finally:
        await r.close()


async def next_scan(r: StreamBarcodeReader) -> object:
    """The next decoded read, bounded in time."""
    scan = await asyncio.wait_for(r.read(), 3.0)
    return scan.meaning


async def test_the_reader_decodes_packs_badges_and_wristbands(
    sim: SimProcess, reader: StreamBarcodeReader
) -> None:
    """A French pack (day 00 = month end), a badge and a wristband decode to their meanings."""
    sim.ok("scan-pack 3400933816759 B04059A 140500 SERIAL1")
    pack = await next_scan(reader)
    expected = DrugPack(
        gtin="03400933816759",
        cip13="3400933816759",
        expiry=dt.date(2014, 5, 31),
        lot="B04059A",
        serial="SERIAL1",
    )
    assert pack == expected
    sim.ok("badge NURSE-0042")
    assert await next_scan(reader) == StaffBadge(code="NURSE-0042")
    sim.ok("wristband 80012345")
    assert await next_scan(reader) == PatientWristband(patient_id="80012345")


async def test_the_reader_rejects_bad_reads_and_keeps_reading(
    sim: SimProcess, reader: StreamBarcodeReader
) -> None:
    """Garbage, a merged lot and an unterminated read are rejected or timed out; reading goes on."""
    sim.ok("fault scanner-garbage 20")
    assert isinstance(await next_scan(reader), UnknownCode)
    sim.ok("fault missing-gs 3400933816759 B04059A 140500 SERIAL1")
    assert isinstance(await next_scan(reader), UnknownCode)
    sim.ok("fault no-terminator P:80012345")
    assert await next_scan(reader) == PatientWristband(patient_id="80012345")
    sim.ok("badge TECH-7")
    scan = await asyncio.wait_for(reader.read(), 3.0)
    assert scan.kind is ScanKind.STAFF_BADGE


async def test_the_reader_reads_the_tcp_scanner(tmp_path: Path) -> None:
    """The same reader over the simulator's TCP scanner endpoint."""
    with running_sim(tmp_path, "--scanner", "tcp") as sim:
        ep = sim.endpoints["scanner"]
        r = scanner_from_config(transport="tcp", host=ep["host"], port=ep["port"])
        await r.open()
        try:
            await asyncio.sleep(0.1)
            sim.ok("badge PHARMA-01")
            assert await next_scan(r) == StaffBadge(code="PHARMA-01")
        finally:
            await r.close()
