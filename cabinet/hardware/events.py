"""What the hardware coordinator publishes: events, alarms and the cabinet snapshot."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import hal


class AlarmCode(enum.Enum):
    """Why the hardware raised an alarm; the value is the stable code recorded in the ledger."""

    DEVICE_DOWN = "device_down"  # a device stopped answering
    PROTOCOL_ERROR = "protocol_error"  # a device answered nonsense
    STALE_ANSWER = "stale_answer"  # a device answered with data older than the query
    BOARD_NOT_ALIVE = "board_not_alive"  # the board reports it is not running (rebooting)
    POWER_FAULT = "power_fault"  # the board reports a power fault
    TAMPER = "tamper"  # the board latched tamper: a locked drawer was pulled open
    DRAWER_FORCED = "drawer_forced"  # we saw a drawer open while its lock was not released
    LOCK_STUCK_RELEASED = "lock_stuck_released"  # a lock stays energised without a release
    LOCK_DID_NOT_RELEASE = "lock_did_not_release"  # a release was written but the lock held
    CELL_FAULT = "cell_fault"  # a load cell reports its sensor fault flag
    CELL_OVERLOAD = "cell_overload"  # a load cell reports overload
    CELL_UNSTABLE = "cell_unstable"  # a load cell did not settle within the settle timeout
    LOCKED_DOWN = "locked_down"  # the coordinator is latched locked (degraded mode)


@dataclass(frozen=True, kw_only=True, slots=True)
class HardwareAlarm:
    """An alarm raised (or, with `cleared`, ended) by the coordinator."""

    code: AlarmCode
    subject: str  # "board", "scale3", "drawer 3", "drawer 3 pocket 5", "cabinet"
    message: str
    at: float
    cleared: bool = False

    @property
    def key(self) -> tuple[AlarmCode, str]:
        """What identifies one alarm while it stays active."""
        return (self.code, self.subject)


@dataclass(frozen=True, kw_only=True, slots=True)
class DrawerOpened:
    """A drawer left its closed sensor while its lock was released."""

    drawer: int
    at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class DrawerClosed:
    """A drawer is back on its closed sensor; its weights will settle next."""

    drawer: int
    at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class DrawerForced:
    """A drawer left its closed sensor while its lock was NOT released: tamper."""

    drawer: int
    at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class WeightSettled:
    """Every pocket of a drawer is stable again; deltas are against the previous settled state.

    Emitted after a drawer closes and its cells settle, and for a closed drawer whenever a
    settled weight moved by more than the noise band (which is always a discrepancy).
    """

    drawer: int
    deltas: Mapping[int, int]  # pocket -> change in centigrams since the last settle (non-zero)
    weights: Mapping[int, int]  # pocket -> settled centigrams now (every pocket)
    at: float
    drawer_closed: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceDownEvent:
    """A device failed `down_after_failures` polls in a row (or its driver said so)."""

    device: str
    reason: str
    at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceBack:
    """A device that was down answers sensibly again."""

    device: str
    at: float


HardwareEvent = (
    DrawerOpened
    | DrawerClosed
    | DrawerForced
    | WeightSettled
    | DeviceDownEvent
    | DeviceBack
    | HardwareAlarm
)


@dataclass(frozen=True, kw_only=True, slots=True)
class DrawerState:
    """One drawer as the coordinator last saw it."""

    drawer: int
    closed: bool | None  # None until the board has been read once
    released: bool  # the board's lock mirror
    forced: bool  # opened without a release and not yet shut again
    release_until: float  # monotonic deadline of our last release (0: none)
    settling: bool  # closed (or watched) and waiting for every pocket to be stable
    pockets: tuple[hal.WeightReading | None, ...]  # latest reading per pocket
    settled: Mapping[int, int] = field(default_factory=dict)  # last settled centigrams


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceState:
    """Availability of one device."""

    device: str
    available: bool  # the last call succeeded
    down: bool  # marked down after repeated failures
    failures: int  # consecutive failed polls
    last_error: str
    last_ok: float  # monotonic time of the last good answer (0: never)


@dataclass(frozen=True, kw_only=True, slots=True)
class CabinetSnapshot:
    """The whole cabinet at one moment, for screens, heartbeats and tests."""

    at: float
    board: hal.BoardStatus | None
    drawers: Mapping[int, DrawerState]
    devices: Mapping[str, DeviceState]
    alarms: tuple[HardwareAlarm, ...]
    locked_down: str | None  # the latch reason, or None

    @property
    def healthy(self) -> bool:
        """True when no alarm is active and every device answers."""
        return not self.alarms and all(d.available for d in self.devices.values())
