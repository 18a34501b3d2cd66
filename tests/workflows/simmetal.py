"""The same hands on the metal, but on `cabinet-sim hardware` reached through the real drivers."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import hal
from drivers.build import ModbusHardware, ScaleSpec, from_config
from sim.hardware.client import RunningSimulator

# The ward's layout as the simulator's configuration (central off: no TLS needed).
SIM_CONFIG = """
[[drawers]]
index = 0
pockets = 4
[[drawers]]
index = 1
pockets = 4
[[drawers]]
index = 2
pockets = 1
kind = "return_bin"

[central]
enabled = false
"""


class SteppedClock:
    """Real time whose wall clock a test may jump forward (hours pass between two doses).

    Monotonic time stays the machine's: the drivers stamp their answers with it and the
    coordinator drops answers that look older than the query.
    """

    def __init__(self, start: dt.datetime) -> None:
        """Keep what the object needs; nothing starts here."""
        self._start = start
        self._base = time.monotonic()
        self._offset = 0.0

    def now(self) -> dt.datetime:
        """Wall time: the ward's start plus what has passed."""
        return self._start + dt.timedelta(seconds=time.monotonic() - self._base + self._offset)

    def monotonic(self) -> float:
        """Real monotonic time."""
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        """Jump the wall clock forward."""
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self._offset += seconds


class RecordingBoard:
    """The real Modbus lock board, remembering every release written (as the fake does)."""

    def __init__(self, board: hal.LockBoard) -> None:
        """Keep what the object needs; nothing starts here."""
        self._board = board
        self.drawer_count = board.drawer_count
        self.writes: list[tuple[str, int, int]] = []

    @property
    def releases(self) -> list[tuple[int, int]]:
        """Every release written: (drawer, milliseconds)."""
        return [(d, ms) for kind, d, ms in self.writes if kind == "release"]

    async def read_status(self) -> hal.BoardStatus:
        """Read through the driver."""
        return await self._board.read_status()

    async def release(self, drawer: int, milliseconds: int) -> None:
        """Write through the driver and remember it."""
        await self._board.release(drawer, milliseconds)
        self.writes.append(("release", drawer, milliseconds))

    async def relock_all(self) -> None:
        """Relock through the driver and remember it."""
        await self._board.relock_all()
        self.writes.append(("relock_all", -1, 0))

    async def set_guide_light(self, drawer: int, pocket: int, on: bool) -> None:
        """Through the driver."""
        await self._board.set_guide_light(drawer, pocket, on)

    async def close(self) -> None:
        """Through the driver."""
        await self._board.close()


class SimMetal:
    """What a test's hands do, sent to the simulator's control port."""

    def __init__(self, sim: RunningSimulator) -> None:
        """Keep what the object needs; nothing starts here."""
        self.sim = sim
        self.hardware: ModbusHardware = from_config(
            transport="tcp", host="127.0.0.1", port=sim.modbus_port, timeout_s=0.3, retries=1,
            drawers=[ScaleSpec(drawer=0, pockets=4), ScaleSpec(drawer=1, pockets=4),
                     ScaleSpec(drawer=2, pockets=1)],
        )  # fmt: skip
        self.board = RecordingBoard(self.hardware.board)
        self.scales: dict[int, Any] = dict(self.hardware.scales)

    def load(self, drawer: int, pocket: int, *, count: int, unit_cg: int, tare_cg: int = 0) -> None:
        """Fill a pocket (the simulator's cells have no tare)."""
        self.sim.ok(f"load {drawer} {pocket} {count} {unit_cg}")

    def open(self, drawer: int) -> None:
        """Pull a drawer open (refused by the simulator while locked)."""
        self.sim.ok(f"open {drawer}")

    def force(self, drawer: int) -> None:
        """Pull a locked drawer open by force."""
        self.sim.ok(f"force {drawer}")

    def close(self, drawer: int) -> None:
        """Push a drawer shut."""
        self.sim.ok(f"close {drawer}")

    def take(self, drawer: int, pocket: int, n: int = 1) -> None:
        """Take items from an open drawer's pocket."""
        self.sim.ok(f"take {drawer} {pocket} {n}")

    def put(self, drawer: int, pocket: int, n: int = 1) -> None:
        """Put items into an open drawer's pocket."""
        self.sim.ok(f"put {drawer} {pocket} {n}")

    def released(self, drawer: int) -> bool:
        """True while the drawer's lock is energised."""
        return bool(self.sim.drawer(drawer)["released"])

    def is_closed(self, drawer: int) -> bool:
        """True when the drawer is shut."""
        return bool(self.sim.drawer(drawer)["closed"])

    def count(self, drawer: int, pocket: int) -> int:
        """The true number of items in a pocket."""
        return int(self.sim.drawer(drawer)["pockets"][pocket]["count"])
