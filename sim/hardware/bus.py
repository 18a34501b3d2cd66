"""The simulated RS-485 bus: pymodbus devices whose registers come from the cabinet model."""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.simulator import DataType, SimData, SimDevice

from sim.hardware.layout import BOARD_UNIT
from sim.hardware.model import Cabinet, Refused
from sim.hardware.registers import TABLE_OF, BoardMap, DeviceMap, Hx711Map, ScaleMap, Table

READ_FCS = {1, 2, 3, 4}
BIT_TABLES = {"coils", "discrete"}
TABLES = ("coils", "discrete", "holding", "input")


@dataclass
class UnitFault:
    """What is wrong with one device on the bus."""

    no_answer: bool = False
    slow_ms: int = 0
    exception: int = 0
    corrupt_crc: bool = False

    def active(self) -> bool:
        """True when any fault is set."""
        return self.no_answer or bool(self.slow_ms or self.exception) or self.corrupt_crc


@dataclass
class WireEvent:
    """A write seen on the wire, kept so tests and benchmarks can see when it arrived."""

    seq: int
    at: float  # time.time() when the simulator applied it
    unit: int
    table: str
    address: int
    values: list[int]


@dataclass
class Bus:
    """Every device of the cabinet on one bus, with per-unit faults and a log of writes."""

    cabinet: Cabinet
    transport: str = "tcp"
    maps: dict[int, DeviceMap] = field(default_factory=dict)
    faults: dict[int, UnitFault] = field(default_factory=dict)
    events: collections.deque[WireEvent] = field(
        default_factory=lambda: collections.deque(maxlen=1000)
    )
    next_seq: int = 1

    def __post_init__(self) -> None:
        """Attach the board and every drawer's scale devices."""
        self.maps[BOARD_UNIT] = BoardMap(self.cabinet)
        for d in self.cabinet.layout.drawers:
            if d.scale_profile == "hx711":
                for p, unit in enumerate(d.units()):
                    self.maps[unit] = Hx711Map(self.cabinet, d.index, p)
            else:
                self.maps[d.first_unit] = ScaleMap(self.cabinet, d.index)

    def fault(self, unit: int) -> UnitFault:
        """The fault record of a unit on this bus (refused for a unit that is not there)."""
        if unit not in self.maps:
            raise Refused(f"no device answers at unit {unit} (units: {sorted(self.maps)})")
        return self.faults.setdefault(unit, UnitFault())

    def clear_faults(self) -> None:
        """Every device answers normally again."""
        self.faults.clear()

    def devices(self) -> list[SimDevice]:
        """The pymodbus devices: one per unit, plus a silent catch-all for absent units."""
        devices = [
            SimDevice(id=unit, simdata=_blocks(m), action=Handler(self, unit).handle)
            for unit, m in self.maps.items()
        ]
        devices.append(
            SimDevice(
                id=0,
                simdata=[SimData(0, count=0xFFFF, values=0, datatype=DataType.REGISTERS)],
                action=Handler(self, 0).handle,
            )
        )
        return devices

    def trace_packet(self, sending: bool, packet: bytes) -> bytes:
        """On RTU, spoil the CRC of answers from a unit with the corrupt-CRC fault."""
        if sending and packet and self.transport == "rtu":
            f = self.faults.get(packet[0])
            if f is not None and f.corrupt_crc:
                return packet[:-1] + bytes([packet[-1] ^ 0xFF])
        return packet

    def log_write(self, unit: int, table: str, address: int, values: list[int]) -> None:
        """Remember a write that reached a device."""
        self.events.append(WireEvent(self.next_seq, time.time(), unit, table, address, values))
        self.next_seq += 1

    def events_since(self, seq: int) -> list[dict[str, Any]]:
        """Writes seen after sequence number seq, oldest first."""
        return [vars(e).copy() for e in self.events if e.seq > seq]


@dataclass
class Handler:
    """The action pymodbus calls for every request to one unit."""

    bus: Bus
    unit: int

    async def handle(
        self,
        fc: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Apply faults, then answer a read from the model or apply a write to it."""
        # A write request fires the action twice (the write, then the read-back of the
        # echo): only the first call of a request is a read function or carries values.
        first = fc in READ_FCS or values is not None
        if not first:
            return None
        if self.unit not in self.bus.maps:
            return self._absent()
        f = self.bus.faults.get(self.unit)
        if f is not None:
            if f.no_answer:
                raise NoSuchIdException(f"unit {self.unit} is silenced")
            if f.slow_ms:
                await asyncio.sleep(f.slow_ms / 1000)
            if f.exception:
                return ExcCodes(f.exception)
        m = self.bus.maps[self.unit]
        table = TABLE_OF.get(fc)
        extents = m.extents()
        if table is None or table not in extents:
            return ExcCodes.ILLEGAL_FUNCTION
        if not any(lo <= address < lo + n for lo, n in extents[table]):
            return ExcCodes.ILLEGAL_ADDRESS
        if values is not None:
            ints = [int(v) for v in values]
            exc = m.write(table, address, ints)
            if exc is None:
                self.bus.log_write(self.unit, table, address, ints)
            return exc
        _fill(registers, start, m.read(table), table in BIT_TABLES)
        return None

    def _absent(self) -> ExcCodes:
        """An absent unit: silence on a serial line, 'target failed to respond' from TCP."""
        if self.bus.transport == "rtu":
            raise NoSuchIdException(f"no unit {self.unit} on the bus")
        return ExcCodes.GATEWAY_NO_RESPONSE


def _fill(registers: list[int], start: int, table: Table, bits: bool) -> None:
    """Write a table's values into pymodbus's register block in place."""
    for address, value in table.items():
        if bits:
            reg, bit = divmod(address, 16)
            i = reg - start
            if 0 <= i < len(registers):
                registers[i] = registers[i] | (1 << bit) if value else registers[i] & ~(1 << bit)
        elif 0 <= address - start < len(registers):
            registers[address - start] = value & 0xFFFF


def _blocks(m: DeviceMap) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
    """pymodbus blocks covering a map's ranges; absent tables get a placeholder it refuses."""
    extents = m.extents()
    out: list[list[SimData]] = []
    for table in TABLES:
        bits = table in BIT_TABLES
        ranges = extents.get(table) or [(0, 16 if bits else 1)]
        if bits:
            out.append([SimData(a, values=[False] * n, datatype=DataType.BITS) for a, n in ranges])
        else:
            out.append([SimData(a, values=[0] * n, datatype=DataType.REGISTERS) for a, n in ranges])
    return out[0], out[1], out[2], out[3]
