"""Protocols every hardware driver implements; the coordinator is their only caller."""

from __future__ import annotations

from typing import Protocol

from hal.values import BoardStatus, Scan, TemperatureReading, WeightReading


class LockBoard(Protocol):
    """The lock/IO board: drawer locks, closed sensors, guide lights and board status.

    Failure contract: every method raises `hal.TransientHardwareError` (timeout, CRC, exception
    response) or `hal.PermanentHardwareError` (wiring, configuration); it never returns a
    guess.
    """

    drawer_count: int

    async def read_status(self) -> BoardStatus:
        """Read the board status bits, every drawer's closed sensor and lock state."""
        ...

    async def release(self, drawer: int, milliseconds: int) -> None:
        """Release one drawer's lock for a bounded time; the board relocks by itself.

        The pulse is capped at the board's maximum on-time (10,000 ms). A drawer the board does
        not have, or a duration <= 0, raises ValueError before anything is sent.
        """
        ...

    async def relock_all(self) -> None:
        """Relock every drawer now."""
        ...

    async def set_guide_light(self, drawer: int, pocket: int, on: bool) -> None:
        """Light (or darken) the guide light of one pocket."""
        ...

    async def close(self) -> None:
        """Release the transport."""
        ...


class ScaleBank(Protocol):
    """The scale module of one drawer: one load cell per pocket.

    Failure contract: as `LockBoard`.
    """

    drawer: int
    pocket_count: int

    async def read_all(self) -> tuple[WeightReading, ...]:
        """Read every pocket's weight and status in as few requests as possible, in pocket order."""
        ...

    async def tare(self, pocket: int) -> None:
        """Tare one pocket's load cell.

        Raises `hal.PermanentHardwareError` when the module's profile has no tare register (the
        cabinet then tares in software) and ValueError for a pocket the drawer does not have.
        """
        ...

    async def close(self) -> None:
        """Release the transport."""
        ...


class BarcodeReader(Protocol):
    """A barcode reader: yields decoded scans one at a time.

    Failure contract: `read` returns `Scan` with kind UNKNOWN for garbage (and keeps reading);
    it raises `hal.TransientHardwareError` only when the port itself fails (the next `read`
    reopens it), or `hal.PermanentHardwareError` when the port does not exist at all.
    """

    async def read(self) -> Scan:
        """Wait for the next complete read and return it decoded."""
        ...

    async def close(self) -> None:
        """Release the port."""
        ...


class Thermometer(Protocol):
    """A refrigerated drawer's temperature channel."""

    async def read(self) -> TemperatureReading:
        """Read the current temperature."""
        ...

    async def close(self) -> None:
        """Release the transport."""
        ...
