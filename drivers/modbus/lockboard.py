"""The lock/IO board over Modbus (design.md section 2): locks, closed sensors, guide lights."""

from __future__ import annotations

import time
from collections.abc import Callable

from drivers.modbus.transport import ModbusLink
from hal import BoardStatus

# Register map of the lock/IO board (the contract shared with sim/).
STATUS_INPUT = 0x0000  # input register: bit 0 alive, bit 1 tamper, bit 2 power fault
FIRMWARE_INPUT = 0x0001  # input register: firmware version
CLOSED_INPUTS = 0x0000  # discrete input d: drawer d closed
BOLT_INPUTS = 0x0100  # discrete input 0x100 + d: lock d bolt engaged
LOCK_COILS = 0x0000  # coil d: lock d energised (released), read-only mirror
GUIDE_LIGHT_COILS = 0x1000  # coil 0x1000 + 32 d + p: guide light of drawer d pocket p
RELEASE_HOLDING = 0x0100  # holding 0x100 + d: write N > 0 to release lock d for N ms
RELOCK_HOLDING = 0x0000  # holding 0: write RELOCK_MAGIC to relock every drawer now
RELOCK_MAGIC = 0xA5A5
MAX_RELEASE_MS = 10_000  # the board's maximum on-time; we never ask for more
MAX_DRAWERS = 32  # guide lights leave room for 32 pockets per drawer


class ModbusLockBoard:
    """`hal.LockBoard` over Modbus, at one unit (1 by default)."""

    def __init__(
        self,
        link: ModbusLink,
        *,
        drawer_count: int,
        unit: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= drawer_count <= MAX_DRAWERS:
            raise ValueError(f"drawer_count {drawer_count}: expected 1 to {MAX_DRAWERS}")
        if not 1 <= unit <= 247:
            raise ValueError(f"board unit {unit}: Modbus units are 1 to 247")
        self.drawer_count = drawer_count
        self.unit = unit
        self._link = link
        self._clock = clock
        link.attach()

    async def read_status(self) -> BoardStatus:
        """Status word, firmware, closed sensors, bolts and lock mirror: four requests."""
        n = self.drawer_count
        at = self._clock()
        status, firmware = await self._link.read_input_registers(self.unit, STATUS_INPUT, 2)
        closed = await self._link.read_discrete_inputs(self.unit, CLOSED_INPUTS, n)
        bolts = await self._link.read_discrete_inputs(self.unit, BOLT_INPUTS, n)
        released = await self._link.read_coils(self.unit, LOCK_COILS, n)
        return BoardStatus(
            alive=bool(status & 0b001),
            tamper=bool(status & 0b010),
            power_fault=bool(status & 0b100),
            firmware=firmware,
            closed=tuple(closed),
            released=tuple(released),
            bolt_engaged=tuple(bolts),
            at=at,
        )

    async def release(self, drawer: int, milliseconds: int) -> None:
        """Release one drawer's lock for at most MAX_RELEASE_MS; the board relocks by itself."""
        self._check_drawer(drawer)
        if milliseconds <= 0:
            raise ValueError(f"release of drawer {drawer} for {milliseconds} ms: must be > 0")
        pulse = min(milliseconds, MAX_RELEASE_MS)
        await self._link.write_register(self.unit, RELEASE_HOLDING + drawer, pulse)

    async def relock_all(self) -> None:
        """Relock every drawer now."""
        await self._link.write_register(self.unit, RELOCK_HOLDING, RELOCK_MAGIC)

    async def set_guide_light(self, drawer: int, pocket: int, on: bool) -> None:
        """Light (or darken) one pocket's guide light."""
        self._check_drawer(drawer)
        if not 0 <= pocket < 32:
            raise ValueError(f"pocket {pocket}: guide lights exist for pockets 0 to 31")
        await self._link.write_coil(self.unit, GUIDE_LIGHT_COILS + 32 * drawer + pocket, on)

    async def close(self) -> None:
        """Stop using the link (the last device on it closes it)."""
        await self._link.detach()

    def _check_drawer(self, drawer: int) -> None:
        """Refuse a drawer index the board does not have, before anything is sent."""
        if not 0 <= drawer < self.drawer_count:
            raise ValueError(f"drawer {drawer}: the board has drawers 0 to {self.drawer_count - 1}")
