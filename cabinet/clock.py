"""Injectable clocks: the real one for the daemon, a driven one for tests."""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    """Wall time for records and monotonic time for timers."""

    def now(self) -> dt.datetime:
        """Aware UTC wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> dt.datetime:
        """Aware UTC wall-clock time."""
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()


class DrivenClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
        self._mono = 1000.0

    def now(self) -> dt.datetime:
        """The driven wall-clock time."""
        return self._now

    def monotonic(self) -> float:
        """The driven monotonic time."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds


def iso(moment: dt.datetime) -> str:
    """The one timestamp format of the store: UTC, microseconds, 'Z'-free ISO 8601."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
