"""Random stories of faults, hands and releases: the coordinator releases exactly when safe.

After each release attempt (made once the coordinator has had time to see the cabinet), the
truth held by the fake cabinet decides: a release goes to the board only if no device is
faulty, nothing is tampered, every cell of the drawer is sound and no other drawer is open or
released; otherwise it is refused, nothing is written, and a fault always has an alarm. A
forced drawer is reported by the very next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cabinet.clock import DrivenClock
from cabinet.hardware import (
    DrawerForced,
    HardwareCoordinator,
    HardwareEvent,
    HardwareUnavailable,
    ReleaseRefused,
)
from tests.fakes import DrawerStillLocked, FakeCabinet

DRAWERS = (0, 1, 2)
POCKETS = 3
PULSE_MS = 5000
FAULTS = ("timeout", "down", "nonsense", "stale")


class CabinetStory(RuleBasedStateMachine):
    """One cabinet, one coordinator, a driven clock and a person doing random things."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = DrivenClock()
        self.cab = FakeCabinet(self.clock, drawers={d: POCKETS for d in DRAWERS}, settle_s=0.3)
        for d in DRAWERS:
            for p in range(POCKETS):
                self.cab.load(d, p, count=6, unit_cg=120 + 15 * p, tare_cg=800)
        self.coord = HardwareCoordinator(
            self.cab.board,
            self.cab.scales,
            self.clock,
            lock_pulse_ms=PULSE_MS,
            open_drawer_hz=25,
            idle_poll_s=0.5,
            settle_s=0.3,
            settle_timeout_s=1.5,
            retry_interval_s=0,
            autopoll=False,
        )
        self.run(self.coord.start())
        self.events: asyncio.Queue[HardwareEvent] = self.coord.subscribe()
        # Pulses we saw granted: drawer -> (end, index in board.writes when granted).
        self.grants: dict[int, tuple[float, int]] = {}
        self.latched = False
        self.last_grant: dict[int, float] = {}
        self.forced_open: set[int] = set()  # drawers pulled open without a grant, not yet shut

    def run(self, coro: Any) -> Any:
        """Run a coroutine on this story's loop."""
        return self.loop.run_until_complete(coro)

    def step(self, seconds: float) -> None:
        """Let time pass, polling at the fast cadence."""
        self.run(self._step(seconds))

    async def _step(self, seconds: float) -> None:
        """The polls of `step`, on the loop."""
        remaining = seconds
        while remaining > 1e-9:
            self.clock.advance(min(self.coord.fast_period_s, remaining))
            remaining -= self.coord.fast_period_s
            await self.coord.poll_once()
            await asyncio.sleep(0)

    def teardown(self) -> None:
        """Stop the coordinator and close the loop."""
        self.run(self.coord.stop())
        self.loop.close()

    # -- the truth --------------------------------------------------------------------------

    def granted(self, drawer: int) -> bool:
        """A pulse we granted is still running and no relock was written since."""
        if drawer not in self.grants:
            return False
        end, index = self.grants[drawer]
        relocked = any(kind == "relock_all" for kind, _, _ in self.cab.board.writes[index:])
        return self.clock.monotonic() < end and not relocked

    def faulty(self, drawer: int) -> bool:
        """A fault the coordinator must see: anything wrong with the board or this drawer."""
        cab = self.cab
        pockets = cab.drawers[drawer].pockets
        return (
            cab.board_fault is not None
            or cab.power_fault
            or self.clock.monotonic() < cab.alive_at
            or cab.tamper
            or bool(self.forced_open)
            # A lock stuck released inside a pulse we granted looks exactly like that pulse.
            or any(cab.drawers[d].stuck is True and not self.granted(d) for d in DRAWERS)
            or cab.drawers[drawer].scale_fault is not None
            or any(p.failed or p.overload or p.unstable for p in pockets)
        )

    def busy(self, drawer: int) -> bool:
        """Another drawer is open, released, or inside a pulse we granted."""
        return any(
            not self.cab.is_closed(d) or self.cab.released(d) or self.granted(d)
            for d in DRAWERS
            if d != drawer
        )

    # -- what people and metal do -----------------------------------------------------------

    @rule(fault=st.sampled_from(FAULTS))
    def board_fails(self, fault: str) -> None:
        """The lock board stops answering sensibly."""
        self.cab.fail_board(fault)  # type: ignore[arg-type]

    @rule(drawer=st.sampled_from(DRAWERS), fault=st.sampled_from(FAULTS))
    def scale_fails(self, drawer: int, fault: str) -> None:
        """A drawer's scale module stops answering sensibly."""
        self.cab.fail_scale(drawer, fault)  # type: ignore[arg-type]

    @rule(
        drawer=st.sampled_from(DRAWERS),
        pocket=st.integers(0, POCKETS - 1),
        kind=st.sampled_from(("failed", "overload", "unstable")),
    )
    def cell_fails(self, drawer: int, pocket: int, kind: str) -> None:
        """A load cell reports a fault, overload, or never settles."""
        {
            "failed": self.cab.fail_cell,
            "overload": self.cab.overload_cell,
            "unstable": self.cab.unstable_cell,
        }[kind](drawer, pocket)

    @rule(drawer=st.sampled_from(DRAWERS))
    def lock_sticks_released(self, drawer: int) -> None:
        """A lock stays energised."""
        self.cab.stick_lock(drawer, released=True)

    @rule()
    def board_reboots(self) -> None:
        """The board reboots for a second."""
        self.cab.reboot_board(1.0)

    @rule()
    def power_fails(self) -> None:
        """The board reports a power fault."""
        self.cab.power_fault = True

    @rule()
    def technician_heals(self) -> None:
        """Every fault is repaired."""
        self.cab.clear()

    @rule()
    def tamper_acknowledged(self) -> None:
        """A person checked the forced drawer and relocks everything."""
        with contextlib.suppress(HardwareUnavailable):
            self.run(self.coord.acknowledge_tamper())

    @rule(drawer=st.sampled_from(DRAWERS))
    def nurse_opens(self, drawer: int) -> None:
        """A nurse pulls the drawer she was given (the bolt may still hold it)."""
        if not self.granted(drawer):
            return
        try:
            self.cab.open(drawer)
        except DrawerStillLocked:
            return
        self.step(self.coord.fast_period_s)

    @precondition(lambda self: any(self.cab.is_closed(d) for d in DRAWERS))
    @rule(drawer=st.sampled_from(DRAWERS))
    def someone_forces(self, drawer: int) -> None:
        """A drawer nobody was given is pulled open (locked, or through a stuck lock):
        reported as forced by the very next poll."""
        seen_shut = self.coord.snapshot().drawers[drawer].closed is True
        recent = self.clock.monotonic() - self.last_grant.get(drawer, float("-inf"))
        if not self.cab.is_closed(drawer) or not seen_shut or recent < PULSE_MS / 1000 + 1:
            return  # polling cannot tell a drawer it never saw shut was opened again
        while not self.events.empty():
            self.events.get_nowait()
        self.cab.force(drawer)
        self.forced_open.add(drawer)
        self.step(self.coord.fast_period_s)
        seen = [self.events.get_nowait() for _ in range(self.events.qsize())]
        if self.cab.board_fault is None:
            assert any(isinstance(e, DrawerForced) and e.drawer == drawer for e in seen)

    @rule(drawer=st.sampled_from(DRAWERS), pocket=st.integers(0, POCKETS - 1))
    def nurse_takes_one(self, drawer: int, pocket: int) -> None:
        """A nurse takes an item from an open drawer."""
        if not self.cab.is_closed(drawer) and self.cab.count(drawer, pocket) > 0:
            self.cab.take(drawer, pocket, 1)

    @rule(drawer=st.sampled_from(DRAWERS))
    def nurse_closes(self, drawer: int) -> None:
        """A nurse pushes a drawer shut (a hand is slower than one poll)."""
        self.cab.close(drawer)
        self.forced_open.discard(drawer)
        self.step(self.coord.fast_period_s)

    @rule(seconds=st.sampled_from((0.04, 0.3, 1.0, 6.0)))
    def time_passes(self, seconds: float) -> None:
        """The cabinet runs on."""
        self.step(seconds)

    @precondition(lambda self: not self.latched)
    @rule()
    def ledger_breaks(self) -> None:
        """Degraded mode: latched locked for good."""
        self.coord.lock_down("ledger broken")
        self.latched = True

    @rule(drawer=st.sampled_from(DRAWERS))
    def release_requested(self, drawer: int) -> None:
        """After the coordinator has had time to look, the release matches the truth."""
        self.step(2.5)
        safe = not self.latched and not self.faulty(drawer) and not self.busy(drawer)
        writes = len(self.cab.board.writes)
        try:
            self.run(self.coord.release(drawer, reason="story"))
        except ReleaseRefused:
            assert not safe, self.coord.snapshot()
            assert self.cab.board.releases == [
                (d, ms) for kind, d, ms in self.cab.board.writes[:writes] if kind == "release"
            ]
            if self.faulty(drawer):
                assert self.coord.snapshot().alarms, "a fault without an alarm"
            return
        assert safe, (self.cab.board_fault, self.cab.tamper, self.coord.snapshot())
        assert self.cab.board.writes[-1] == ("release", drawer, PULSE_MS)
        self.grants[drawer] = (self.clock.monotonic() + PULSE_MS / 1000, len(self.cab.board.writes))
        self.last_grant[drawer] = self.clock.monotonic()

    @invariant()
    def pulses_are_bounded(self) -> None:
        """No release longer than the configured pulse is ever written."""
        assert all(ms <= PULSE_MS for _, ms in self.cab.board.releases)


CabinetStory.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_cabinet_story = CabinetStory.TestCase
