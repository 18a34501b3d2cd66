"""One drawer as the coordinator tracks it: sensor edges, lock window, readings and settling."""

from __future__ import annotations

from dataclasses import dataclass, field

import hal
from cabinet.hardware.events import DrawerState


@dataclass
class DrawerTrack:
    """Mutable per-drawer state owned by the coordinator."""

    drawer: int
    pocket_count: int
    closed: bool | None = None  # None until the board has answered once
    released: bool = False  # the board's lock mirror at the last status read
    forced: bool = False
    release_until: float = 0.0  # monotonic end of the pulse we wrote
    release_written_at: float | None = None  # pending check that the lock did energise
    readings: list[hal.WeightReading | None] = field(default_factory=list)
    read_at: float = 0.0  # when the query behind `readings` was sent
    baseline: dict[int, int] | None = None  # last settled weights
    report_settle: bool = False  # closed since the last settle: WeightSettled is owed
    unstable_since: float | None = None
    prev_weights: dict[int, int] | None = None  # the previous poll's weights, when all stable
    confirmed: bool = False  # the last two polls agree: every pocket settled
    watchers: int = 0  # callers waiting in settled_weights()
    next_poll: float = 0.0
    stuck_relock_at: float = float("-inf")  # last relock written because this lock stuck

    def __post_init__(self) -> None:
        if not self.readings:
            self.readings = [None] * self.pocket_count

    @property
    def is_open(self) -> bool:
        """True when the sensor sees the drawer out (or has not been read yet)."""
        return self.closed is not True

    def fast(self, now: float) -> bool:
        """True when this drawer's pockets must be sampled at the fast cadence."""
        return (
            self.is_open
            or self.released
            or now < self.release_until
            or self.report_settle
            or self.unstable_since is not None
            or self.watchers > 0
        )

    def all_trustworthy(self) -> bool:
        """True when every pocket has a stable reading without overload or fault."""
        return all(r is not None and r.trustworthy for r in self.readings)

    def weights(self) -> dict[int, int]:
        """Every pocket's latest centigrams (only meaningful when all are trustworthy)."""
        return {i: r.centigrams for i, r in enumerate(self.readings) if r is not None}

    def unstable_pockets(self) -> tuple[int, ...]:
        """Pockets whose latest reading is missing or not stable."""
        return tuple(i for i, r in enumerate(self.readings) if r is None or not r.stable)

    def state(self, now: float) -> DrawerState:
        """A frozen copy for snapshots."""
        return DrawerState(
            drawer=self.drawer,
            closed=self.closed,
            released=self.released,
            forced=self.forced,
            release_until=self.release_until,
            settling=self.report_settle or self.unstable_since is not None,
            pockets=tuple(self.readings),
            settled=dict(self.baseline or {}),
        )
