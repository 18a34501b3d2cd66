"""`cabinet-sim hardware`: its command line, turned into simulator options."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from sim.hardware.app import Options, run
from sim.hardware.layout import LayoutError
from sim.hardware.scanner import TERMINATORS


def _port(text: str) -> int:
    """A TCP port number (0 lets the system choose)."""
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: a port from 0 to 65535 is required")
    return value


def register(subparsers: Any) -> None:
    """Add the `hardware` subcommand to cabinet-sim."""
    p = subparsers.add_parser(
        "hardware",
        help="simulate the lock/IO board, scale modules and barcode reader",
        description="Serve the cabinet's register maps over real Modbus, a scanner on a pty or "
        "TCP, a control port and a technician console.",
    )
    p.add_argument("--config", type=Path, help="the cabinet's TOML file ([[drawers]], [hardware])")
    p.add_argument("--modbus", choices=("tcp", "rtu"), default="tcp")
    p.add_argument("--host", help="Modbus TCP address (default: [hardware] host or 127.0.0.1)")
    p.add_argument("--port", type=_port, help="Modbus TCP port (default: [hardware] port, 5020)")
    p.add_argument("--serial", help="RTU: serial device to serve on (default: a new pty pair)")
    p.add_argument("--baudrate", type=int, default=115200, help="RTU speed (8N1)")
    p.add_argument("--scanner", choices=("pty", "tcp"), default="pty")
    p.add_argument("--scanner-host", default="127.0.0.1")
    p.add_argument("--scanner-port", type=_port, default=0, help="TCP scanner port (0 = free)")
    p.add_argument("--terminator", choices=tuple(TERMINATORS), default="cr",
                   help="what ends each scanner read")  # fmt: skip
    p.add_argument("--control-host", default="127.0.0.1")
    p.add_argument("--control-port", type=_port, default=0, help="control port (0 = free)")
    p.add_argument("--scenario", type=Path, help="a file of commands to run once ready")
    p.add_argument("--console", action=argparse.BooleanOptionalAction, default=True,
                   help="technician console on stdin")  # fmt: skip
    p.add_argument("--ready-file", type=Path, help="write the endpoints here as JSON when ready")
    p.add_argument("--settle", type=float, default=0.3, help="seconds a scale takes to settle")
    p.add_argument("--noise", type=int, default=1, help="load cell noise, ± centigrams")
    p.add_argument("--seed", type=int, help="seed the noise for repeatable runs")
    p.add_argument("--stock-demo", action="store_true",
                   help="fill the demo pocket plan's pockets at start")  # fmt: skip
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run the simulator until quit or a signal."""
    if not 0.0 <= args.settle <= 30.0 or not 0 <= args.noise <= 1000:
        print("cabinet-sim hardware: --settle must be 0..30 s and --noise 0..1000 cg")
        return 2
    opts = Options(
        config=args.config, modbus=args.modbus, host=args.host, port=args.port,
        serial=args.serial, baudrate=args.baudrate, scanner=args.scanner,
        scanner_host=args.scanner_host, scanner_port=args.scanner_port,
        terminator=args.terminator, control_host=args.control_host,
        control_port=args.control_port, scenario=args.scenario, console=args.console,
        ready_file=args.ready_file, settle_s=args.settle, noise_cg=args.noise, seed=args.seed,
        stock_demo=args.stock_demo,
    )  # fmt: skip
    try:
        return asyncio.run(run(opts))
    except LayoutError as exc:
        print(f"cabinet-sim hardware: {exc}")
        return 2
    except (OSError, RuntimeError) as exc:
        print(f"cabinet-sim hardware: cannot start: {exc}")
        return 1
