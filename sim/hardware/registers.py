"""The register maps of design section 2, computed from the cabinet model on every request."""

from __future__ import annotations

from dataclasses import dataclass

from pymodbus.constants import ExcCodes

from sim.hardware.model import FIRMWARE, Cabinet, Reading, Refused

RELOCK_ALL = 0xA5A5
# Board map.
HR_RELOCK, HR_PULSE = 0x0000, 0x0100
COIL_LIGHTS, LIGHTS_PER_DRAWER = 0x1000, 32
DI_BOLT = 0x0100
IR_STATUS, IR_FIRMWARE = 0x0000, 0x0001
STATUS_ALIVE, STATUS_TAMPER, STATUS_POWER = 0x01, 0x02, 0x04
# Cabinet scale profile.
IR_WEIGHT, IR_CELL_STATUS, HR_TARE = 0x0000, 0x0100, 0x0200
CELL_STABLE, CELL_OVERLOAD, CELL_FAULT = 0x01, 0x02, 0x04
# HX711-class transmitter profile (holding registers only).
HX_STATUS, HX_WEIGHT, HX_NET = 0x0008, 0x0050, 0x0052
HX_UNSTABLE = 0x20  # stable = bit 5 clear
HX_DECIMALS = 2  # bits 0-2: the weight's decimals (centigrams = grams with 2 decimals)
HX_FIXED = 0x0800  # set by the reference transmitter in every status answer
INT32_MIN = -(2**31)

TABLE_OF = {1: "coils", 5: "coils", 15: "coils", 2: "discrete", 3: "holding", 6: "holding",
            16: "holding", 4: "input"}  # fmt: skip

Table = dict[int, int]  # address -> value (0/1 for bits, 0..0xFFFF for registers)


def int32_words(value: int) -> tuple[int, int]:
    """A signed 32-bit integer as two registers, high word first."""
    raw = value & 0xFFFFFFFF
    return raw >> 16, raw & 0xFFFF


@dataclass
class BoardMap:
    """Unit 1: locks, closed sensors, guide lights and the board status."""

    cabinet: Cabinet

    def extents(self) -> dict[str, list[tuple[int, int]]]:
        """The (start, count) ranges each table answers, for building the pymodbus blocks."""
        n = max(self.cabinet.drawers) + 1
        return {
            "coils": [(0, n), (COIL_LIGHTS, LIGHTS_PER_DRAWER * n)],
            "discrete": [(0, n), (DI_BOLT, n)],
            "holding": [(HR_RELOCK, 1), (HR_PULSE, n)],
            "input": [(IR_STATUS, 2)],
        }

    def read(self, table: str) -> Table:
        """Every value of one table, as the board would answer now."""
        c = self.cabinet
        if table == "coils":
            out = {d: int(c.energised(d)) for d in c.drawers}
            for d, drawer in c.drawers.items():
                for p, on in enumerate(drawer.lights):
                    out[COIL_LIGHTS + LIGHTS_PER_DRAWER * d + p] = int(on)
            return out
        if table == "discrete":
            # A slot with no drawer fitted reads shut and bolted: nothing there can open.
            slots = range(max(c.drawers) + 1)
            out = {d: int(c.drawers[d].closed) if d in c.drawers else 1 for d in slots}
            out.update(
                {DI_BOLT + d: int(c.bolt_engaged(d)) if d in c.drawers else 1 for d in slots}
            )
            return out
        if table == "holding":
            out = {HR_RELOCK: 0}
            out.update({HR_PULSE + d: min(c.ms_left(d), 0xFFFF) for d in c.drawers})
            return out
        status = STATUS_ALIVE * c.alive | STATUS_TAMPER * c.tamper | STATUS_POWER * c.power_fault
        return {IR_STATUS: status, IR_FIRMWARE: FIRMWARE}

    def write(self, table: str, address: int, values: list[int]) -> ExcCodes | None:
        """Apply a write from the bus; refuse what the board does not accept."""
        c = self.cabinet
        if not c.alive:
            return ExcCodes.DEVICE_BUSY
        for offset, value in enumerate(values):
            where = address + offset
            if table == "holding" and where == HR_RELOCK:
                if value != RELOCK_ALL:
                    return ExcCodes.ILLEGAL_VALUE
                c.relock_all()
            elif table == "holding" and where - HR_PULSE in c.drawers:
                c.release(where - HR_PULSE, value)
            elif table == "coils" and where >= COIL_LIGHTS:
                drawer, pocket = divmod(where - COIL_LIGHTS, LIGHTS_PER_DRAWER)
                try:
                    c.set_light(drawer, pocket, bool(value))
                except Refused:
                    return ExcCodes.ILLEGAL_ADDRESS
            else:
                # The lock coils are a read-only mirror; nothing else is writable.
                return ExcCodes.ILLEGAL_ADDRESS
        return None


