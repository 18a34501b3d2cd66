"""Fail closed: under every injected fault no release is written and an alarm is raised;
once the fault clears the coordinator recovers by itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cabinet.clock import DrivenClock
from cabinet.hardware import (
    AlarmCode,
    DeviceBack,
    DeviceDownEvent,
    DrawerForced,
    HardwareAlarm,
    HardwareCoordinator,
    RefusalCode,
    ReleaseRefused,
)
from tests.fakes import FakeCabinet
from tests.hardware.conftest import drain, step


@dataclass(frozen=True)
class Fault:
    """One way the metal misbehaves, what it must raise and what a release gets."""

    name: str
    inject: Callable[[FakeCabinet], None]
    alarm: AlarmCode
    refusal: RefusalCode
    seconds: float = 0.2  # how long the fault runs before a release is tried


FAULTS = [
    Fault(
        "board timeouts",
        lambda c: c.fail_board("timeout"),
        AlarmCode.DEVICE_DOWN,
        RefusalCode.BOARD_UNAVAILABLE,
    ),
    Fault(
        "board down",
        lambda c: c.fail_board("down"),
        AlarmCode.DEVICE_DOWN,
        RefusalCode.BOARD_UNAVAILABLE,
    ),
    Fault(
        "board nonsense",
        lambda c: c.fail_board("nonsense"),
        AlarmCode.PROTOCOL_ERROR,
        RefusalCode.BOARD_UNAVAILABLE,
    ),
    Fault(
        "board stale answers",
        lambda c: c.fail_board("stale"),
        AlarmCode.STALE_ANSWER,
        RefusalCode.BOARD_UNAVAILABLE,
    ),
    Fault(
        "board reboot",
        lambda c: c.reboot_board(0.5),
        AlarmCode.BOARD_NOT_ALIVE,
        RefusalCode.BOARD_NOT_ALIVE,
        seconds=0.1,
    ),
    Fault(
        "power fault",
        lambda c: setattr(c, "power_fault", True),
        AlarmCode.POWER_FAULT,
        RefusalCode.POWER_FAULT,
    ),
    Fault(
        "scale down",
        lambda c: c.fail_scale(0, "down"),
        AlarmCode.DEVICE_DOWN,
        RefusalCode.SCALE_UNAVAILABLE,
        seconds=1.1,
    ),
    Fault(
        "scale nonsense",
        lambda c: c.fail_scale(0, "nonsense"),
        AlarmCode.PROTOCOL_ERROR,
        RefusalCode.SCALE_UNAVAILABLE,
        seconds=1.1,
    ),
    Fault(
        "scale stale answers",
        lambda c: c.fail_scale(0, "stale"),
        AlarmCode.STALE_ANSWER,
        RefusalCode.SCALE_UNAVAILABLE,
        seconds=1.1,
    ),
    Fault(
        "failed cell",
        lambda c: c.fail_cell(0, 3),
        AlarmCode.CELL_FAULT,
        RefusalCode.WEIGHTS_UNTRUSTWORTHY,
        seconds=1.1,
    ),
    Fault(
        "overloaded cell",
        lambda c: c.overload_cell(0, 1),
        AlarmCode.CELL_OVERLOAD,
        RefusalCode.WEIGHTS_UNTRUSTWORTHY,
        seconds=1.1,
    ),
    Fault(
        "unstable cell",
        lambda c: c.unstable_cell(0, 0),
        AlarmCode.CELL_UNSTABLE,
        RefusalCode.WEIGHTS_UNTRUSTWORTHY,
        seconds=4.5,
    ),
    Fault(
        "stuck released lock",
        lambda c: c.stick_lock(1, released=True),
        AlarmCode.LOCK_STUCK_RELEASED,
        RefusalCode.LOCK_FAULT,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_fault_means_no_release_and_an_alarm_then_recovery(
    fault: Fault,
    coordinator: HardwareCoordinator,
    cabinet: FakeCabinet,
    clock: DrivenClock,
    alarms: list[HardwareAlarm],
) -> None:
    """Inject, try a release, clear, and see the very same release go through."""
    events = coordinator.subscribe()
    fault.inject(cabinet)
    await step(coordinator, clock, fault.seconds)
    with pytest.raises(ReleaseRefused) as refused:
        await coordinator.release(0, reason="dispense during a fault")
    assert refused.value.code is fault.refusal
    assert cabinet.board.releases == []
    raised = [a for a in drain(events) if isinstance(a, HardwareAlarm) and not a.cleared]
    assert fault.alarm in {a.code for a in raised}
    assert fault.alarm in {a.code for a in alarms if not a.cleared}
    assert not coordinator.snapshot().healthy

    cabinet.clear()
    await step(coordinator, clock, 1.2)
    snap = coordinator.snapshot()
    assert snap.alarms == (), snap.alarms
    assert all(d.available for d in snap.devices.values())
    await coordinator.release(0, reason="dispense after recovery")
    assert cabinet.board.releases == [(0, 5000)]


async def test_device_down_and_back_events(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """Three failed polls mark the board down once; its first good answer brings it back."""
    events = coordinator.subscribe()
    cabinet.fail_board("timeout")
    await step(coordinator, clock, 0.04 * 2)
    assert not [e for e in drain(events) if isinstance(e, DeviceDownEvent)]
    await step(coordinator, clock, 0.04 * 3)
    downs = [e for e in drain(events) if isinstance(e, DeviceDownEvent)]
    assert [d.device for d in downs] == ["board"]
    cabinet.clear()
    writes = len(cabinet.board.writes)
    await step(coordinator, clock)
    assert [e.device for e in drain(events) if isinstance(e, DeviceBack)] == ["board"]
    assert cabinet.board.writes[writes:] == [("relock_all", -1, 0)]


async def test_forced_drawer_is_reported_within_one_poll(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A locked drawer pulled open: DrawerForced and tamper alarms after the very next poll."""
    events = coordinator.subscribe()
    cabinet.force(1)
    await coordinator.poll_once()
    got = drain(events)
    assert any(isinstance(e, DrawerForced) and e.drawer == 1 for e in got)
    codes = {e.code for e in got if isinstance(e, HardwareAlarm)}
    assert codes == {AlarmCode.TAMPER, AlarmCode.DRAWER_FORCED}
    with pytest.raises(ReleaseRefused) as refused:
        await coordinator.release(0, reason="while tampered")
    assert refused.value.code is RefusalCode.TAMPER
    # Shut again: the drawer alarm clears, the board's latch stays until acknowledged.
    cabinet.close(1)
    await step(coordinator, clock, 1.0)
    assert {a.code for a in coordinator.snapshot().alarms} == {AlarmCode.TAMPER}
    await coordinator.acknowledge_tamper()
    await step(coordinator, clock)
    assert coordinator.snapshot().alarms == ()
    await coordinator.release(0, reason="after the technician's check")
    assert cabinet.board.releases == [(0, 5000)]


