"""The hardware coordinator: sole owner of the hal/ devices, the only code that energises a lock.

Public API (everything else in cabinet/ goes through this):

    coord = HardwareCoordinator(board, scales, clock, lock_pulse_ms=8000, open_drawer_hz=25,
                                idle_poll_s=1.0, settle_s=1.0, down_after_failures=3,
                                on_alarm=record_alarm, autopoll=True)
    await coord.start()            # relock every drawer, read everything once, start polling
    events = coord.subscribe()     # asyncio.Queue[HardwareEvent]; coord.unsubscribe(events)
    snap = coord.snapshot()        # CabinetSnapshot: drawers, latest readings, devices, alarms
    weights = await coord.settled_weights(drawer, timeout_s=5)  # {pocket: centigrams}, stable
    await coord.release(drawer, reason="dispense 42")           # or raises ReleaseRefused
    await coord.set_guide_light(drawer, pocket, True); await coord.darken_all()
    await coord.relock_all("dispense 42 cancelled")  # end every pulse now, or raise
    coord.lock_down("ledger broken")  # latch: no release until the process restarts
    await coord.poll_once()        # one polling step (tests drive it with a DrivenClock)
    coord.making_progress()        # True while the polling loop runs (feeds the watchdog)
    await coord.stop()             # stop polling, darken lights, relock every drawer, close

Events (frozen dataclasses in cabinet.hardware.events): DrawerOpened, DrawerClosed,
DrawerForced (tamper), WeightSettled(drawer, deltas, weights), DeviceDownEvent, DeviceBack and
HardwareAlarm (raised, or `cleared=True`). Every alarm also goes to `on_alarm` and to each
`add_alarm_listener(cb)` (sync or async), which the workflows use to record it in the ledger;
the coordinator never writes the store. `await coord.acknowledge_tamper()` relocks every drawer
after a person checked a forced one (the board drops its tamper latch once all are shut);
`check_release(drawer)` tells without writing whether `release` would be refused.
`HardwareService(coord)` (cabinet.hardware.service) is its daemon service; the composition root
puts the coordinator in `ctx.parts["coordinator"]`.

Fail closed: `release` writes nothing and raises `ReleaseRefused(code, reason)` when the
coordinator is latched, the drawer is unknown, the board's last answer failed or is stale, the
board is not alive or reports tamper or a power fault, a lock is stuck released, any drawer is
forced, the drawer's scale module is unavailable, its pockets are not confirmed settled (two
consecutive polls, every reading stable and sound, agreeing within the noise band), or another
drawer is open or released (one drawer at a time). A failed release write answers WRITE_FAILED
after a relock. Faults raise alarms; when the device answers sensibly again the alarms clear,
the board is relocked, and releases are allowed again, without a restart.

Edges: a drawer leaving its sensor inside a pulse we wrote (energised on the board, or ended
within the lock grace) is DrawerOpened; any other opening (locked, a stuck lock, a pulse the
board lost in a reboot) is DrawerForced plus a DRAWER_FORCED alarm, at the first poll that sees
it. A lock energised outside our pulse is LOCK_STUCK_RELEASED (relocked, releases refused); a
pulse whose bolt never withdrew is LOCK_DID_NOT_RELEASE (not unsafe; cleared by the next good
release).

Cadences: the board status every tick (`open_drawer_hz`, ticks on a fixed grid); an open,
released, settling or watched drawer's scale module every tick, read first; idle drawers every
`idle_poll_s`, staggered over that period. Each request is retried on a short interval inside
`request_deadline_s`; an answer stamped before its query was sent is dropped.
"""

from __future__ import annotations

import asyncio
import logging

import hal
from cabinet.hardware.core import BOARD, MAX_ON_MS, scale_name
from cabinet.hardware.errors import (
    HardwareUnavailable,
    RefusalCode,
    ReleaseRefused,
    SettleTimeout,
)
from cabinet.hardware.events import AlarmCode
from cabinet.hardware.polling import PollingCoordinator

log = logging.getLogger("cabinet.hardware")


