"""Cadences, settling, retries and stale answers, seen through a driven clock."""

from __future__ import annotations

import asyncio

import pytest

from cabinet.clock import DrivenClock
from cabinet.hardware import (
    AlarmCode,
    HardwareAlarm,
    HardwareCoordinator,
    HardwareUnavailable,
    SettleTimeout,
    WeightSettled,
)
from tests.fakes import FakeCabinet
from tests.hardware.conftest import AMPOULE_CG, drain, step


async def test_open_drawer_fast_idle_drawer_slow_board_always(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """Over one second: the open drawer's pockets >= 20 reads, the idle one ~1, the board 25."""
    await coordinator.release(0, reason="dispense 1")
    cabinet.open(0)
    await step(coordinator, clock)
    board0, open0, idle0 = (
        cabinet.board.status_reads,
        cabinet.scales[0].reads,
        cabinet.scales[1].reads,
    )
    await step(coordinator, clock, 1.0)
    assert cabinet.board.status_reads - board0 == 25
    assert cabinet.scales[0].reads - open0 >= 20
    assert cabinet.scales[1].reads - idle0 <= 2


async def test_weight_change_in_a_closed_drawer_is_reported(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A settled change beyond the noise band in a shut drawer: WeightSettled with its delta."""
    events = coordinator.subscribe()
    cabinet.drift(1, 3, 5)  # within the noise band: nothing to report
    await step(coordinator, clock, 2.0)
    assert drain(events) == []
    cabinet.drift(1, 3, -AMPOULE_CG)
    await step(coordinator, clock, 2.0)
    (event,) = drain(events)
    assert isinstance(event, WeightSettled) and event.drawer == 1
    assert dict(event.deltas) == {3: 5 - AMPOULE_CG}
    # One drawer's state, as the whole snapshot holds it (the release path reads only this).
    assert coordinator.drawer_state(1) == coordinator.snapshot().drawers[1]
    assert coordinator.drawer_state(99) is None


async def test_settled_weights_waits_for_every_pocket(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """Asked right after a close, the answer comes only once the cells have settled."""
    await coordinator.release(0, reason="restock")
    cabinet.open(0)
    cabinet.put(0, 0, 3)
    cabinet.close(0)
    waiter = asyncio.create_task(coordinator.settled_weights(0))
    await step(coordinator, clock, 0.2)
    assert not waiter.done()
    await step(coordinator, clock, 0.4)
    weights = await asyncio.wait_for(waiter, 1)
    assert weights[0] == 1_000 + 13 * AMPOULE_CG


async def test_settled_weights_times_out_on_an_unstable_cell(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A cell that never settles: SettleTimeout naming the pocket."""
    cabinet.unstable_cell(1, 2)
    waiter = asyncio.create_task(coordinator.settled_weights(1, timeout_s=1.0))
    await step(coordinator, clock, 1.2)
    with pytest.raises(SettleTimeout) as timeout:
        await asyncio.wait_for(waiter, 1)
    assert timeout.value.pockets == (2,)


async def test_one_lost_answer_is_retried_inside_the_request(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A single timeout or a single stale answer is retried at once: no failure, no alarm."""
    for fault in ("timeout", "stale"):
        cabinet.fail_board(fault, times=1)
        await step(coordinator, clock)
        board = coordinator.snapshot().devices["board"]
        assert board.available and board.failures == 0
    assert coordinator.snapshot().alarms == ()
    await coordinator.release(0, reason="dispense")
    assert cabinet.board.releases == [(0, 5000)]


async def test_watchdog_progress_follows_the_polling(
    coordinator: HardwareCoordinator, clock: DrivenClock
) -> None:
    """Progress while polls happen; none once they stop, nor after stop()."""
    assert coordinator.making_progress()
    clock.advance(5.0)
    assert not coordinator.making_progress()
    await coordinator.poll_once()
    assert coordinator.making_progress()
    await coordinator.stop()
    assert not coordinator.making_progress()


async def test_guide_lights_darkened_at_stop(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet
) -> None:
    """The pocket to take from is lit; stopping darkens it and relocks."""
    await coordinator.set_guide_light(0, 2, True)
    assert cabinet.board.lights == {(0, 2)}
    await coordinator.stop()
    assert cabinet.board.lights == set()
    assert cabinet.board.writes[-1] == ("relock_all", -1, 0)
    assert cabinet.board.closed_transport and cabinet.scales[0].closed_transport


async def test_background_polling_runs_on_the_real_clock() -> None:
    """Started for real, the poller reads the board at its fast cadence until stopped."""
    from cabinet.clock import SystemClock

    cab = FakeCabinet(SystemClock(), drawers={0: 2})
    coord = HardwareCoordinator(cab.board, cab.scales, SystemClock(), open_drawer_hz=50)
    await coord.start()
    try:
        await asyncio.sleep(0.3)
        assert cab.board.status_reads >= 5  # 15 expected; a loaded machine may lag
        assert coord.making_progress()
    finally:
        await coord.stop()
    reads = cab.board.status_reads
    await asyncio.sleep(0.05)
    assert cab.board.status_reads == reads


async def test_a_bug_in_polling_latches_the_cabinet_locked() -> None:
    """An unexpected error in the poller: latched locked, an alarm, no release."""
    from cabinet.clock import SystemClock

    cab = FakeCabinet(SystemClock(), drawers={0: 2})
    alarms: list[HardwareAlarm] = []
    coord = HardwareCoordinator(
        cab.board, cab.scales, SystemClock(), open_drawer_hz=50, on_alarm=alarms.append
    )
    await coord.start()

    async def broken() -> None:
        raise RuntimeError("driver bug")

    cab.scales[0].read_all = broken  # type: ignore[method-assign,assignment]
    try:
        for _ in range(100):
            if coord.locked_down:
                break
            await asyncio.sleep(0.01)
        assert coord.locked_down is not None and "driver bug" in coord.locked_down
        assert [a.code for a in alarms] == [AlarmCode.LOCKED_DOWN]
    finally:
        await coord.stop()


async def test_one_stable_flag_is_not_enough_to_settle(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet
) -> None:
    """A jump labelled stable is reported only once the next poll agrees with it."""
    events = coordinator.subscribe()
    cabinet.drift(1, 0, 3 * AMPOULE_CG)
    cabinet.drawers[1].pockets[0].settle_at = 0.0  # the status claims stable at once
    await coordinator.poll_all()
    assert drain(events) == []
    await coordinator.poll_all()
    (event,) = drain(events)
    assert isinstance(event, WeightSettled) and dict(event.deltas) == {0: 3 * AMPOULE_CG}


async def test_relock_all_ends_a_pulse_early(
    coordinator: HardwareCoordinator, cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A task that ends before its pulse relocks at once; a dead board says so."""
    await coordinator.release(0, reason="dispense 1")
    await coordinator.relock_all("dispense 1 cancelled")
    await step(coordinator, clock)
    assert not coordinator.snapshot().drawers[0].released
    cabinet.fail_board("down")
    with pytest.raises(HardwareUnavailable):
        await coordinator.relock_all("dispense 2 cancelled")


async def test_a_relock_missed_at_start_is_written_when_the_board_answers(
    cabinet: FakeCabinet, clock: DrivenClock
) -> None:
    """A board silent at start (not yet counted down) still gets its relock once it answers."""
    cabinet.fail_board("timeout", times=3)  # the relock and both first looks
    coord = HardwareCoordinator(
        cabinet.board,
        cabinet.scales,
        clock,
        down_after_failures=5,
        retry_interval_s=0,
        attempts=1,
        autopoll=False,
    )
    await coord.start()
    try:
        assert cabinet.board.writes == []
        assert not coord.snapshot().devices["board"].down
        clock.advance(0.04)
        await coord.poll_once()
        assert cabinet.board.writes == [("relock_all", -1, 0)]
    finally:
        await coord.stop()
