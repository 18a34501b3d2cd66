"""The `cabinet` command line for administrators and auditors: config, ledger, and more.

Other parts add their subcommands by appending their module to COMMAND_MODULES; each such
module exposes `register(subparsers)` which adds its parsers and sets `func` on each, a
callable taking the parsed arguments and returning the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from cabinet import config as config_mod
from cabinet.errors import CabinetError, ConfigError

# Modules that add subcommands: one line each. Every module is imported: a broken one is an
# error to fix, never a subcommand silently missing.
COMMAND_MODULES: tuple[str, ...] = (
    "cabinet.store.verify_cli",
    "cabinet.reports.cli",
    "cabinet.security.pki_cli",
)

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace], int]


def _config_init(args: argparse.Namespace) -> int:
    """Write the commented example configuration."""
    text = config_mod.example_text()
    if args.file == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.file)
    if target.exists() and not args.force:
        print(f"{target}: already exists; use --force to overwrite it", file=sys.stderr)
        return 1
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"{target}: cannot write: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote an example configuration to {target}; check it with: cabinet config check")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    """Validate a configuration file without starting anything."""
    path = Path(args.file)
    try:
        cfg = config_mod.load(path)
    except ConfigError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    pockets = sum(d.pockets for d in cfg.drawers)
    print(
        f"OK: {path}: cabinet {cfg.cabinet.id} ({cfg.cabinet.care_unit}), "
        f"{len(cfg.drawers)} drawers, {pockets} pockets, state in {cfg.store.state_dir}"
    )
    return 0


def _register_config(subparsers: Subparsers) -> None:
    """`cabinet config init|check`."""
    parser = subparsers.add_parser("config", help="write or check the configuration file")
    inner = parser.add_subparsers(dest="config_command", required=True)
    init = inner.add_parser("init", help="write a commented example configuration")
    init.add_argument("file", nargs="?", default=str(config_mod.DEFAULT_PATH), help="or - ")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_config_init)
    check = inner.add_parser("check", help="validate a configuration file, start nothing")
    check.add_argument("file", help="the TOML file to check")
    check.set_defaults(func=_config_check)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="cabinet", description="Administer and audit a medication dispensing cabinet."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _register_config(subparsers)
    for name in COMMAND_MODULES:
        module: Any = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cabinet` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.func
    try:
        return handler(args)
    except CabinetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
