"""The physics of a simulated cabinet: locks that relock by themselves, drawers, settling scales."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.hardware.layout import DrawerSpec, Layout

MAX_PULSE_MS = 10_000
FIRMWARE = 0x0103
CELL_FAULTS = ("unstable", "drift", "failed")


class Refused(Exception):
    """The cabinet would not do that (a locked drawer, an empty pocket, a bad number)."""


@dataclass(frozen=True, kw_only=True)
class Reading:
    """What a load cell reports at one instant."""

    centigrams: int
    stable: bool
    overload: bool = False
    fault: bool = False


@dataclass
class Pocket:
    """A pocket on its load cell: a number of identical items and the cell's own state."""

    count: int = 0
    unit_cg: int = 0
    zero_cg: int = 0  # what the cell subtracts after a tare
    settle_from_cg: int = 0
    settle_at: float = 0.0
    settle_until: float = 0.0
    fault: str = ""  # one of CELL_FAULTS, or "" when healthy
    drift_cg_per_s: float = 0.0
    drift_since: float = 0.0

    @property
    def gross_cg(self) -> int:
        """The true weight of what lies in the pocket."""
        return self.count * self.unit_cg


@dataclass
class Drawer:
    """A drawer: its lock pulse, its closed sensor, its guide lights and pockets."""

    spec: DrawerSpec
    closed: bool = True
    released_until: float = 0.0
    stuck: bool = False
    lights: list[bool] = field(default_factory=list)
    pockets: list[Pocket] = field(default_factory=list)


