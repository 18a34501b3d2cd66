"""In-memory cabinet that behaves like metal, exposed through fakes of the hal/ protocols.

A `FakeCabinet` holds drawers (closed or open, a lock released until a deadline on an injectable
clock, tamper latched when a locked drawer is forced) and pockets (a count of items of a unit
weight, in centigrams, that reads stable only once it has settled). Its `board`, `scales[d]` and
`scanner` implement `hal.LockBoard`, `hal.ScaleBank` and `hal.BarcodeReader`. Faults are injected
by name and cleared with `clear()`:

    cabinet = FakeCabinet(clock, drawers={0: 8, 1: 8})
    cabinet.load(0, 3, count=10, unit_cg=25_000)
    await cabinet.board.release(0, 5000); cabinet.open(0); cabinet.take(0, 3, 2); cabinet.close(0)
    cabinet.fail_board("down")         # every board call raises hal.DeviceDown
    cabinet.fail_scale(0, "nonsense")  # the drawer's scale module answers hal.ProtocolError
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import hal
from cabinet.clock import Clock
from tests.fakes.scanner import FakeBarcodeReader

__all__ = [
    "DrawerStillLocked",
    "FakeBarcodeReader",
    "FakeCabinet",
    "FakeLockBoard",
    "FakeScaleBank",
]

# What an injected device fault does to every call on that device.
DeviceFault = Literal["timeout", "down", "nonsense", "stale"]

MAX_ON_MS = 10_000  # the board caps a release at its maximum on-time (design, section 2)
UNSETTLED_WOBBLE_CG = 137  # an unsettled cell reads off by this much, alternating in sign


class DrawerStillLocked(Exception):
    """Pulling a drawer whose lock is not released: the bolt holds it shut."""


@dataclass
class _Pocket:
    """One pocket on its load cell."""

    count: int = 0
    unit_cg: int = 0
    tare_cg: int = 0
    drift_cg: int = 0
    settle_at: float = 0.0
    unstable: bool = False
    failed: bool = False
    overload: bool = False

    def true_cg(self) -> int:
        """What the cell would read once settled."""
        return self.tare_cg + self.count * self.unit_cg + self.drift_cg


@dataclass
class _Drawer:
    """One drawer: its sensor, its lock and its pockets."""

    pockets: list[_Pocket]
    closed: bool = True
    release_until: float = 0.0
    stuck: bool | None = None  # None: healthy; True: stuck released; False: never releases
    scale_fault: DeviceFault | None = None


def _raise_fault(device: str, fault: DeviceFault | None) -> None:
    """Raise what a device with this injected fault raises."""
    if fault == "timeout":
        raise hal.TransientHardwareError(device, "no answer within the timeout")
    if fault == "down":
        raise hal.DeviceDown(device, "3 consecutive requests failed")
    if fault == "nonsense":
        raise hal.ProtocolError(device, "exception response 0x04 (device failure)")


class FakeCabinet:
    """A whole cabinet in memory: drawers, pockets, lock board, scale banks and scanner."""

    def __init__(
        self,
        clock: Clock,
        *,
        drawers: Mapping[int, int] | None = None,
        settle_s: float = 0.5,
        firmware: int = 0x0103,
    ) -> None:
        self.clock = clock
        self.settle_s = settle_s
        self.firmware = firmware
        layout = dict(drawers) if drawers is not None else {d: 8 for d in range(3)}
        self.drawers: dict[int, _Drawer] = {
            d: _Drawer(pockets=[_Pocket() for _ in range(n)]) for d, n in sorted(layout.items())
        }
        self.tamper = False
        self.power_fault = False
        self.alive_at = 0.0  # the board answers "not alive" until this monotonic time
        self.board_fault: DeviceFault | None = None
        self.board_fault_left: int | None = None
        self.board = FakeLockBoard(self)
        self.scales = {d: FakeScaleBank(self, d) for d in self.drawers}
        self.scanner = FakeBarcodeReader(clock)

    # -- the story: what people do at the cabinet -------------------------------------------

    def load(self, drawer: int, pocket: int, *, count: int, unit_cg: int, tare_cg: int = 0) -> None:
        """Fill a pocket (commissioning): settled at once."""
        p = self._pocket(drawer, pocket)
        p.count, p.unit_cg, p.tare_cg, p.settle_at = count, unit_cg, tare_cg, 0.0

    def open(self, drawer: int) -> None:
        """Pull a drawer open; refused (DrawerStillLocked) unless its lock is released."""
        d = self._drawer(drawer)
        if d.closed and not self.released(drawer):
            raise DrawerStillLocked(f"drawer {drawer} is locked")
        d.closed = False

    def force(self, drawer: int) -> None:
        """Pull a drawer open by force: if it was locked, the board latches tamper."""
        d = self._drawer(drawer)
        if d.closed and not self.released(drawer):
            self.tamper = True
        d.closed = False

    def close(self, drawer: int) -> None:
        """Push a drawer shut: the bolt catches it; the pockets settle again."""
        d = self._drawer(drawer)
        d.closed = True
        for p in d.pockets:
            p.settle_at = max(p.settle_at, self.clock.monotonic() + self.settle_s)

    def take(self, drawer: int, pocket: int, n: int = 1) -> None:
        """Take n items out of a pocket of an open drawer."""
        p = self._reachable(drawer, pocket)
        if n < 0 or n > p.count:
            raise ValueError(f"cannot take {n} from a pocket holding {p.count}")
        p.count -= n
        p.settle_at = self.clock.monotonic() + self.settle_s

    def put(self, drawer: int, pocket: int, n: int = 1) -> None:
        """Put n items into a pocket of an open drawer."""
        p = self._reachable(drawer, pocket)
        if n < 0:
            raise ValueError("cannot put a negative number of items")
        p.count += n
        p.settle_at = self.clock.monotonic() + self.settle_s

    def drift(self, drawer: int, pocket: int, centigrams: int) -> None:
        """Make a cell's settled reading creep by some centigrams (a drifting cell, or a hand)."""
        p = self._pocket(drawer, pocket)
        p.drift_cg += centigrams
        p.settle_at = self.clock.monotonic() + self.settle_s

    def count(self, drawer: int, pocket: int) -> int:
        """The true number of items in a pocket."""
        return self._pocket(drawer, pocket).count

    def is_closed(self, drawer: int) -> bool:
        """True when the drawer is shut."""
        return self._drawer(drawer).closed

    def released(self, drawer: int) -> bool:
        """True while the drawer's lock is energised."""
        d = self._drawer(drawer)
        if d.stuck is not None:
            return d.stuck
        return self.clock.monotonic() < d.release_until

    # -- fault injection ---------------------------------------------------------------------

    def fail_board(self, fault: DeviceFault, *, times: int | None = None) -> None:
        """Make calls on the lock board fail this way until cleared (or for `times` calls)."""
        self.board_fault = fault
        self.board_fault_left = times

    def _board_fault(self) -> DeviceFault | None:
        """The board fault that applies to this call, counting down a limited one."""
        fault = self.board_fault
        if fault is not None and self.board_fault_left is not None:
            self.board_fault_left -= 1
            if self.board_fault_left <= 0:
                self.board_fault, self.board_fault_left = None, None
        return fault

    def fail_scale(self, drawer: int, fault: DeviceFault) -> None:
        """Make every call on one drawer's scale module fail this way until cleared."""
        self._drawer(drawer).scale_fault = fault

    def reboot_board(self, seconds: float) -> None:
        """The board reboots: every lock drops, it answers 'not alive' for a while."""
        self.alive_at = self.clock.monotonic() + seconds
        for d in self.drawers.values():
            d.release_until = 0.0

    def stick_lock(self, drawer: int, *, released: bool) -> None:
        """A lock stuck energised (released) or stuck shut (never releases)."""
        self._drawer(drawer).stuck = released

    def unstable_cell(self, drawer: int, pocket: int) -> None:
        """A cell that never settles."""
        self._pocket(drawer, pocket).unstable = True

    def fail_cell(self, drawer: int, pocket: int) -> None:
        """A cell that reports its sensor fault flag."""
        self._pocket(drawer, pocket).failed = True

    def overload_cell(self, drawer: int, pocket: int) -> None:
        """A cell that reports overload."""
        self._pocket(drawer, pocket).overload = True

    def clear(self) -> None:
        """Remove every injected fault (the tamper latch stays until a relock with all shut)."""
        self.board_fault, self.board_fault_left = None, None
        self.power_fault = False
        self.alive_at = 0.0
        for d in self.drawers.values():
            d.stuck = None
            d.scale_fault = None
            for p in d.pockets:
                p.unstable = p.failed = p.overload = False

    # -- helpers -----------------------------------------------------------------------------

    def _drawer(self, drawer: int) -> _Drawer:
        """The drawer, or ValueError for a drawer this cabinet does not have."""
        try:
            return self.drawers[drawer]
        except KeyError:
            raise ValueError(f"no drawer {drawer}") from None

    def _pocket(self, drawer: int, pocket: int) -> _Pocket:
        """The pocket, or ValueError."""
        pockets = self._drawer(drawer).pockets
        if not 0 <= pocket < len(pockets):
            raise ValueError(f"no pocket {pocket} in drawer {drawer}")
        return pockets[pocket]

    def _reachable(self, drawer: int, pocket: int) -> _Pocket:
        """A pocket a hand can reach: its drawer must be open."""
        if self._drawer(drawer).closed:
            raise ValueError(f"drawer {drawer} is closed: pocket {pocket} cannot be reached")
        return self._pocket(drawer, pocket)


