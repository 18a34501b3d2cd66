"""The coordinator over the real Modbus drivers against `cabinet-sim hardware`, TCP and RTU."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest

from cabinet.clock import SystemClock
from cabinet.config import Config, DrawerSection, HardwareSection, ScannerSection
from cabinet.hardware import (
    AlarmCode,
    DeviceBack,
    DrawerClosed,
    DrawerForced,
    DrawerOpened,
    HardwareAlarm,
    HardwareCoordinator,
    HardwareEvent,
    RefusalCode,
    ReleaseRefused,
    WeightSettled,
)
from cabinet.service import Service
from cabinet.store import Store
from cabinet.wiring import Context, build_hardware

SIM = [sys.executable, "-m", "sim.cli"]
AMPOULE_CG = 150
BOARD_UNIT = 1
RELEASE_BASE = 0x0100


@pytest.fixture(scope="module", params=["tcp", "rtu"])
def simulator(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A running hardware simulator with two drawers of four pockets, over Modbus TCP or
    Modbus RTU on a pty pair; its endpoints."""
    tmp_path = tmp_path_factory.mktemp("sim")
    layout = tmp_path / "cabinet.toml"
    layout.write_text(
        "[[drawers]]\nindex = 0\npockets = 4\n\n[[drawers]]\nindex = 1\npockets = 4\n",
        encoding="utf-8",
    )
    ready = tmp_path / "ready.json"
    args = ["hardware", "--config", str(layout), "--port", "0", "--no-console"]
    args += ["--scanner", "tcp", "--settle", "0.2", "--noise", "1", "--seed", "7"]
    args += ["--ready-file", str(ready), "--modbus", request.param]
    log = (tmp_path / "sim.log").open("w")
    proc = subprocess.Popen([*SIM, *args], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start: {(tmp_path / 'sim.log').read_text()}")
            time.sleep(0.05)
        yield json.loads(ready.read_text(encoding="utf-8"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class Control:
    """The simulator's control port: one command per line, one JSON reply per line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def __call__(self, command: str) -> Any:
        """Run a command; fail the test if the simulator refuses it."""
        reply = await self.attempt(command)
        assert reply["ok"], reply
        return reply["result"]

    async def attempt(self, command: str) -> dict[str, Any]:
        """Run a command that the simulator may refuse; its whole reply."""
        self._writer.write(command.encode() + b"\n")
        await self._writer.drain()
        reply: dict[str, Any] = json.loads(await self._reader.readline())
        return reply

    async def releases_since(self, seq: int) -> list[dict[str, Any]]:
        """Lock releases that reached the board after a wire sequence number."""
        writes = await self("events " + str(seq))
        return [
            w
            for w in writes
            if w["unit"] == BOARD_UNIT
            and RELEASE_BASE <= w["address"] < RELEASE_BASE + 32
            and w["values"][0] > 0
        ]

    async def last_seq(self) -> int:
        """The sequence number of the last write seen on the wire."""
        writes = await self("events 0")
        return int(writes[-1]["seq"]) if writes else 0


@pytest.fixture
async def control(simulator: dict[str, Any]) -> AsyncIterator[Control]:
    """A connection to the simulator's control port."""
    reader, writer = await asyncio.open_connection(
        simulator["control"]["host"], simulator["control"]["port"]
    )
    try:
        yield Control(reader, writer)
    finally:
        writer.close()


@pytest.fixture
async def hardware(
    simulator: dict[str, Any], control: Control
) -> AsyncIterator[tuple[HardwareCoordinator, Service]]:
    """The daemon's own hardware part, built by the composition root, started."""
    # The simulator is shared by the module: start every test from a healed, shut cabinet.
    await control("clear")
    for drawer in (0, 1):
        await control.attempt(f"close {drawer}")
    await control("relock")
    for pocket in range(4):
        await control(f"load 0 {pocket} 10 {AMPOULE_CG + 10 * pocket}")
    modbus = simulator["modbus"]
    config = Config(
        drawers=(DrawerSection(index=0, pockets=4), DrawerSection(index=1, pockets=4)),
        hardware=HardwareSection(
            transport=modbus["transport"],
            host=modbus.get("host", "127.0.0.1"),
            port=modbus.get("port", 5020),
            serial_port=modbus.get("client_device", "/dev/null"),
            baudrate=modbus.get("baudrate", 115200),
            timeout_s=0.15,
            retries=0,
            down_after_failures=2,
            lock_pulse_ms=3000,
            idle_poll_s=0.2,
            settle_s=0.2,
        ),
        scanner=ScannerSection(transport="none"),
    )
    # The hardware part never touches the store.
    ctx = Context(config=config, store=cast(Store, None), clock=SystemClock())
    service = build_hardware(ctx)
    coordinator = ctx.parts["coordinator"]
    assert isinstance(coordinator, HardwareCoordinator)
    await service.start()
    try:
        await wait_for(lambda: coordinator.snapshot().healthy, "a healthy cabinet")
        yield coordinator, service
    finally:
        await service.stop()


async def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    """Wait (in real time) until a condition holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def next_event(
    queue: asyncio.Queue[HardwareEvent],
    match: Callable[[HardwareEvent], bool],
    what: str,
    timeout_s: float = 5.0,
) -> HardwareEvent:
    """The first event that matches, within a few seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {what} event")
        try:
            event = await asyncio.wait_for(queue.get(), remaining)
        except TimeoutError:
            raise AssertionError(f"no {what} event") from None
        if match(event):
            return event


def alarm(code: AlarmCode, *, cleared: bool = False) -> Callable[[HardwareEvent], bool]:
    """Matches an alarm event of that code."""
    return lambda e: isinstance(e, HardwareAlarm) and e.code is code and e.cleared is cleared


async def test_dispense_then_fault_then_recovery_over_modbus(
    hardware: tuple[HardwareCoordinator, Service], control: Control
) -> None:
    """Release, open, take two, close, settled delta; a dead board: no release, alarm; back."""
    coord, service = hardware
    assert service.making_progress()
    events = coord.subscribe()

    # A dispense of two ampoules from drawer 0 pocket 2, from settled weights.
    before = await coord.settled_weights(0, timeout_s=3)
    assert abs(before[2] - 10 * (AMPOULE_CG + 20)) <= 2
    await coord.release(0, reason="dispense 1")
    await wait_for(lambda: coord.snapshot().drawers[0].released, "the lock mirror")
    await control("open 0")
    await next_event(events, lambda e: isinstance(e, DrawerOpened) and e.drawer == 0, "opened")
    await control("take 0 2 2")
    await control("close 0")
    await next_event(events, lambda e: isinstance(e, DrawerClosed) and e.drawer == 0, "closed")
    settled = await next_event(events, lambda e: isinstance(e, WeightSettled), "settled")
    assert isinstance(settled, WeightSettled)
    assert list(settled.deltas) == [2]
    assert abs(settled.deltas[2] + 2 * (AMPOULE_CG + 20)) <= 4  # ± the simulator's noise

    # The board stops answering: no release reaches the wire, an alarm is raised.
    await control("relock")
    seq = await control.last_seq()
    await control("fault no-answer board")
    await next_event(events, alarm(AlarmCode.DEVICE_DOWN), "device down alarm")
    with pytest.raises(ReleaseRefused) as refused:
        await coord.release(0, reason="dispense during the fault")
    assert refused.value.code is RefusalCode.BOARD_UNAVAILABLE
    assert await control.releases_since(seq) == []

    # Healed: the coordinator comes back by itself and releases again.
    await control("clear")
    await next_event(events, lambda e: isinstance(e, DeviceBack), "device back")
    await wait_for(lambda: coord.snapshot().healthy, "recovery")
    await coord.settled_weights(0, 3)  # as a workflow does before every release
    await coord.release(0, reason="dispense after recovery")
    assert [w["address"] for w in await control.releases_since(seq)] == [RELEASE_BASE]


async def test_scale_nonsense_and_forced_drawer_over_modbus(
    hardware: tuple[HardwareCoordinator, Service], control: Control
) -> None:
    """A scale answering exceptions blocks its drawer; a forced drawer is tamper at once."""
    coord, _ = hardware
    events = coord.subscribe()
    seq = await control.last_seq()
    await control("fault exception scale 0")
    # The driver may already count the exceptions as a dead unit: either alarm will do.
    await next_event(
        events,
        lambda e: (
            isinstance(e, HardwareAlarm)
            and e.subject == "scale0"
            and e.code in (AlarmCode.PROTOCOL_ERROR, AlarmCode.DEVICE_DOWN)
        ),
        "scale alarm",
    )
    with pytest.raises(ReleaseRefused) as refused:
        await coord.release(0, reason="dispense during the fault")
    assert refused.value.code is RefusalCode.SCALE_UNAVAILABLE
    await control("clear")
    await wait_for(lambda: coord.snapshot().healthy, "recovery")
    await coord.settled_weights(0, timeout_s=3)
    coord.check_release(0)  # would be allowed again

    await control("force 1")
    forced = await next_event(events, lambda e: isinstance(e, DrawerForced), "forced")
    assert isinstance(forced, DrawerForced) and forced.drawer == 1
    # The board's tamper latch is read with the sensor edge, or by the next poll when the
    # drawer moved between the two reads of one status.
    await wait_for(
        lambda: AlarmCode.TAMPER in {a.code for a in coord.snapshot().alarms}, "tamper", 0.5
    )
    with pytest.raises(ReleaseRefused):
        await coord.release(0, reason="while tampered")
    assert await control.releases_since(seq) == []
    await control("close 1")
    await coord.acknowledge_tamper()
    await wait_for(lambda: coord.snapshot().healthy, "tamper acknowledged")


def releasable(coord: HardwareCoordinator, drawer: int) -> bool:
    """True when a release of the drawer would be written now."""
    try:
        coord.check_release(drawer)
    except ReleaseRefused:
        return False
    return True


SIM_FAULTS = [
    ("fault exception board", {AlarmCode.PROTOCOL_ERROR, AlarmCode.DEVICE_DOWN},
     RefusalCode.BOARD_UNAVAILABLE),
    ("fault slow board 1000", {AlarmCode.DEVICE_DOWN}, RefusalCode.BOARD_UNAVAILABLE),
    ("fault reboot 1.5", {AlarmCode.BOARD_NOT_ALIVE}, RefusalCode.BOARD_NOT_ALIVE),
    ("fault power", {AlarmCode.POWER_FAULT}, RefusalCode.POWER_FAULT),
    ("fault no-answer scale 0", {AlarmCode.DEVICE_DOWN}, RefusalCode.SCALE_UNAVAILABLE),
    ("fault cell-failed 0 2", {AlarmCode.CELL_FAULT}, RefusalCode.WEIGHTS_UNTRUSTWORTHY),
    ("fault unstable 0 1", {AlarmCode.CELL_UNSTABLE}, RefusalCode.WEIGHTS_UNTRUSTWORTHY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "alarms", "refusal"), SIM_FAULTS, ids=[f[0] for f in SIM_FAULTS]
)
async def test_simulator_fault_fails_closed_then_recovers(
    hardware: tuple[HardwareCoordinator, Service],
    control: Control,
    command: str,
    alarms: set[AlarmCode],
    refusal: RefusalCode,
) -> None:
    """Each fault of the technician's console: alarm, refusal, nothing on the wire; healed."""
    coord, _ = hardware
    events = coord.subscribe()
    seq = await control.last_seq()
    await control(command)
    await next_event(
        events, lambda e: isinstance(e, HardwareAlarm) and e.code in alarms, "alarm", 6.0
    )
    with pytest.raises(ReleaseRefused) as refused:
        await coord.release(0, reason="dispense during the fault")
    assert refused.value.code is refusal
    assert await control.releases_since(seq) == []
    await control("clear")
    await wait_for(lambda: coord.snapshot().healthy, "recovery", 10.0)
    await wait_for(lambda: releasable(coord, 0), "a release allowed again")


async def test_stuck_lock_is_alarmed_and_cleared_by_a_good_release(
    hardware: tuple[HardwareCoordinator, Service], control: Control
) -> None:
    """The bolt stays out although the coil is energised: an alarm; healed, the next clears it."""
    coord, _ = hardware
    events = coord.subscribe()
    await control("fault stuck-lock 0")
    await coord.settled_weights(0, 3)
    await coord.release(0, reason="dispense 1")
    refused = await control.attempt("open 0")
    assert not refused["ok"] and "stuck" in refused["error"]
    await next_event(events, alarm(AlarmCode.LOCK_DID_NOT_RELEASE), "stuck lock alarm")
    await control("clear")
    await control("relock")
    await wait_for(lambda: releasable(coord, 0), "a release allowed again")
    await coord.release(0, reason="dispense 1, again")
    await next_event(events, alarm(AlarmCode.LOCK_DID_NOT_RELEASE, cleared=True), "cleared")


@pytest.mark.parametrize("simulator", ["rtu"], indirect=True)
async def test_corrupt_crc_on_rtu_fails_closed_then_recovers(
    hardware: tuple[HardwareCoordinator, Service], control: Control
) -> None:
    """Answers with a bad CRC are dropped: the board goes down, nothing is released; healed."""
    coord, _ = hardware
    events = coord.subscribe()
    seq = await control.last_seq()
    await control("fault crc board")
    await next_event(events, alarm(AlarmCode.DEVICE_DOWN), "device down alarm")
    with pytest.raises(ReleaseRefused) as refused:
        await coord.release(0, reason="dispense during the fault")
    assert refused.value.code is RefusalCode.BOARD_UNAVAILABLE
    assert await control.releases_since(seq) == []
    await control("clear")
    await wait_for(lambda: coord.snapshot().healthy, "recovery", 10.0)
    await wait_for(lambda: releasable(coord, 0), "a release allowed again")


async def test_drifting_cell_in_a_shut_drawer_is_reported(
    hardware: tuple[HardwareCoordinator, Service], control: Control
) -> None:
    """A cell that creeps while claiming stable: the shut drawer's settled change is reported."""
    coord, _ = hardware
    events = coord.subscribe()
    await control("fault drift 1 3 100")  # +1 g a second
    event = await next_event(
        events, lambda e: isinstance(e, WeightSettled) and e.drawer == 1, "settled change"
    )
    assert isinstance(event, WeightSettled)
    assert list(event.deltas) == [3] and event.deltas[3] > 0