class HardwareCoordinator(PollingCoordinator):
    """Owns the lock board and the scale banks; polls, publishes, and releases on request."""

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Relock every drawer, take a first look at everything, then poll in the background."""
        self._release_lock = asyncio.Lock()
        await self._relock_all("start")
        self._started, self._stopped = True, False
        # Two full looks: settling is confirmed by two agreeing polls.
        await self.poll_all()
        await self.poll_all()
        self._stagger_idle()
        if self._autopoll:
            self._task = asyncio.create_task(self._run(), name="hardware-poller")

    async def stop(self) -> None:
        """Stop polling, darken the guide lights, relock every drawer and close the devices."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=2 * self._deadline_s + 1)
            if not task.done():
                # A cancellation swallowed mid-request: the stop flag ends the loop next tick.
                task.cancel()
                await asyncio.wait({task}, timeout=2 * self._deadline_s + 1)
            if not task.done():
                log.error("hardware poller did not stop in time")
            elif not task.cancelled() and task.exception() is not None:
                log.error("hardware poller ended with %r", task.exception())
        # Each step on its own: one failure must not keep the next from making things safe.
        try:
            await self.darken_all()
        except HardwareUnavailable as exc:
            log.warning("guide lights not darkened at stop: %s", exc)
        await self._relock_all("stop")
        closers = [self._board.close, *(bank.close for bank in self._scales.values())]
        for close in closers:
            try:
                await close()
            except Exception:
                log.exception("closing a hardware device failed")

    def making_progress(self) -> bool:
        """True while the polling loop has completed a step recently."""
        if not self._started or self._stopped:
            return False
        if self._task is not None and self._task.done():
            return False
        window = max(10 * self.fast_period_s, 3 * self._deadline_s, 2.0)
        return self._clock.monotonic() - self._last_loop <= window

    # -- releasing a lock ---------------------------------------------------------------------

    async def release(self, drawer: int, *, reason: str, milliseconds: int | None = None) -> None:
        """Release one drawer's lock for a bounded time, or raise ReleaseRefused (nothing sent).

        `reason` says which live authorisation asked (logged); the pulse defaults to
        `lock_pulse_ms` and never exceeds the board's maximum on-time.
        """
        ms = self.lock_pulse_ms if milliseconds is None else milliseconds
        if not 0 < ms <= MAX_ON_MS:
            raise ReleaseRefused(
                RefusalCode.BAD_DURATION, f"{ms} ms: must be between 1 and {MAX_ON_MS}"
            )
        if self._release_lock is None or not self._started or self._stopped:
            raise ReleaseRefused(RefusalCode.NOT_STARTED, "the hardware coordinator is not running")
        async with self._release_lock:
            self._check_release(drawer)
            try:
                await self._call(BOARD, lambda: self._board.release(drawer, ms))
            except hal.HardwareError as exc:
                self._device_failed(BOARD, exc)
                # The write may have landed: relock rather than leave a pulse we cannot see.
                await self._relock_all("failed release")
                raise ReleaseRefused(RefusalCode.WRITE_FAILED, str(exc)) from exc
            now = self._clock.monotonic()
            track = self._drawers[drawer]
            track.release_until = now + ms / 1000
            track.release_written_at = now
            track.next_poll = now
            log.info("drawer %d released for %d ms: %s", drawer, ms, reason)

    def check_release(self, drawer: int) -> None:
        """Raise ReleaseRefused when `release(drawer)` would be refused now (writes nothing)."""
        if self._latched is not None:
            raise ReleaseRefused(RefusalCode.LOCKED_DOWN, self._latched)
        if not self._started or self._stopped:
            raise ReleaseRefused(RefusalCode.NOT_STARTED, "the hardware coordinator is not running")
        self._check_release(drawer)

    def _check_release(self, drawer: int) -> None:
        """Every fail-closed rule, in order of what a technician should fix first."""
        if self._latched is not None:
            raise ReleaseRefused(RefusalCode.LOCKED_DOWN, self._latched)
        track = self._drawers.get(drawer)
        if track is None:
            raise ReleaseRefused(
                RefusalCode.UNKNOWN_DRAWER, f"no drawer {drawer}; drawers are {list(self._drawers)}"
            )
        now = self._clock.monotonic()
        board = self._devices[BOARD]
        status = self._status
        if not board.available or status is None or now - self._status_at > self.status_max_age_s:
            raise ReleaseRefused(
                RefusalCode.BOARD_UNAVAILABLE, board.last_error or "no recent board status"
            )
        if not status.alive:
            raise ReleaseRefused(RefusalCode.BOARD_NOT_ALIVE, "the board reports it is not running")
        if status.tamper:
            raise ReleaseRefused(RefusalCode.TAMPER, "the board has latched tamper")
        if status.power_fault:
            raise ReleaseRefused(RefusalCode.POWER_FAULT, "the board reports a power fault")
        if self._alarms.active(AlarmCode.LOCK_STUCK_RELEASED):
            raise ReleaseRefused(RefusalCode.LOCK_FAULT, "a lock is stuck released")
        forced = [t.drawer for t in self._drawers.values() if t.forced]
        if forced:
            raise ReleaseRefused(RefusalCode.DRAWER_FORCED, f"drawer {forced[0]} was forced open")
        busy = [
            t.drawer
            for t in self._drawers.values()
            if t.drawer != drawer and (t.is_open or t.released or now < t.release_until)
        ]
        if busy:
            raise ReleaseRefused(
                RefusalCode.ANOTHER_DRAWER_OPEN, f"drawer {busy[0]} is open or released"
            )
        scale = self._devices[scale_name(drawer)]
        if not scale.available:
            raise ReleaseRefused(
                RefusalCode.SCALE_UNAVAILABLE, scale.last_error or "scale module not read yet"
            )
        if not track.confirmed or now - track.read_at > self.readings_max_age_s:
            raise ReleaseRefused(
                RefusalCode.WEIGHTS_UNTRUSTWORTHY,
                f"drawer {drawer}: pockets {list(self._untrusted(drawer))} are not stable or sound",
            )

    def _untrusted(self, drawer: int) -> tuple[int, ...]:
        """Pockets of a drawer whose latest reading cannot be trusted."""
        readings = self._drawers[drawer].readings
        return tuple(i for i, r in enumerate(readings) if r is None or not r.trustworthy)

    async def acknowledge_tamper(self) -> None:
        """After a person checked a forced drawer: relock all, which clears the board's latch."""
        if not await self._relock_all("tamper acknowledged"):
            raise HardwareUnavailable("the board did not take the relock")
        log.warning("tamper acknowledged: every lock relocked")

    async def relock_all(self, reason: str) -> None:
        """Relock every drawer now (a task ended before its pulse did); raise if not taken."""
        if not await self._relock_all(reason):
            raise HardwareUnavailable("the board did not take the relock")

    # -- weights ------------------------------------------------------------------------------

    async def settled_weights(self, drawer: int, timeout_s: float | None = None) -> dict[int, int]:
        """Wait until every pocket of a drawer reads stable (read after this call); centigrams."""
        track = self._drawers.get(drawer)
        if track is None:
            raise HardwareUnavailable(f"no drawer {drawer}")
        timeout = self.settle_timeout_s if timeout_s is None else timeout_s
        start = self._clock.monotonic()
        track.watchers += 1
        track.next_poll = min(track.next_poll, start)
        try:
            while True:
                if track.read_at >= start and track.confirmed:
                    return track.weights()
                if self._clock.monotonic() - start > timeout:
                    raise SettleTimeout(drawer, self._untrusted(drawer), timeout)
                try:
                    # Real-time backstop for a clock nobody drives.
                    await asyncio.wait_for(self._next_poll(), timeout=max(timeout, 0.1) * 2)
                except TimeoutError:
                    raise SettleTimeout(drawer, self._untrusted(drawer), timeout) from None
        finally:
            track.watchers -= 1

    async def tare(self, drawer: int, pocket: int) -> None:
        """Tare one pocket's load cell (commissioning)."""
        if drawer not in self._scales:
            raise HardwareUnavailable(f"no drawer {drawer}")
        device = scale_name(drawer)
        try:
            await self._call(device, lambda: self._scales[drawer].tare(pocket))
        except hal.HardwareError as exc:
            self._device_failed(device, exc)
            raise HardwareUnavailable(f"tare of drawer {drawer} pocket {pocket}: {exc}") from exc
        self._drawers[drawer].baseline = None

    # -- guide lights -------------------------------------------------------------------------

    async def set_guide_light(self, drawer: int, pocket: int, on: bool) -> None:
        """Light (or darken) one pocket's guide light."""
        track = self._drawers.get(drawer)
        if track is None or not 0 <= pocket < track.pocket_count:
            raise HardwareUnavailable(f"no pocket {pocket} in drawer {drawer}")
        try:
            await self._call(BOARD, lambda: self._board.set_guide_light(drawer, pocket, on))
        except hal.HardwareError as exc:
            self._device_failed(BOARD, exc)
            raise HardwareUnavailable(f"guide light {drawer}/{pocket}: {exc}") from exc
        if on:
            self._lights.add((drawer, pocket))
        else:
            self._lights.discard((drawer, pocket))

    async def darken_all(self) -> None:
        """Darken every guide light this coordinator lit."""
        for drawer, pocket in sorted(self._lights):
            await self.set_guide_light(drawer, pocket, False)
