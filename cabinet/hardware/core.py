"""The coordinator's core state: devices, drawers, alarms, events and guarded device calls."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import hal
from cabinet.clock import Clock
from cabinet.hardware.devices import AlarmBoard, DeviceHealth, StaleAnswer, call_with_retry
from cabinet.hardware.drawers import DrawerTrack
from cabinet.hardware.events import (
    AlarmCode,
    CabinetSnapshot,
    DeviceBack,
    DeviceDownEvent,
    DrawerState,
    HardwareAlarm,
    HardwareEvent,
)

log = logging.getLogger("cabinet.hardware")

T = TypeVar("T")
AlarmCallback = Callable[[HardwareAlarm], Awaitable[None] | None]
BOARD = "board"
MAX_ON_MS = 10_000  # the board's own cap on a release pulse (design, section 2)


def scale_name(drawer: int) -> str:
    """The device name of a drawer's scale module."""
    return f"scale{drawer}"


class CoordinatorCore:
    """State shared by the polling loop and the public API of the coordinator."""

    def __init__(
        self,
        board: hal.LockBoard,
        scales: Mapping[int, hal.ScaleBank],
        clock: Clock,
        *,
        lock_pulse_ms: int = 8000,
        open_drawer_hz: float = 25.0,
        idle_poll_s: float = 1.0,
        settle_s: float = 1.0,
        down_after_failures: int = 3,
        settle_timeout_s: float | None = None,
        noise_cg: int = 20,
        request_deadline_s: float = 1.0,
        attempts: int = 2,
        retry_interval_s: float = 0.01,
        on_alarm: AlarmCallback | None = None,
        autopoll: bool = True,
    ) -> None:
        if not scales:
            raise ValueError("a cabinet needs at least one drawer with a scale module")
        if not 0 < lock_pulse_ms <= MAX_ON_MS:
            raise ValueError(f"lock_pulse_ms = {lock_pulse_ms}: must be between 1 and {MAX_ON_MS}")
        if open_drawer_hz <= 0 or idle_poll_s <= 0 or down_after_failures < 1 or attempts < 1:
            raise ValueError("polling cadences, failure threshold and attempts must be positive")
        self._board = board
        self._scales = dict(scales)
        self._clock = clock
        self.lock_pulse_ms = lock_pulse_ms
        self.fast_period_s = 1.0 / open_drawer_hz
        self.idle_poll_s = idle_poll_s
        self.settle_s = settle_s
        self.settle_timeout_s = settle_timeout_s or max(2.0, 10 * settle_s)
        self.noise_cg = noise_cg
        self._deadline_s = request_deadline_s
        self._attempts = attempts
        self._retry_interval_s = retry_interval_s
        self._alarm_listeners: list[AlarmCallback] = [on_alarm] if on_alarm else []
        self._autopoll = autopoll
        # A status older than this cannot vouch for a release.
        self.status_max_age_s = max(4 * self.fast_period_s, 0.5)
        self.readings_max_age_s = 2 * idle_poll_s + request_deadline_s
        # How late the board's lock mirror may lag behind the pulse we wrote.
        self.lock_grace_s = max(0.5, 3 * self.fast_period_s)
        self._drawers = {
            d: DrawerTrack(drawer=d, pocket_count=bank.pocket_count)
            for d, bank in sorted(scales.items())
        }
        self._devices = {BOARD: DeviceHealth(BOARD, down_after_failures)}
        for d in self._drawers:
            self._devices[scale_name(d)] = DeviceHealth(scale_name(d), down_after_failures)
        self._alarms = AlarmBoard()
        self._status: hal.BoardStatus | None = None
        self._status_at = 0.0
        self._latched: str | None = None
        self._subscribers: list[asyncio.Queue[HardwareEvent]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._callbacks: set[asyncio.Future[Any]] = set()
        self._last_loop = 0.0
        self._last_relock = float("-inf")
        self._relock_pending = False
        self._lights: set[tuple[int, int]] = set()
        self._task: asyncio.Task[None] | None = None
        self._release_lock: asyncio.Lock | None = None
        self._started = False
        self._stopped = False

    # -- events -------------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[HardwareEvent]:
        """A queue receiving every event from now on."""
        queue: asyncio.Queue[HardwareEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[HardwareEvent]) -> None:
        """Stop delivering events to a queue."""
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def snapshot(self) -> CabinetSnapshot:
        """The cabinet as last seen."""
        now = self._clock.monotonic()
        return CabinetSnapshot(
            at=now,
            board=self._status,
            drawers={d: t.state(now) for d, t in self._drawers.items()},
            devices={name: h.state() for name, h in self._devices.items()},
            alarms=self._alarms.all(),
            locked_down=self._latched,
        )

    def drawer_state(self, drawer: int) -> DrawerState | None:
        """One drawer as last seen (what snapshot() holds for it, without the whole cabinet)."""
        track = self._drawers.get(drawer)
        return None if track is None else track.state(self._clock.monotonic())

    @property
    def drawers(self) -> tuple[int, ...]:
        """The drawer indices this coordinator knows."""
        return tuple(self._drawers)

    @property
    def locked_down(self) -> str | None:
        """The latch reason, or None."""
        return self._latched

    def add_alarm_listener(self, listener: AlarmCallback) -> None:
        """Also hand every alarm (raised or cleared) to this callback (sync or async)."""
        self._alarm_listeners.append(listener)

    def _emit(self, event: HardwareEvent) -> None:
        """Deliver an event to every subscriber."""
        for queue in self._subscribers:
            queue.put_nowait(event)

    def _alarm(self, code: AlarmCode, subject: str, message: str) -> None:
        """Raise an alarm once; publish it and hand it to the callback."""
        alarm = self._alarms.raise_(code, subject, message, self._clock.monotonic())
        if alarm is not None:
            log.warning("hardware alarm %s %s: %s", code.value, subject, message)
            self._publish_alarm(alarm)

    def _clear(self, code: AlarmCode, subject: str) -> None:
        """Clear an alarm if active; publish the clearing."""
        notice = self._alarms.clear(code, subject, self._clock.monotonic())
        if notice is not None:
            log.info("hardware alarm cleared %s %s", code.value, subject)
            self._publish_alarm(notice)

    def _publish_alarm(self, alarm: HardwareAlarm) -> None:
        """Emit an alarm event and call the listeners; a failing listener never stops polling."""
        self._emit(alarm)
        for listener in self._alarm_listeners:
            try:
                result = listener(alarm)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._callbacks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception:
                log.exception("alarm listener failed for %s", alarm.code.value)

    def _callback_done(self, task: asyncio.Future[Any]) -> None:
        """Forget a finished alarm callback, logging its failure."""
        self._callbacks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("alarm callback failed: %s", task.exception())

    def _wake_waiters(self) -> None:
        """Wake everyone waiting for the next poll."""
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _next_poll(self) -> asyncio.Future[None]:
        """A future resolved at the end of the next poll."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        return fut

    # -- device calls -------------------------------------------------------------------------

    async def _call(self, device: str, request: Callable[[], Awaitable[T]]) -> T:
        """One request with bounded retries inside the deadline; stale answers dropped."""
        try:
            return await call_with_retry(
                device,
                request,
                _answered_at,
                clock=self._clock,
                deadline_s=self._deadline_s,
                attempts=self._attempts,
                interval_s=self._retry_interval_s,
            )
        finally:
            # Each finished request, good or bad, is progress: a dead bus makes polls slow,
            # not stuck, and the watchdog must tell the two apart.
            self._last_loop = self._clock.monotonic()

    def _device_ok(self, device: str) -> None:
        """Record a good answer; announce a device coming back and clear its alarms."""
        health = self._devices[device]
        if health.succeeded(self._clock.monotonic()):
            log.info("hardware device back: %s", device)
            self._emit(DeviceBack(device=device, at=self._clock.monotonic()))
        for code in (AlarmCode.DEVICE_DOWN, AlarmCode.PROTOCOL_ERROR, AlarmCode.STALE_ANSWER):
            self._clear(code, device)

    def _device_failed(self, device: str, error: hal.HardwareError) -> None:
        """Record a failed poll: nonsense alarms at once, silence once the device is down."""
        health = self._devices[device]
        if isinstance(error, StaleAnswer):
            self._alarm(AlarmCode.STALE_ANSWER, device, str(error))
        elif isinstance(error, hal.ProtocolError):
            self._alarm(AlarmCode.PROTOCOL_ERROR, device, str(error))
        if isinstance(error, hal.PermanentHardwareError):
            # Wiring or configuration: waiting for more failures tells us nothing new.
            health.failures = max(health.failures, health.down_after - 1)
        if health.failed(error):
            log.error("hardware device down: %s (%s)", device, error)
            self._emit(
                DeviceDownEvent(device=device, reason=str(error), at=self._clock.monotonic())
            )
            self._alarm(AlarmCode.DEVICE_DOWN, device, str(error))

    async def _relock_all(self, why: str) -> bool:
        """Relock every drawer; False (and the failure recorded) when the board did not take it."""
        try:
            await self._call(BOARD, self._board.relock_all)
        except hal.HardwareError as exc:
            log.error("relock at %s failed: %s", why, exc)
            self._device_failed(BOARD, exc)
            self._relock_pending = True  # written again at the board's next good answer
            return False
        now = self._clock.monotonic()
        for track in self._drawers.values():
            # Ended now, not never: an opening seen just after a relock is still ours.
            track.release_until = min(track.release_until, now)
            track.release_written_at = None
        self._last_relock = now
        self._relock_pending = False
        return True


def _answered_at(answer: object) -> float:
    """The read time a device stamped on its answer (0 when it does not say)."""
    if isinstance(answer, hal.BoardStatus):
        return answer.at
    if isinstance(answer, tuple) and answer and isinstance(answer[0], hal.WeightReading):
        return min(float(r.at) for r in answer)
    return 0.0