async def test_lock_that_never_energises_is_an_alarm(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A release written but never seen energised raises an alarm; a working one clears it."""
    cabinet.stick_lock(0, released=False)
    await coordinator.release(0, reason="dispense 1")
    await step(coordinator, clock, 1.0)
    assert AlarmCode.LOCK_DID_NOT_RELEASE in {a.code for a in coordinator.snapshot().alarms}
    cabinet.clear()
    await step(coordinator, clock, 5.0)
    await coordinator.release(0, reason="dispense 1, again")
    await step(coordinator, clock)
    assert coordinator.snapshot().alarms == ()


async def test_latched_coordinator_writes_nothing(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """Degraded mode: every release refused, an alarm recorded, every lock relocked."""
    coordinator.lock_down("ledger chain broken at 17")
    await step(coordinator, clock)
    with pytest.raises(ReleaseRefused) as refused:
        await coordinator.release(0, reason="dispense")
    assert refused.value.code is RefusalCode.LOCKED_DOWN
    assert cabinet.board.releases == []
    assert cabinet.board.writes[-1] == ("relock_all", -1, 0)
    assert [a.code for a in coordinator.snapshot().alarms] == [AlarmCode.LOCKED_DOWN]


async def test_release_write_failure_relocks_and_refuses(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A board that dies between the checks and the write: refused, nothing left released."""
    cabinet.fail_board("timeout")
    with pytest.raises(ReleaseRefused) as refused:
        await coordinator.release(0, reason="dispense")
    assert refused.value.code is RefusalCode.WRITE_FAILED
    assert cabinet.board.releases == []


async def test_board_back_mid_pulse_is_relocked_without_a_false_alarm(
    coordinator: HardwareCoordinator,
    cabinet: FakeCabinet,
    clock: DrivenClock,
    alarms: list[HardwareAlarm],
) -> None:
    """Lost during a pulse: on its return the board is relocked, and that is no stuck lock."""
    await coordinator.release(0, reason="dispense 1")
    cabinet.fail_board("down")
    await step(coordinator, clock, 0.2)
    cabinet.clear()
    await step(coordinator, clock, 0.2)
    assert not cabinet.released(0)
    assert AlarmCode.LOCK_STUCK_RELEASED not in {a.code for a in alarms}
    assert coordinator.snapshot().alarms == ()


async def test_opening_through_a_stuck_lock_is_forced(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A lock energised without our pulse lets a drawer open: that opening is tamper too."""
    events = coordinator.subscribe()
    cabinet.stick_lock(1, released=True)
    await step(coordinator, clock)
    cabinet.open(1)  # the bolt is out: nothing stops the hand
    await coordinator.poll_once()
    got = drain(events)
    assert any(isinstance(e, DrawerForced) and e.drawer == 1 for e in got)
    codes = {a.code for a in coordinator.snapshot().alarms}
    assert {AlarmCode.LOCK_STUCK_RELEASED, AlarmCode.DRAWER_FORCED} <= codes
