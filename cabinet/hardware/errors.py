"""Errors the hardware coordinator raises to its callers (workflows, UI)."""

from __future__ import annotations

import enum

from cabinet.errors import CabinetError


class RefusalCode(enum.Enum):
    """Why a release was refused; the value is a stable, translatable code."""

    NOT_STARTED = "not_started"
    LOCKED_DOWN = "locked_down"
    UNKNOWN_DRAWER = "unknown_drawer"
    BAD_DURATION = "bad_duration"
    BOARD_UNAVAILABLE = "board_unavailable"
    BOARD_NOT_ALIVE = "board_not_alive"
    TAMPER = "tamper"
    POWER_FAULT = "power_fault"
    LOCK_FAULT = "lock_fault"
    SCALE_UNAVAILABLE = "scale_unavailable"
    WEIGHTS_UNTRUSTWORTHY = "weights_untrustworthy"
    DRAWER_FORCED = "drawer_forced"
    ANOTHER_DRAWER_OPEN = "another_drawer_open"
    WRITE_FAILED = "write_failed"


class HardwareUnavailable(CabinetError):
    """The hardware cannot do what was asked right now (device down, not settled in time)."""


class ReleaseRefused(HardwareUnavailable):
    """A lock release was refused; nothing was written to the board (except WRITE_FAILED)."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(f"release refused ({code.value}): {message}")
        self.code = code
        self.reason = message


class SettleTimeout(HardwareUnavailable):
    """A drawer's pockets did not all become stable in time."""

    def __init__(self, drawer: int, pockets: tuple[int, ...], timeout_s: float) -> None:
        super().__init__(
            f"drawer {drawer}: pockets {list(pockets)} not stable within {timeout_s:g} s"
        )
        self.drawer = drawer
        self.pockets = pockets
