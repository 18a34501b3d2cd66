"""Register codecs for scale modules: device profiles (addresses, word order, scale, status bits).

Two profiles are built in:

- ``cabinet``: the cabinet's own scale module of design.md section 2. One unit per drawer holds
  every pocket: input registers 0x0000 + 2p (signed 32-bit, high word first, centigrams) and
  0x0100 + p (status: bit 0 stable, bit 1 overload, bit 2 sensor fault); holding register
  0x0200 + p, write 1 to tare.
- ``hx711``: the common HX711-class RS-485 transmitter. It has one load cell, so each pocket is
  its own unit: pocket p of a drawer whose scale unit is U answers at unit U + p. Holding
  registers (FC03): gross weight at 0x0050 and net weight at 0x0052 (signed 32-bit, high word
  first, in display units with the decimals of the status word), status at 0x0008 (bits 0-2:
  number of decimals; bit 5 set while the weight moves, so stable = bit 5 clear). Its tare is a
  front-panel operation: the profile has no tare register and the cabinet tares in software.
- ``hx711-net``: the same transmitter read at its net weight (0x0052) instead of gross.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

# Centigrams per display unit of a transmitter.
UNITS_IN_CENTIGRAMS: dict[str, int] = {"cg": 1, "g": 100, "kg": 100_000}


@dataclass(frozen=True, kw_only=True)
class ScaleProfile:
    """Where a scale module keeps its weights and statuses, and how to read them."""

    name: str
    # Which Modbus table holds weights and statuses: FC04 input or FC03 holding registers.
    table: Literal["input", "holding"]
    # "bank": one unit serves every pocket of the drawer; "pocket": one unit per pocket.
    layout: Literal["bank", "pocket"]
    weight_address: int
    status_address: int
    tare_address: int | None
    word_order: Literal["big", "little"] = "big"
    stable_bit: int = 0
    stable_when_set: bool = True
    overload_bit: int | None = None
    fault_bit: int | None = None
    # Mask of the status bits giving the number of decimals of the weight; None: fixed 0.
    decimals_mask: int | None = None
    # Display unit of the raw weight (before decimals): "cg", "g" or "kg".
    unit: str = "cg"

    def with_unit(self, unit: str) -> ScaleProfile:
        """The same profile reading weights in another display unit."""
        if unit not in UNITS_IN_CENTIGRAMS:
            raise ValueError(f"weight unit {unit!r}: expected one of {sorted(UNITS_IN_CENTIGRAMS)}")
        return dataclasses.replace(self, unit=unit)


CABINET_PROFILE = ScaleProfile(
    name="cabinet",
    table="input",
    layout="bank",
    weight_address=0x0000,
    status_address=0x0100,
    tare_address=0x0200,
    stable_bit=0,
    stable_when_set=True,
    overload_bit=1,
    fault_bit=2,
    unit="cg",
)

HX711_PROFILE = ScaleProfile(
    name="hx711",
    table="holding",
    layout="pocket",
    weight_address=0x0050,
    status_address=0x0008,
    tare_address=None,
    stable_bit=5,
    stable_when_set=False,
    decimals_mask=0b111,
    unit="g",
)

# The same transmitter read at its net weight (gross minus its front-panel tare).
HX711_NET_PROFILE = dataclasses.replace(HX711_PROFILE, name="hx711-net", weight_address=0x0052)

PROFILES: dict[str, ScaleProfile] = {
    p.name: p for p in (CABINET_PROFILE, HX711_PROFILE, HX711_NET_PROFILE)
}


@dataclass(frozen=True, kw_only=True, slots=True)
class StatusBits:
    """A decoded status word."""

    stable: bool
    overload: bool
    fault: bool
    decimals: int


def profile_named(name: str, unit: str | None = None) -> ScaleProfile:
    """Look a profile up by its configuration name, optionally with another weight unit."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ValueError(f"scale profile {name!r}: expected one of {sorted(PROFILES)}") from None
    return profile.with_unit(unit) if unit is not None else profile


def int32(words: list[int] | tuple[int, ...], word_order: Literal["big", "little"] = "big") -> int:
    """Two 16-bit registers as one signed 32-bit integer (bytes in a register are big-endian)."""
    if len(words) != 2 or not all(0 <= w <= 0xFFFF for w in words):
        raise ValueError(f"a 32-bit value needs two 16-bit registers, got {list(words)}")
    high, low = (words[0], words[1]) if word_order == "big" else (words[1], words[0])
    value = (high << 16) | low
    return value - (1 << 32) if value & 0x8000_0000 else value


def int32_words(value: int, word_order: Literal["big", "little"] = "big") -> tuple[int, int]:
    """A signed 32-bit integer as two registers: the inverse of `int32`, for servers and tests."""
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"{value} does not fit a signed 32-bit integer")
    raw = value & 0xFFFF_FFFF
    high, low = raw >> 16, raw & 0xFFFF
    return (high, low) if word_order == "big" else (low, high)


def decode_status(profile: ScaleProfile, word: int) -> StatusBits:
    """Decode a status register according to the profile's bit layout."""
    if not 0 <= word <= 0xFFFF:
        raise ValueError(f"status word {word} does not fit 16 bits")
    bit_set = bool(word >> profile.stable_bit & 1)
    return StatusBits(
        stable=bit_set if profile.stable_when_set else not bit_set,
        overload=profile.overload_bit is not None and bool(word >> profile.overload_bit & 1),
        fault=profile.fault_bit is not None and bool(word >> profile.fault_bit & 1),
        decimals=word & profile.decimals_mask if profile.decimals_mask is not None else 0,
    )


def decode_flags(profile: ScaleProfile, words: list[int]) -> list[tuple[bool, bool, bool]]:
    """(stable, overload, fault) of every status word of a bank: `decode_status`, in bulk."""
    stable_mask = 1 << profile.stable_bit
    moving_when_set = not profile.stable_when_set
    overload_mask = 0 if profile.overload_bit is None else 1 << profile.overload_bit
    fault_mask = 0 if profile.fault_bit is None else 1 << profile.fault_bit
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise ValueError("status registers must be 16-bit words")
    # Masks are computed once per bank read: this runs for every drawer at 25 Hz.
    return [
        ((w & stable_mask != 0) is not moving_when_set, w & overload_mask != 0, w & fault_mask != 0)
        for w in words
    ]


def to_centigrams(raw: int, decimals: int, unit: str) -> int:
    """A raw transmitter value with its decimals and display unit, in whole centigrams."""
    scaled = raw * UNITS_IN_CENTIGRAMS[unit]
    if decimals == 0:
        return scaled  # the common case, and the hot one: no division at all
    # round() on a Fraction rounds half to even: symmetric for tare-negative weights.
    return round(Fraction(scaled, 10**decimals))


def decode_weights(profile: ScaleProfile, registers: list[int], pockets: int) -> list[int]:
    """Every pocket's weight in centigrams from one bulk read of a bank's weight registers."""
    if len(registers) != 2 * pockets:
        raise ValueError(f"{pockets} pockets need {2 * pockets} registers, got {len(registers)}")
    words = list(registers)
    if profile.word_order == "little":
        words[0::2], words[1::2] = registers[1::2], registers[0::2]
    # One C-level pack and unpack for the whole bank: this runs for every drawer at 25 Hz.
    try:
        raw = struct.unpack(f">{pockets}i", struct.pack(f">{2 * pockets}H", *words))
    except struct.error as exc:
        raise ValueError(f"weight registers must be 16-bit words: {exc}") from None
    scale = UNITS_IN_CENTIGRAMS[profile.unit]
    return [value * scale for value in raw]
