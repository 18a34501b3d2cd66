"""Device bookkeeping for the coordinator: health, bounded retries, stale answers, alarms."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import hal
from cabinet.clock import Clock
from cabinet.hardware.events import AlarmCode, DeviceState, HardwareAlarm

T = TypeVar("T")


class StaleAnswer(hal.ProtocolError):
    """An answer carrying data read before the query was sent (a late or replayed frame)."""


@dataclass
class DeviceHealth:
    """Availability of one device, counted in consecutive failed polls."""

    name: str
    down_after: int
    failures: int = 0
    down: bool = False
    available: bool = False
    last_error: str = "not read yet"
    last_ok: float = 0.0

    def succeeded(self, now: float) -> bool:
        """Record a good answer; True when the device was down and is back."""
        was_down = self.down
        self.failures, self.down, self.available = 0, False, True
        self.last_error, self.last_ok = "", now
        return was_down

    def failed(self, error: hal.HardwareError) -> bool:
        """Record a failed poll; True when this failure marks the device down."""
        self.failures += 1
        self.available = False
        self.last_error = str(error)
        if self.down:
            return False
        # The driver's own DeviceDown already counted its consecutive failures.
        if isinstance(error, hal.DeviceDown) or self.failures >= self.down_after:
            self.down = True
            return True
        return False

    def state(self) -> DeviceState:
        """A frozen copy for snapshots."""
        return DeviceState(
            device=self.name,
            available=self.available,
            down=self.down,
            failures=self.failures,
            last_error=self.last_error,
            last_ok=self.last_ok,
        )


async def call_with_retry(
    device: str,
    request: Callable[[], Awaitable[T]],
    answered_at: Callable[[T], float],
    *,
    clock: Clock,
    deadline_s: float,
    attempts: int,
    interval_s: float,
) -> T:
    """Run one request, retrying transient failures on a short interval inside a deadline.

    An answer whose own timestamp is older than the moment the request was sent is dropped
    (it belongs to an earlier query) and counts as a failed attempt.
    """
    deadline = clock.monotonic() + deadline_s
    attempt = 0
    while True:
        attempt += 1
        sent = clock.monotonic()
        try:
            answer = await request()
            at = answered_at(answer)
            if at and at < sent:
                raise StaleAnswer(device, f"answer read at {at:.3f} is older than query {sent:.3f}")
            return answer
        except hal.DeviceDown:
            raise  # the driver has already retried and given up
        except hal.TransientHardwareError:
            if attempt >= attempts or clock.monotonic() >= deadline:
                raise
        await asyncio.sleep(interval_s)


class AlarmBoard:
    """The set of active alarms, keyed by (code, subject)."""

    def __init__(self) -> None:
        self._active: dict[tuple[AlarmCode, str], HardwareAlarm] = {}

    def raise_(
        self, code: AlarmCode, subject: str, message: str, at: float
    ) -> HardwareAlarm | None:
        """Activate an alarm; the new alarm, or None when it was already active."""
        if (code, subject) in self._active:
            return None
        alarm = HardwareAlarm(code=code, subject=subject, message=message, at=at)
        self._active[alarm.key] = alarm
        return alarm

    def clear(self, code: AlarmCode, subject: str, at: float) -> HardwareAlarm | None:
        """End an alarm; the clearing notice, or None when it was not active."""
        alarm = self._active.pop((code, subject), None)
        if alarm is None:
            return None
        return HardwareAlarm(
            code=code, subject=subject, message=f"cleared: {alarm.message}", at=at, cleared=True
        )

    def active(self, code: AlarmCode, subject: str | None = None) -> bool:
        """True when that alarm (for any subject when none is given) is active."""
        if subject is not None:
            return (code, subject) in self._active
        return any(c is code for c, _ in self._active)

    def all(self) -> tuple[HardwareAlarm, ...]:
        """Every active alarm, oldest first."""
        return tuple(sorted(self._active.values(), key=lambda a: a.at))
