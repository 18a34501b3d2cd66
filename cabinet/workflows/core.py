"""What every workflow shares: the store, the hardware port, the clock, the session and the task."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import hal
from cabinet.clock import Clock, iso
from cabinet.domain.refusals import Language, RefusalCode, Refused
from cabinet.domain.roles import Role
from cabinet.hardware.errors import HardwareUnavailable
from cabinet.hardware.events import CabinetSnapshot, DrawerState, HardwareEvent
from cabinet.store import Store
from cabinet.workflows.events import EventHub, RefusedEvent
from cabinet.workflows.machines import Task

log = logging.getLogger("cabinet.workflows")


class HardwarePort(Protocol):
    """What the workflows need of the hardware coordinator (the only owner of the locks)."""

    async def release(self, drawer: int, *, reason: str) -> None:
        """Release one drawer's lock for a bounded time, or raise HardwareUnavailable."""
        ...

    async def settled_weights(self, drawer: int, timeout_s: float = ...) -> Mapping[int, int]:
        """Every pocket's settled weight in centigrams, waiting until all are stable."""
        ...

    def check_release(self, drawer: int) -> None:
        """Raise HardwareUnavailable now if a release of this drawer would be refused."""
        ...

    async def acknowledge_tamper(self) -> None:
        """After a person checked a forced drawer: relock all, clearing the board's latch."""
        ...

    async def relock_all(self, reason: str) -> None:
        """Relock every drawer now, or raise HardwareUnavailable."""
        ...

    async def set_guide_light(self, drawer: int, pocket: int, on: bool) -> None:
        """Light or darken a pocket's guide light."""
        ...

    async def darken_all(self) -> None:
        """Darken every guide light."""
        ...

    def lock_down(self, reason: str) -> None:
        """Latch every drawer locked until the process restarts."""
        ...

    def subscribe(self) -> asyncio.Queue[HardwareEvent]:
        """A queue of every hardware event from now on."""
        ...

    def unsubscribe(self, queue: asyncio.Queue[HardwareEvent]) -> None:
        """Stop delivering to this queue."""
        ...

    def snapshot(self) -> CabinetSnapshot:
        """The cabinet as last seen."""
        ...

    def drawer_state(self, drawer: int) -> DrawerState | None:
        """One drawer as last seen, or None for a drawer the cabinet does not have."""
        ...


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Workflow rules taken from the configuration."""

    cabinet_id: str = "CAB-DEMO-01"
    care_unit: str = ""
    language: Language = "fr"
    inactivity_s: float = 60.0
    sign_out_on_close: bool = False
    max_failed_pins: int = 5
    lockout_minutes: float = 15.0
    settle_timeout_s: float = 10.0
    # A release that the user never used is closed (counted back) after this long.
    release_expiry_s: float = 30.0
    return_bin_drawer: int | None = None
    # A badge read waits this long for its PIN: whoever comes next must not inherit it.
    badge_hold_s: float = 60.0
    # How long the baseline saved when a task became ready may stand for its release without
    # a fresh commit (drawer.arm): beyond it, the release commits first, as a check of the disk.
    armed_baseline_s: float = 30.0


@dataclass
class Session:
    """The one user signed in at the screen, and the one patient selected."""

    user_id: str
    name: str
    roles: frozenset[Role]
    last_activity: float
    patient_id: str | None = None
    witness: str | None = None  # a second user who signed in at the same screen


# A named point of a task where tests (and diagnostics) may hook in: (point name, task).
Checkpoint = Callable[[str, Task], None]


@dataclass
class Core:
    """The state every workflow module works on; owned by the Cabinet facade."""

    store: Store
    hardware: HardwarePort
    clock: Clock
    settings: Settings
    hub: EventHub = field(default_factory=EventHub)
    session: Session | None = None
    pending_badge: str | None = None  # user id recognised by badge, awaiting the PIN
    pending_badge_at: float = 0.0
    # The raw code of a badge read while someone is signed in: a witness about to type a PIN.
    witness_badge: str | None = None
    witness_badge_at: float = 0.0
    task: Task | None = None
    degraded: str = ""  # why no drawer may open (ledger broken, lock-down), or ""
    hardware_down: set[str] = field(default_factory=set)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    last_pack: hal.Scan | None = None  # the last drug pack read, for the restock screen

    def now(self) -> dt.datetime:
        """Wall-clock time."""
        return self.clock.now()

    def now_iso(self) -> str:
        """Wall-clock time as the store writes it."""
        return iso(self.clock.now())

    def checkpoint(self, name: str, task: Task) -> None:
        """Call every registered checkpoint hook at this named point of a task."""
        for hook in list(self.checkpoints):
            hook(name, task)

    async def weigh(self, drawer: int) -> dict[int, int]:
        """Settled weights of a drawer, bounded in real time too; HardwareUnavailable if not."""
        limit = self.settings.settle_timeout_s
        try:
            async with asyncio.timeout(limit * 1.5):
                weights = await self.hardware.settled_weights(drawer, timeout_s=limit)
        except TimeoutError:
            raise HardwareUnavailable(f"drawer {drawer}: weights did not settle") from None
        return dict(weights)

    def settled_view(self, drawer: int) -> dict[int, int] | None:
        """The coordinator's settled weights of a closed, quiet drawer, or None.

        A closed, settled drawer whose every cell reads stable is what the coordinator last
        settled (any later change would have been published): no need to wait for a poll.
        """
        state = self.hardware.drawer_state(drawer)
        if (
            state is not None
            and state.closed is True
            and not state.settling
            and state.settled
            and all(r is not None and r.trustworthy for r in state.pockets)
            and len(state.settled) == len(state.pockets)
        ):
            return dict(state.settled)
        return None

    async def baseline(self, drawer: int) -> dict[int, int]:
        """The drawer's weights before a release: the coordinator's settled view, or a weighing."""
        view = self.settled_view(drawer)
        return view if view is not None else await self.weigh(drawer)

    def hold_badge(self, user_id: str) -> None:
        """Remember who a badge read at the sign-in screen belongs to, until the PIN."""
        self.pending_badge, self.pending_badge_at = user_id, self.clock.monotonic()

    def _expired(self, read_at: float) -> bool:
        """True when a badge read at `read_at` has waited longer than the hold time."""
        return self.clock.monotonic() - read_at > self.settings.badge_hold_s

    def held_badge(self) -> str | None:
        """The user id of the badge awaiting its PIN, unless it has waited too long."""
        if self.pending_badge is None or self.session is not None:
            return None
        if self._expired(self.pending_badge_at):
            self.pending_badge = None
        return self.pending_badge

    def hold_witness_badge(self, code: str) -> None:
        """Remember a badge read during a session: a second person about to witness."""
        self.witness_badge, self.witness_badge_at = code, self.clock.monotonic()

    def held_witness_badge(self) -> str | None:
        """The witness's badge code, while a session lasts and not older than the hold time."""
        if self.witness_badge is None or self.session is None:
            return None
        if self._expired(self.witness_badge_at):
            self.witness_badge = None
        return self.witness_badge

    def refuse(self, code: RefusalCode, **params: Any) -> NoReturn:
        """Publish the refusal for the screen and raise it; nothing has been changed."""
        self.hub.publish(RefusedEvent(code=code, params=dict(params)))
        raise Refused(code, **params)

    def touch(self) -> None:
        """Record user activity (postpones the inactivity sign-out)."""
        if self.session is not None:
            self.session.last_activity = self.clock.monotonic()

    def signed_in(self) -> Session:
        """The current session, or a NOT_SIGNED_IN refusal."""
        if self.session is None:
            self.refuse(RefusalCode.NOT_SIGNED_IN)
        self.touch()
        return self.session
