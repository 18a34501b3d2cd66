"""Factories that turn plain configuration values into concrete drivers (no cabinet/ imports).

The composition root (cabinet/wiring.py) calls these with the values of its configuration
sections, so drivers/ stays usable by the simulator, the benchmarks and the tests alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from drivers.barcode.reader import StreamBarcodeReader, serial_reader, tcp_reader
from drivers.modbus.codec import profile_named
from drivers.modbus.lockboard import ModbusLockBoard
from drivers.modbus.scales import ModbusScaleBank
from drivers.modbus.transport import ModbusLink


@dataclass(frozen=True, kw_only=True)
class ScaleSpec:
    """One drawer's scale module as the configuration describes it."""

    drawer: int
    pockets: int
    profile: str = "cabinet"  # "cabinet" (design map) or "hx711" (one transmitter per pocket)
    unit: int = 0  # Modbus unit of the module (hx711: of pocket 0); 0 means 10 + drawer


@dataclass
class ModbusHardware:
    """The lock board and every drawer's scale module, sharing one Modbus link."""

    link: ModbusLink
    board: ModbusLockBoard
    scales: dict[int, ModbusScaleBank] = field(default_factory=dict)

    async def close(self) -> None:
        """Close every device and the link."""
        for bank in self.scales.values():
            await bank.close()
        await self.board.close()
        await self.link.close()


def open_link(
    *,
    transport: Literal["tcp", "rtu"] = "tcp",
    host: str = "127.0.0.1",
    port: int = 5020,
    serial_port: str = "/dev/ttyUSB0",
    baudrate: int = 115200,
    timeout_s: float = 0.3,
    retries: int = 1,
    down_after: int = 3,
) -> ModbusLink:
    """A Modbus link over TCP or RTU (nothing is opened until the first request)."""
    if transport == "tcp":
        return ModbusLink.tcp(
            host, port, timeout_s=timeout_s, retries=retries, down_after=down_after
        )
    if transport == "rtu":
        return ModbusLink.rtu(
            serial_port,
            baudrate=baudrate,
            timeout_s=timeout_s,
            retries=retries,
            down_after=down_after,
        )
    raise ValueError(f"Modbus transport {transport!r}: expected 'tcp' or 'rtu'")


def from_config(
    *,
    transport: Literal["tcp", "rtu"] = "tcp",
    host: str = "127.0.0.1",
    port: int = 5020,
    serial_port: str = "/dev/ttyUSB0",
    baudrate: int = 115200,
    board_unit: int = 1,
    timeout_s: float = 0.3,
    retries: int = 1,
    down_after: int = 3,
    drawers: Iterable[ScaleSpec],
    weight_unit: str | None = None,
) -> ModbusHardware:
    """Build the lock board and one scale bank per drawer on one shared link.

    `weight_unit` overrides the display unit of every transmitter-profile scale ("g" by
    default for hx711); the cabinet profile always speaks centigrams.
    """
    specs = sorted(drawers, key=lambda s: s.drawer)
    if not specs:
        raise ValueError("a cabinet needs at least one drawer")
    if len({s.drawer for s in specs}) != len(specs):
        raise ValueError("duplicate drawer index in the scale specifications")
    link = open_link(
        transport=transport,
        host=host,
        port=port,
        serial_port=serial_port,
        baudrate=baudrate,
        timeout_s=timeout_s,
        retries=retries,
        down_after=down_after,
    )
    board = ModbusLockBoard(link, drawer_count=specs[-1].drawer + 1, unit=board_unit)
    hardware = ModbusHardware(link=link, board=board)
    for spec in specs:
        profile = profile_named(spec.profile)
        if weight_unit is not None and profile.name != "cabinet":
            profile = profile.with_unit(weight_unit)
        hardware.scales[spec.drawer] = ModbusScaleBank(
            link,
            drawer=spec.drawer,
            pocket_count=spec.pockets,
            unit=spec.unit or 10 + spec.drawer,
            profile=profile,
        )
    return hardware


def scanner_from_config(
    *,
    transport: Literal["serial", "tcp"] = "serial",
    serial_port: str = "/dev/ttyACM0",
    baudrate: int = 9600,
    host: str = "127.0.0.1",
    port: int = 5021,
    inter_char_timeout_ms: int = 80,
) -> StreamBarcodeReader:
    """The barcode reader on a serial port or a TCP endpoint (opened at its first read)."""
    gap = inter_char_timeout_ms / 1000
    if transport == "serial":
        return serial_reader(serial_port, baudrate=baudrate, inter_char_timeout_s=gap)
    if transport == "tcp":
        return tcp_reader(host, port, inter_char_timeout_s=gap)
    raise ValueError(f"scanner transport {transport!r}: expected 'serial' or 'tcp'")
