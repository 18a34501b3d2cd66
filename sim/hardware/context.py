"""What every simulator command acts on, and the argument helpers the commands share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sim.hardware.bus import Bus
from sim.hardware.layout import BOARD_UNIT
from sim.hardware.model import Cabinet
from sim.hardware.scanner import Scanner


class Usage(Exception):
    """A command typed wrongly: the reply carries its usage line."""


@dataclass
class SimContext:
    """Everything a command may act on."""

    cabinet: Cabinet
    bus: Bus
    scanner: Scanner
    endpoints: dict[str, Any] = field(default_factory=dict)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def ints(args: list[str], n: int, usage: str) -> list[int]:
    """Exactly n integer arguments, or a usage error."""
    if len(args) != n:
        raise Usage(usage)
    try:
        return [int(a, 0) for a in args]
    except ValueError:
        raise Usage(usage) from None


def target_units(ctx: SimContext, args: list[str], usage: str) -> tuple[list[int], list[str]]:
    """Parse board | scale D | unit N at the front of args; return units and the rest."""
    if args[:1] == ["board"]:
        return [BOARD_UNIT], args[1:]
    if len(args) >= 2 and args[0] in ("scale", "unit"):
        (n,) = ints(args[1:2], 1, usage)
        units = list(ctx.cabinet.drawer(n).spec.units()) if args[0] == "scale" else [n]
        return units, args[2:]
    raise Usage(usage)