class FakeLockBoard:
    """`hal.LockBoard` over a FakeCabinet; every write is recorded in `writes`."""

    def __init__(self, cabinet: FakeCabinet) -> None:
        self._cabinet = cabinet
        self.drawer_count = max(cabinet.drawers) + 1
        self.writes: list[tuple[str, int, int]] = []  # ("release", d, ms), ("relock_all", -1, 0)
        self.lights: set[tuple[int, int]] = set()
        self.status_reads = 0
        self.closed_transport = False

    @property
    def releases(self) -> list[tuple[int, int]]:
        """Every release written: (drawer, milliseconds)."""
        return [(d, ms) for kind, d, ms in self.writes if kind == "release"]

    async def read_status(self) -> hal.BoardStatus:
        """The board's status bits and every drawer's sensor and lock."""
        cab = self._cabinet
        now = cab.clock.monotonic()
        fault = cab._board_fault()
        _raise_fault("board", fault)
        self.status_reads += 1
        n = self.drawer_count
        closed = tuple(cab.drawers[d].closed if d in cab.drawers else True for d in range(n))
        released = tuple(cab.released(d) if d in cab.drawers else False for d in range(n))
        return hal.BoardStatus(
            alive=now >= cab.alive_at,
            tamper=cab.tamper,
            power_fault=cab.power_fault,
            firmware=cab.firmware,
            closed=closed,
            released=released,
            bolt_engaged=tuple(c and not r for c, r in zip(closed, released, strict=True)),
            at=now - 5.0 if fault == "stale" else now,
        )

    async def release(self, drawer: int, milliseconds: int) -> None:
        """Energise one lock for a bounded time (capped at the board's maximum on-time)."""
        cab = self._cabinet
        _raise_fault("board", cab._board_fault())
        if drawer not in cab.drawers or milliseconds <= 0:
            raise hal.ProtocolError("board", f"exception response 0x02 for drawer {drawer}")
        self.writes.append(("release", drawer, milliseconds))
        if cab.clock.monotonic() >= cab.alive_at:
            ms = min(milliseconds, MAX_ON_MS)
            cab.drawers[drawer].release_until = cab.clock.monotonic() + ms / 1000

    async def relock_all(self) -> None:
        """Relock every drawer; with every drawer shut this also clears the tamper latch."""
        cab = self._cabinet
        _raise_fault("board", cab._board_fault())
        self.writes.append(("relock_all", -1, 0))
        for d in cab.drawers.values():
            d.release_until = 0.0
        if all(d.closed for d in cab.drawers.values()):
            cab.tamper = False

    async def set_guide_light(self, drawer: int, pocket: int, on: bool) -> None:
        """Light or darken one pocket's guide light."""
        _raise_fault("board", self._cabinet._board_fault())
        self._cabinet._pocket(drawer, pocket)
        if on:
            self.lights.add((drawer, pocket))
        else:
            self.lights.discard((drawer, pocket))

    async def close(self) -> None:
        """Release the (imaginary) transport."""
        self.closed_transport = True


