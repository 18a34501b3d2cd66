"""`cabinet-sim`: one command for every simulator, each a subcommand registered below."""

from __future__ import annotations

import argparse
import importlib

# Each module named here has register(subparsers), which adds its subcommand and sets
# func(args) -> int. Add a simulator by adding its module on one line.
SUBCOMMANDS = [
    "sim.hardware.cli",
    "sim.central.cli",
]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen simulator."""
    parser = argparse.ArgumentParser(
        prog="cabinet-sim", description="Simulators of the cabinet's hardware and surroundings."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="SIMULATOR")
    for module in SUBCOMMANDS:
        importlib.import_module(module).register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