class Cabinet:
    """The whole simulated cabinet; every method reads the clock, so time drives the physics."""

    def __init__(
        self,
        layout: Layout,
        *,
        clock: Callable[[], float] = time.monotonic,
        settle_s: float = 0.3,
        noise_cg: int = 1,
        capacity_cg: int = 500_000,
        seed: int | None = None,
    ) -> None:
        """Build every drawer closed and locked, every pocket empty."""
        self.layout = layout
        self.clock = clock
        self.settle_s = self.default_settle_s = settle_s
        self.noise_cg = noise_cg
        self.capacity_cg = capacity_cg
        self.rng = random.Random(seed)
        self.drawers: dict[int, Drawer] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the state at power-on: closed, locked, empty, healthy, usual settling."""
        self.settle_s = self.default_settle_s
        self.tamper = False
        self.power_fault = False
        self.rebooting_until = 0.0
        self.drawers = {
            d.index: Drawer(
                spec=d,
                lights=[False] * d.pockets,
                pockets=[Pocket() for _ in range(d.pockets)],
            )
            for d in self.layout.drawers
        }

    # -- the lock/IO board -------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """False while the board is rebooting."""
        return self.clock() >= self.rebooting_until

    def drawer(self, index: int) -> Drawer:
        """The drawer with this index, or a refusal naming the drawers there are."""
        if index not in self.drawers:
            known = ", ".join(str(i) for i in sorted(self.drawers))
            raise Refused(f"no drawer {index} (drawers: {known})")
        return self.drawers[index]

    def pocket(self, index: int, pocket: int) -> Pocket:
        """One pocket of one drawer, or a refusal."""
        d = self.drawer(index)
        if not 0 <= pocket < len(d.pockets):
            raise Refused(f"drawer {index} has pockets 0..{len(d.pockets) - 1}, not {pocket}")
        return d.pockets[pocket]

    def energised(self, index: int) -> bool:
        """True while the board drives drawer d's lock coil (the coil mirror)."""
        return self.alive and self.clock() < self.drawer(index).released_until

    def bolt_engaged(self, index: int) -> bool:
        """True while the bolt is out: a stuck lock keeps it out even when energised."""
        return self.drawer(index).stuck or not self.energised(index)

    def ms_left(self, index: int) -> int:
        """Milliseconds left in drawer d's release pulse."""
        if not self.energised(index):
            return 0
        return max(0, round((self.drawer(index).released_until - self.clock()) * 1000))

    def release(self, index: int, ms: int) -> int:
        """Energise a lock for N ms (capped at the board's maximum); 0 relocks it now."""
        d = self.drawer(index)
        if not self.alive:
            raise Refused("the board is rebooting")
        if ms < 0:
            raise Refused("a pulse cannot be negative")
        pulse = min(ms, MAX_PULSE_MS)
        d.released_until = self.clock() + pulse / 1000 if pulse else 0.0
        return pulse

    def relock_all(self) -> None:
        """De-energise every lock now; the relock also acknowledges the tamper latch."""
        for d in self.drawers.values():
            d.released_until = 0.0
        self.tamper = False

    def set_light(self, index: int, pocket: int, on: bool) -> None:
        """Switch a pocket's guide light."""
        self.pocket(index, pocket)
        self.drawer(index).lights[pocket] = on

    def reboot(self, seconds: float) -> None:
        """Reset the board: alive drops for a while, locks relock, lights and latches clear."""
        self.rebooting_until = self.clock() + seconds
        for d in self.drawers.values():
            d.released_until = 0.0
            d.lights = [False] * len(d.lights)
        self.tamper = False

    # -- the person at the cabinet -----------------------------------------------------

    def open(self, index: int, *, force: bool = False) -> str:
        """Pull a drawer: refused while locked unless forced, which trips the tamper bit."""
        d = self.drawer(index)
        if not d.closed:
            raise Refused(f"drawer {index} is already open")
        free = self.energised(index) and not d.stuck
        if not free and not force:
            why = "its lock is stuck" if d.stuck and self.energised(index) else "it is locked"
            raise Refused(f"drawer {index} does not open: {why}")
        d.closed = False
        self._jolt(d)
        if not free:
            self.tamper = True
            return "forced"
        return "opened"

    def close(self, index: int) -> None:
        """Push a drawer shut: the bolt catches it again."""
        d = self.drawer(index)
        if d.closed:
            raise Refused(f"drawer {index} is already closed")
        d.closed = True
        self._jolt(d)

    def take(self, index: int, pocket: int, n: int) -> int:
        """Take n items out of a pocket of an open drawer; returns what is left."""
        p = self._reachable(index, pocket, n)
        if n > p.count:
            raise Refused(f"drawer {index} pocket {pocket} holds only {p.count}")
        self._change(p, p.count - n)
        return p.count

    def put(self, index: int, pocket: int, n: int) -> int:
        """Put n items of the pocket's unit weight into a pocket of an open drawer."""
        p = self._reachable(index, pocket, n)
        if p.unit_cg <= 0:
            raise Refused(f"drawer {index} pocket {pocket} has no unit weight: use load first")
        self._change(p, p.count + n)
        return p.count

    def load(self, index: int, pocket: int, n: int, unit_cg: int) -> None:
        """Set a pocket's content outright (commissioning): no drawer needs to be open."""
        p = self.pocket(index, pocket)
        if n < 0 or unit_cg <= 0:
            raise Refused("load needs a count >= 0 and a unit weight > 0 (centigrams)")
        p.unit_cg = unit_cg
        self._change(p, n)

    def tare(self, index: int, pocket: int) -> None:
        """Zero the load cell on what it carries now."""
        p = self.pocket(index, pocket)
        p.zero_cg = p.gross_cg

    # -- load cells --------------------------------------------------------------------

    def set_cell_fault(self, index: int, pocket: int, kind: str, rate: float = 0.0) -> None:
        """Make a load cell unstable, drift at rate cg/s while claiming stable, or fail."""
        if kind not in CELL_FAULTS:
            raise Refused(f"a load cell fault is one of {', '.join(CELL_FAULTS)}")
        p = self.pocket(index, pocket)
        p.fault = kind
        p.drift_cg_per_s = rate
        p.drift_since = self.clock()

    def reading(self, index: int, pocket: int) -> Reading:
        """What the pocket's load cell reports now, noise and settling included."""
        p = self.pocket(index, pocket)
        now = self.clock()
        if p.fault == "failed":
            return Reading(centigrams=0, stable=False, fault=True)
        value = float(p.gross_cg - p.zero_cg)
        stable = now >= p.settle_until
        if not stable:
            # A pocket still swinging: part way from the old weight, with a wide wobble.
            left = (p.settle_until - now) / max(p.settle_until - p.settle_at, 1e-9)
            value += (p.settle_from_cg - p.gross_cg) * left
            value += self.rng.uniform(-1, 1) * max(20 * self.noise_cg, p.unit_cg // 2)
        elif p.fault == "unstable":
            stable = False
            value += self.rng.uniform(-1, 1) * max(50, p.unit_cg)
        else:
            value += self.rng.randint(-self.noise_cg, self.noise_cg)
        if p.fault == "drift":
            value += p.drift_cg_per_s * (now - p.drift_since)
        centigrams = round(value)
        overload = centigrams > self.capacity_cg
        if overload:
            centigrams, stable = self.capacity_cg, False
        return Reading(centigrams=centigrams, stable=stable, overload=overload)

    def clear_faults(self) -> None:
        """Heal every lock and load cell and drop the tamper latch."""
        self.tamper = False
        self.power_fault = False
        self.rebooting_until = 0.0
        for d in self.drawers.values():
            d.stuck = False
            for p in d.pockets:
                p.fault, p.drift_cg_per_s = "", 0.0

    def _reachable(self, index: int, pocket: int, n: int) -> Pocket:
        """The pocket, if a hand can reach it: the drawer must be open."""
        p = self.pocket(index, pocket)
        if self.drawer(index).closed:
            raise Refused(f"drawer {index} is closed: open it first")
        if n <= 0:
            raise Refused("the number of items must be at least 1")
        return p

    def _change(self, p: Pocket, count: int) -> None:
        """Change a pocket's content and start it swinging."""
        before = p.gross_cg
        p.count = count
        self._swing(p, before)

    def _jolt(self, d: Drawer) -> None:
        """Moving a drawer shakes every load cell in it."""
        for p in d.pockets:
            self._swing(p, p.gross_cg)

    def _swing(self, p: Pocket, from_cg: int) -> None:
        """The reading settles settle_s after the last disturbance."""
        now = self.clock()
        p.settle_from_cg, p.settle_at, p.settle_until = from_cg, now, now + self.settle_s
