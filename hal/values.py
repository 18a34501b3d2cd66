"""Frozen value types that cross the hardware boundary: readings, statuses and scans."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class WeightReading:
    """One pocket's load cell reading, in centigrams (0.01 g), with its status flags."""

    drawer: int
    pocket: int
    centigrams: int
    stable: bool
    overload: bool = False
    fault: bool = False
    # Monotonic time of the read, so that a consumer can drop answers older than its query.
    at: float = 0.0

    @property
    def trustworthy(self) -> bool:
        """True when a count may be derived from this reading."""
        return self.stable and not self.overload and not self.fault


@dataclass(frozen=True, kw_only=True, slots=True)
class BoardStatus:
    """The lock/IO board's view of every drawer, read in one poll."""

    alive: bool
    tamper: bool
    power_fault: bool
    firmware: int
    closed: tuple[bool, ...]  # per drawer: True when the closed sensor sees the drawer shut
    released: tuple[bool, ...]  # per drawer: True while the lock is energised (open allowed)
    bolt_engaged: tuple[bool, ...] = ()
    at: float = 0.0


@dataclass(frozen=True, kw_only=True, slots=True)
class TemperatureReading:
    """A refrigerated drawer's temperature in tenths of a degree Celsius."""

    channel: int
    decidegrees: int
    fault: bool = False
    at: float = 0.0


class ScanKind(enum.Enum):
    """What a barcode turned out to mean."""

    DRUG_PACK = "drug_pack"
    STAFF_BADGE = "staff_badge"
    PATIENT_WRISTBAND = "patient_wristband"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class DrugPack:
    """A GS1 pack code: GTIN (14 digits), CIP13 when French, expiry, lot and serial."""

    gtin: str
    cip13: str | None
    expiry: dt.date
    lot: str
    serial: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StaffBadge:
    """A staff badge: the raw code is hashed before it is compared or stored."""

    code: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientWristband:
    """A patient wristband carrying the patient's id (IPP)."""

    patient_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class UnknownCode:
    """A read that decodes to nothing we accept, with the reason it was rejected."""

    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Scan:
    """One read from the barcode reader: raw text, AIM symbology and what it means."""

    raw: str
    symbology: str  # AIM identifier such as "]d2" (GS1 DataMatrix), "]C0" (Code 128), or ""
    kind: ScanKind
    meaning: DrugPack | StaffBadge | PatientWristband | UnknownCode
    at: float = 0.0