class FakeScaleBank:
    """`hal.ScaleBank` of one drawer over a FakeCabinet."""

    def __init__(self, cabinet: FakeCabinet, drawer: int) -> None:
        self._cabinet = cabinet
        self.drawer = drawer
        self.pocket_count = len(cabinet.drawers[drawer].pockets)
        self.reads = 0
        self.closed_transport = False

    async def read_all(self) -> tuple[hal.WeightReading, ...]:
        """Every pocket's reading; an unsettled cell wobbles around its true weight."""
        cab = self._cabinet
        d = cab.drawers[self.drawer]
        now = cab.clock.monotonic()
        _raise_fault(f"scale{self.drawer}", d.scale_fault)
        self.reads += 1
        at = now - 5.0 if d.scale_fault == "stale" else now
        readings = []
        for i, p in enumerate(d.pockets):
            settled = now >= p.settle_at and not p.unstable
            wobble = 0 if settled else UNSETTLED_WOBBLE_CG * (1 if self.reads % 2 else -1)
            readings.append(
                hal.WeightReading(
                    drawer=self.drawer,
                    pocket=i,
                    centigrams=p.true_cg() + wobble,
                    stable=settled,
                    overload=p.overload,
                    fault=p.failed,
                    at=at,
                )
            )
        return tuple(readings)

    async def tare(self, pocket: int) -> None:
        """Zero one pocket's cell at its current load."""
        cab = self._cabinet
        _raise_fault(f"scale{self.drawer}", cab.drawers[self.drawer].scale_fault)
        p = cab._pocket(self.drawer, pocket)
        p.tare_cg -= p.true_cg()

    async def close(self) -> None:
        """Release the (imaginary) transport."""
        self.closed_transport = True