@dataclass
class ScaleMap:
    """Unit 10 + d in the cabinet's own profile: every pocket of one drawer."""

    cabinet: Cabinet
    drawer: int

    def extents(self) -> dict[str, list[tuple[int, int]]]:
        """The ranges answered: weights, statuses and tare commands."""
        n = len(self.cabinet.drawer(self.drawer).pockets)
        return {"input": [(IR_WEIGHT, 2 * n), (IR_CELL_STATUS, n)], "holding": [(HR_TARE, n)]}

    def read(self, table: str) -> Table:
        """Every pocket's weight (int32, high word first) and status bits."""
        n = len(self.cabinet.drawer(self.drawer).pockets)
        if table == "holding":
            return {HR_TARE + p: 0 for p in range(n)}
        out: Table = {}
        for p in range(n):
            r = self.cabinet.reading(self.drawer, p)
            out[IR_WEIGHT + 2 * p], out[IR_WEIGHT + 2 * p + 1] = int32_words(r.centigrams)
            out[IR_CELL_STATUS + p] = (
                CELL_STABLE * r.stable | CELL_OVERLOAD * r.overload | CELL_FAULT * r.fault
            )
        return out

    def write(self, table: str, address: int, values: list[int]) -> ExcCodes | None:
        """Write 1 to a pocket's tare register to zero it."""
        n = len(self.cabinet.drawer(self.drawer).pockets)
        for offset, value in enumerate(values):
            pocket = address + offset - HR_TARE
            if table != "holding" or not 0 <= pocket < n:
                return ExcCodes.ILLEGAL_ADDRESS
            if value != 1:
                return ExcCodes.ILLEGAL_VALUE
            self.cabinet.tare(self.drawer, pocket)
        return None


@dataclass
class Hx711Map:
    """An HX711-class transmitter carrying one pocket's load cell."""

    cabinet: Cabinet
    drawer: int
    pocket: int

    def extents(self) -> dict[str, list[tuple[int, int]]]:
        """Status at 0x0008, weight and net at 0x0050 and 0x0052."""
        return {"holding": [(HX_STATUS, 1), (HX_WEIGHT, 4)]}

    def read(self, table: str) -> Table:
        """Status, gross weight and net weight, grams with two decimals."""
        p = self.cabinet.pocket(self.drawer, self.pocket)
        r: Reading = self.cabinet.reading(self.drawer, self.pocket)
        status = HX_FIXED | HX_DECIMALS | HX_UNSTABLE * (not r.stable)
        net = INT32_MIN if r.fault else r.centigrams
        gross = INT32_MIN if r.fault else r.centigrams + p.zero_cg
        out = {HX_STATUS: status}
        out[HX_WEIGHT], out[HX_WEIGHT + 1] = int32_words(gross)
        out[HX_NET], out[HX_NET + 1] = int32_words(net)
        return out

    def write(self, table: str, address: int, values: list[int]) -> ExcCodes | None:
        """The transmitter's map is read-only here."""
        return ExcCodes.ILLEGAL_ADDRESS


DeviceMap = BoardMap | ScaleMap | Hx711Map
