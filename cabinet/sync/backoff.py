"""Capped exponential backoff with jitter, so a ward of cabinets does not reconnect in step."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays of initial·2ⁿ, capped, each drawn between half and all of that value."""

    def __init__(
        self, initial_s: float, maximum_s: float, rand: Callable[[], float] = random.random
    ) -> None:
        """Start at `initial_s`, never wait longer than `maximum_s`."""
        if initial_s <= 0 or maximum_s < initial_s:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self._rand = rand
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt."""
        cap = min(self.maximum_s, self.initial_s * (2.0 ** min(self._attempt, 32)))
        self._attempt += 1
        return cap / 2 + self._rand() * cap / 2

    def reset(self) -> None:
        """A success: start again from the initial delay."""
        self._attempt = 0
