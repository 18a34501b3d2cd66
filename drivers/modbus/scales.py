"""A drawer's scale module over Modbus: every pocket's weight in as few requests as possible."""

from __future__ import annotations

import time
from collections.abc import Callable

from drivers.modbus.codec import (
    ScaleProfile,
    decode_flags,
    decode_status,
    decode_weights,
    int32,
    to_centigrams,
)
from drivers.modbus.transport import ModbusLink
from hal import PermanentHardwareError, ProtocolError, WeightReading


class ModbusScaleBank:
    """`hal.ScaleBank` for one drawer, read through a scale profile.

    With a "bank" profile (the cabinet's own module) a poll is two requests whatever the number
    of pockets: one read of every weight, one of every status. With a "pocket" profile (one
    HX711-class transmitter per pocket, at unit `unit + pocket`) it is two requests per pocket.
    Statuses are read before weights so that a weight is never labelled with a status older
    than itself; the coordinator still waits for consecutive stable readings before counting.
    """

    def __init__(
        self,
        link: ModbusLink,
        *,
        drawer: int,
        pocket_count: int,
        unit: int,
        profile: ScaleProfile,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if pocket_count < 1 or pocket_count > 60:
            raise ValueError(f"pocket_count {pocket_count}: expected 1 to 60")
        last_unit = unit + (pocket_count - 1 if profile.layout == "pocket" else 0)
        if unit < 1 or last_unit > 247:
            raise ValueError(f"scale units {unit}..{last_unit}: Modbus units are 1 to 247")
        self.drawer = drawer
        self.pocket_count = pocket_count
        self.unit = unit
        self.profile = profile
        self._link = link
        self._clock = clock
        link.attach()

    @property
    def device(self) -> str:
        """The name this scale module goes by in errors and logs."""
        return f"scales[drawer {self.drawer}] {self._link.device_name(self.unit)}"

    async def read_all(self) -> tuple[WeightReading, ...]:
        """Read every pocket's weight and status, in pocket order."""
        if self.profile.layout == "bank":
            return await self._read_bank()
        return tuple([await self._read_pocket(p) for p in range(self.pocket_count)])

    async def tare(self, pocket: int) -> None:
        """Tare one pocket's load cell (only where the profile has a tare register)."""
        self._check_pocket(pocket)
        if self.profile.tare_address is None:
            raise PermanentHardwareError(
                self.device,
                f"profile {self.profile.name!r} has no tare register: tare in software",
            )
        await self._link.write_register(self.unit, self.profile.tare_address + pocket, 1)

    async def close(self) -> None:
        """Stop using the link (the last device on it closes it)."""
        await self._link.detach()

    async def _read(self, unit: int, address: int, count: int) -> list[int]:
        """Read registers from the profile's table."""
        if self.profile.table == "input":
            return await self._link.read_input_registers(unit, address, count)
        return await self._link.read_holding_registers(unit, address, count)

    async def _read_bank(self) -> tuple[WeightReading, ...]:
        """One read of every status and one of every weight of a bank module."""
        n = self.pocket_count
        at = self._clock()
        status_words = await self._read(self.unit, self.profile.status_address, n)
        weight_words = await self._read(self.unit, self.profile.weight_address, 2 * n)
        try:
            flags = decode_flags(self.profile, status_words)
            weights = decode_weights(self.profile, weight_words, n)
        except ValueError as exc:
            raise ProtocolError(self.device, f"undecodable answer: {exc}") from exc
        drawer = self.drawer
        return tuple(
            WeightReading(
                drawer=drawer,
                pocket=p,
                centigrams=weights[p],
                stable=stable,
                overload=overload,
                fault=fault,
                at=at,
            )
            for p, (stable, overload, fault) in enumerate(flags)
        )

    async def _read_pocket(self, pocket: int) -> WeightReading:
        """Status then weight of one single-channel transmitter."""
        unit = self.unit + pocket
        at = self._clock()
        (status_word,) = await self._read(unit, self.profile.status_address, 1)
        weight_words = await self._read(unit, self.profile.weight_address, 2)
        try:
            status = decode_status(self.profile, status_word)
            raw = int32(weight_words, self.profile.word_order)
        except ValueError as exc:
            raise ProtocolError(self.device, f"undecodable answer: {exc}") from exc
        return WeightReading(
            drawer=self.drawer,
            pocket=pocket,
            centigrams=to_centigrams(raw, status.decimals, self.profile.unit),
            stable=status.stable,
            overload=status.overload,
            fault=status.fault,
            at=at,
        )

    def _check_pocket(self, pocket: int) -> None:
        """Refuse a pocket index outside this drawer before anything is sent."""
        if not 0 <= pocket < self.pocket_count:
            raise ValueError(f"pocket {pocket}: drawer {self.drawer} has {self.pocket_count}")
