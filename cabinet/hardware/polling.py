"""The coordinator's polling: board status every tick, scale modules at their cadence, edges."""

from __future__ import annotations

import asyncio
import logging

import hal
from cabinet.hardware.core import BOARD, CoordinatorCore, scale_name
from cabinet.hardware.drawers import DrawerTrack
from cabinet.hardware.events import (
    AlarmCode,
    DrawerClosed,
    DrawerForced,
    DrawerOpened,
    WeightSettled,
)

log = logging.getLogger("cabinet.hardware")


class PollingCoordinator(CoordinatorCore):
    """Reads the devices, detects edges and settling, and raises or clears alarms."""

    async def poll_once(self) -> None:
        """One polling step: the board, then every scale module that is due."""
        now = self._clock.monotonic()
        self._last_loop = now
        await self._poll_board(now)
        # Half a tick of slack: a timer that fires a hair early must not skip a whole tick.
        slack = self.fast_period_s / 2
        due = [t for t in self._drawers.values() if now >= t.next_poll - slack]
        # Requests queue on the link in this order: the open drawer's samples go first.
        due.sort(key=lambda t: not t.fast(now))
        # One after the other: every module shares the one bus (or TCP connection) anyway.
        for track in due:
            await self._poll_scale(track, now)
        self._wake_waiters()

    async def poll_all(self) -> None:
        """Poll the board and every scale module now, whatever their cadence."""
        for track in self._drawers.values():
            track.next_poll = 0.0
        await self.poll_once()

    async def _poll_board(self, now: float) -> None:
        """Read the board status; on success follow flags, edges and lock behaviour."""
        try:
            status = await self._call(BOARD, self._board.read_status)
            self._check_status_shape(status)
        except hal.HardwareError as exc:
            self._device_failed(BOARD, exc)
            return
        was_down = self._devices[BOARD].down
        self._device_ok(BOARD)
        self._status, self._status_at = status, now
        if was_down or self._relock_pending:
            # Unreachable, it may have rebooted or kept a pulse we lost track of; or a relock
            # we owed it (at start, at a lock-down) did not get through: start clean.
            await self._relock_all("board back")
        await self._board_flags(status)
        for track in self._drawers.values():
            self._drawer_edges(track, status, now)
            await self._lock_behaviour(track, status, now)

    def _check_status_shape(self, status: hal.BoardStatus) -> None:
        """A status that does not cover every configured drawer is nonsense."""
        need = max(self._drawers) + 1
        if len(status.closed) < need or len(status.released) < need:
            raise hal.ProtocolError(
                BOARD, f"status covers {len(status.closed)} drawers, the cabinet has {need}"
            )

    async def _board_flags(self, status: hal.BoardStatus) -> None:
        """Alarms for the board's own status bits; relock after the board comes back alive."""
        if not status.alive:
            self._alarm(AlarmCode.BOARD_NOT_ALIVE, BOARD, "board reports it is not running")
        elif self._alarms.active(AlarmCode.BOARD_NOT_ALIVE, BOARD) and await self._relock_all(
            "board back alive"
        ):
            # A rebooted board must start from a known, locked state before it is trusted.
            self._clear(AlarmCode.BOARD_NOT_ALIVE, BOARD)
        if status.tamper:
            self._alarm(AlarmCode.TAMPER, BOARD, "board latched tamper: a locked drawer was pulled")
        else:
            self._clear(AlarmCode.TAMPER, BOARD)
        if status.power_fault:
            self._alarm(AlarmCode.POWER_FAULT, BOARD, "board reports a power fault")
        else:
            self._clear(AlarmCode.POWER_FAULT, BOARD)

    def _drawer_edges(self, track: DrawerTrack, status: hal.BoardStatus, now: float) -> None:
        """Opened, closed or forced since the previous status read."""
        d = track.drawer
        closed, released = status.closed[d], status.released[d]
        previous = track.closed
        track.closed, track.released = closed, released
        if previous is None:
            if not closed:
                track.next_poll = now
            return
        if previous and not closed:
            track.report_settle = False
            track.next_poll = now
            # Lawful only inside a pulse we wrote: while the board shows it energised, or just
            # after it ended (the drawer may have moved before the relock). A lock energised
            # without our pulse (stuck) or a pulse the board lost (reboot): the opening is forced.
            ours = now <= track.release_until + self.lock_grace_s
            if ours and (released or track.release_until <= now):
                self._emit(DrawerOpened(drawer=d, at=now))
            else:
                track.forced = True
                self._emit(DrawerForced(drawer=d, at=now))
                self._alarm(
                    AlarmCode.DRAWER_FORCED, f"drawer {d}", "opened while its lock was not released"
                )
        elif not previous and closed:
            self._emit(DrawerClosed(drawer=d, at=now))
            track.report_settle = True
            track.next_poll = now
            if track.forced:
                track.forced = False
                self._clear(AlarmCode.DRAWER_FORCED, f"drawer {d}")

    async def _lock_behaviour(
        self, track: DrawerTrack, status: hal.BoardStatus, now: float
    ) -> None:
        """A lock energised beyond our pulse is stuck released; a pulse whose bolt never
        withdrew is stuck shut (not unsafe: alarmed, and cleared by the next good release)."""
        subject = f"drawer {track.drawer}"
        if self._last_relock >= now:
            return  # this status was read before a relock we just wrote: it proves nothing
        if track.released and now > track.release_until + self.lock_grace_s:
            self._alarm(
                AlarmCode.LOCK_STUCK_RELEASED, subject, "lock energised without a live release"
            )
            # Keep trying to drop it, but no faster than once a second: the bus is shared.
            if now - track.stuck_relock_at >= 1.0:
                track.stuck_relock_at = now
                await self._relock_all("stuck lock")
        elif not track.released:
            self._clear(AlarmCode.LOCK_STUCK_RELEASED, subject)
        if track.release_written_at is None:
            return
        d = track.drawer
        bolt_out = status.bolt_engaged[d] if len(status.bolt_engaged) > d else False
        if not track.closed or (track.released and not bolt_out):
            track.release_written_at = None
            self._clear(AlarmCode.LOCK_DID_NOT_RELEASE, subject)
        elif now - track.release_written_at > self.lock_grace_s:
            track.release_written_at = None
            self._alarm(
                AlarmCode.LOCK_DID_NOT_RELEASE, subject, "release written but the bolt held"
            )

    async def _poll_scale(self, track: DrawerTrack, now: float) -> None:
        """Read one drawer's pockets; follow cell flags and settling; schedule the next read."""
        device = scale_name(track.drawer)
        try:
            readings = await self._call(device, self._scales[track.drawer].read_all)
            self._check_readings_shape(track, readings)
        except hal.HardwareError as exc:
            self._device_failed(device, exc)
            # Old readings say nothing about the pockets now; settling starts over.
            track.readings = [None] * track.pocket_count
            track.prev_weights, track.confirmed = None, False
        else:
            self._device_ok(device)
            track.readings, track.read_at = list(readings), now
            self._cell_flags(track)
            self._settle(track, now)
        track.next_poll = now + (self.fast_period_s if track.fast(now) else self.idle_poll_s)

    def _check_readings_shape(
        self, track: DrawerTrack, readings: tuple[hal.WeightReading, ...]
    ) -> None:
        """Readings must cover exactly this drawer's pockets, in order."""
        expected = [(track.drawer, p) for p in range(track.pocket_count)]
        if [(r.drawer, r.pocket) for r in readings] != expected:
            raise hal.ProtocolError(
                scale_name(track.drawer),
                f"{len(readings)} readings do not match drawer {track.drawer}'s "
                f"{track.pocket_count} pockets",
            )

    def _cell_flags(self, track: DrawerTrack) -> None:
        """Alarms for load cells that report a sensor fault or overload."""
        for r in track.readings:
            if r is None:
                continue
            subject = f"drawer {r.drawer} pocket {r.pocket}"
            for flag, code in (
                (r.fault, AlarmCode.CELL_FAULT),
                (r.overload, AlarmCode.CELL_OVERLOAD),
            ):
                if flag:
                    self._alarm(code, subject, f"load cell reports {code.value}")
                else:
                    self._clear(code, subject)

    def _settle(self, track: DrawerTrack, now: float) -> None:
        """Confirm settling; report settled weights after a close or any change while shut.

        A poll confirms the drawer settled when every pocket reads stable and sound and agrees,
        within the noise band, with the previous poll: one stable flag alone may label a weight
        read a moment after it (status and weights are separate requests).
        """
        weights = track.weights() if track.all_trustworthy() else None
        previous, track.prev_weights = track.prev_weights, weights
        agrees = (
            weights is not None
            and previous is not None
            and all(abs(w - previous.get(p, w + 2 * self.noise_cg)) <= self.noise_cg
                    for p, w in weights.items())
        )  # fmt: skip
        track.confirmed = agrees
        if track.is_open:
            track.unstable_since = None  # a hand in the drawer: nothing is expected to settle
            return
        if weights is None or not agrees:
            moving = tuple(
                p
                for p, w in (weights or {}).items()
                if previous is not None and abs(w - previous.get(p, w)) > self.noise_cg
            )
            self._not_settled(track, now, track.unstable_pockets() or moving)
            return
        baseline = track.baseline if track.baseline is not None else weights
        deltas = {
            p: w - baseline.get(p, w)
            for p, w in weights.items()
            if abs(w - baseline.get(p, w)) > self.noise_cg
        }
        if track.report_settle or deltas:
            self._emit(WeightSettled(drawer=track.drawer, deltas=deltas, weights=weights, at=now))
        if track.baseline is None or track.report_settle or deltas:
            track.baseline = weights
        track.report_settle = False
        if track.unstable_since is not None:
            track.unstable_since = None
            for p in range(track.pocket_count):
                self._clear(AlarmCode.CELL_UNSTABLE, f"drawer {track.drawer} pocket {p}")

    def _not_settled(self, track: DrawerTrack, now: float, restless: tuple[int, ...]) -> None:
        """A shut drawer not settled yet: after the settle timeout its restless cells alarm.

        Cells reporting a fault or overload are not named here: they have their own alarm.
        """
        if track.unstable_since is None:
            track.unstable_since = now
            return
        if now - track.unstable_since < self.settle_timeout_s:
            return
        for p in restless:
            self._alarm(
                AlarmCode.CELL_UNSTABLE,
                f"drawer {track.drawer} pocket {p}",
                f"not settled within {self.settle_timeout_s:g} s",
            )

    async def _run(self) -> None:
        """Poll at the fast cadence until cancelled; a bug latches the cabinet locked."""
        next_tick = self._clock.monotonic()
        # The flag as well as the cancellation: a library that swallows CancelledError in the
        # middle of a request must not keep the poller alive after stop().
        while not self._stopped:
            try:
                await self.poll_once()
            except Exception as exc:
                log.exception("hardware poll failed")
                self.lock_down(f"hardware poller failed: {exc!r}")
            # Ticks on a fixed grid, so a slow tick does not push every later one back; after
            # a long stall (a dead bus) the grid restarts from now instead of bursting.
            next_tick += self.fast_period_s
            now = self._clock.monotonic()
            if next_tick < now - self.fast_period_s:
                next_tick = now
            await asyncio.sleep(max(0.0, next_tick - now))

    def _stagger_idle(self) -> None:
        """Spread the idle drawers' reads over their period instead of one burst per period."""
        now = self._clock.monotonic()
        idle = [t for t in self._drawers.values() if not t.fast(now)]
        for i, track in enumerate(idle):
            track.next_poll = now + self.idle_poll_s * (i + 1) / (len(idle) + 1)

    def lock_down(self, reason: str) -> None:
        """Latch the cabinet locked (degraded mode): no release until the process restarts."""
        if self._latched is None:
            self._latched = reason
            log.error("hardware latched locked: %s", reason)
            self._alarm(AlarmCode.LOCKED_DOWN, "cabinet", reason)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: start() relocks everything anyway
        task = loop.create_task(self._relock_all("lock down"))
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)
