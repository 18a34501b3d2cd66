"""The simulated cabinet's layout, read from the cabinet's own TOML file without importing it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("standard", "return_bin", "refrigerated")
PROFILES = ("cabinet", "hx711")
MAX_DRAWERS = 16
MAX_POCKETS = 24
BOARD_UNIT = 1


class LayoutError(ValueError):
    """The configuration file does not describe a cabinet the simulator can build."""


@dataclass(frozen=True, kw_only=True)
class DrawerSpec:
    """One drawer: its pockets, its role and how its scales answer on the bus."""

    index: int
    pockets: int = 8
    kind: str = "standard"
    scale_profile: str = "cabinet"
    scale_unit: int = 0

    @property
    def first_unit(self) -> int:
        """The Modbus unit of the drawer's scale module (or of its first HX711 transmitter)."""
        return self.scale_unit or 10 + self.index

    def units(self) -> tuple[int, ...]:
        """Every Modbus unit this drawer's scales answer on.

        A cabinet-profile module carries all pockets; an HX711-class transmitter carries one
        load cell, so pocket p of such a drawer answers at first_unit + p.
        """
        if self.scale_profile == "hx711":
            return tuple(self.first_unit + p for p in range(self.pockets))
        return (self.first_unit,)


@dataclass(frozen=True, kw_only=True)
class Layout:
    """The drawers and the Modbus endpoint the configuration names."""

    drawers: tuple[DrawerSpec, ...]
    host: str = "127.0.0.1"
    port: int = 5020

    def drawer(self, index: int) -> DrawerSpec:
        """The drawer with this index, or a clear error."""
        for d in self.drawers:
            if d.index == index:
                return d
        known = ", ".join(str(d.index) for d in self.drawers)
        raise LayoutError(f"no drawer {index} (drawers: {known})")


def default_layout() -> Layout:
    """The demo cabinet: 6 drawers of 8 pockets and a one-pocket return bin as drawer 6."""
    drawers = [DrawerSpec(index=i) for i in range(6)]
    drawers.append(DrawerSpec(index=6, pockets=1, kind="return_bin"))
    return Layout(drawers=tuple(drawers))


def _int(table: dict[str, Any], key: str, where: str, lo: int, hi: int, default: int) -> int:
    """Read an integer key within bounds, or raise naming the key and what is allowed."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise LayoutError(f"{where}.{key} = {value!r}: an integer from {lo} to {hi} is required")
    return value


def _choice(table: dict[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    """Read a string key that must be one of a few words."""
    value = table.get(key, allowed[0])
    if value not in allowed:
        raise LayoutError(f"{where}.{key} = {value!r}: one of {', '.join(allowed)} is required")
    return str(value)


def _drawer(raw: object, n: int) -> DrawerSpec:
    """Build one drawer from its [[drawers]] table."""
    where = f"drawers[{n}]"
    if not isinstance(raw, dict):
        raise LayoutError(f"{where}: a table is required")
    if "index" not in raw:
        raise LayoutError(f"{where}.index is missing")
    return DrawerSpec(
        index=_int(raw, "index", where, 0, MAX_DRAWERS - 1, 0),
        pockets=_int(raw, "pockets", where, 1, MAX_POCKETS, 8),
        kind=_choice(raw, "kind", where, KINDS),
        scale_profile=_choice(raw, "scale_profile", where, PROFILES),
        scale_unit=_int(raw, "scale_unit", where, 0, 247, 0),
    )


def check(layout: Layout) -> Layout:
    """Refuse duplicate drawers and Modbus units answered twice on the same bus."""
    seen: dict[int, str] = {BOARD_UNIT: "the lock/IO board"}
    indexes: set[int] = set()
    for d in layout.drawers:
        if d.index in indexes:
            raise LayoutError(f"drawer {d.index} is configured twice")
        indexes.add(d.index)
        for unit in d.units():
            if not 1 <= unit <= 247:
                raise LayoutError(f"drawer {d.index}: scale unit {unit} is outside 1..247")
            if unit in seen:
                raise LayoutError(
                    f"drawer {d.index}: Modbus unit {unit} is already used by {seen[unit]}"
                )
            seen[unit] = f"drawer {d.index}'s scales"
    if not layout.drawers:
        raise LayoutError("the cabinet has no drawers")
    return layout


def load_layout(path: Path | None) -> Layout:
    """Read [[drawers]] and [hardware] host/port from a cabinet TOML file (or the default)."""
    if path is None:
        return check(default_layout())
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise LayoutError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path}: not valid TOML: {exc}") from exc
    base = default_layout()
    raw_drawers = data.get("drawers")
    if raw_drawers is None:
        drawers = base.drawers
    elif isinstance(raw_drawers, list):
        drawers = tuple(_drawer(raw, n) for n, raw in enumerate(raw_drawers))
    else:
        raise LayoutError("drawers: an array of tables ([[drawers]]) is required")
    hardware = data.get("hardware", {})
    if not isinstance(hardware, dict):
        raise LayoutError("hardware: a table is required")
    host = hardware.get("host", base.host)
    if not isinstance(host, str) or not host:
        raise LayoutError(f"hardware.host = {host!r}: a host name or address is required")
    port = _int(hardware, "port", "hardware", 1, 65535, base.port)
    return check(Layout(drawers=drawers, host=host, port=port))
