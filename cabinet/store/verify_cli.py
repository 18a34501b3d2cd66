"""`cabinet ledger verify`: walk the chain and the signed checkpoints of a store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cabinet import config as config_mod
from cabinet.errors import CabinetError
from cabinet.security.keys import load_public, public_path
from cabinet.store.chain_workers import available_cores
from cabinet.store.db import open_read_only
from cabinet.store.verify import verify


def _db_path(args: argparse.Namespace) -> Path:
    """--db, or the store named by --config, or the production default."""
    if args.db:
        return Path(args.db)
    if args.config:
        return config_mod.load(Path(args.config)).store.db_path
    return config_mod.StoreSection().db_path


def _public_key(args: argparse.Namespace, db: Path) -> Ed25519PublicKey | None:
    """--public-key, or cabinet.pub beside the store; None: the store's registered key."""
    candidate = Path(args.public_key) if args.public_key else public_path(db.parent / "cabinet.key")
    if not candidate.exists():
        if args.public_key:
            raise CabinetError(f"{candidate}: no such public key file")
        return None
    return load_public(candidate.read_bytes())


def run_verify(args: argparse.Namespace) -> int:
    """Print OK with the count (exit 0) or the first broken sequence and why (exit 1)."""
    try:
        db = _db_path(args)
        key = _public_key(args, db)
        conn = open_read_only(db)
    except CabinetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        result = verify(conn, key, workers=args.workers or available_cores())
    finally:
        conn.close()
    print(result.line())
    return 0 if result.ok else 1


def register(subparsers: Any) -> None:
    """Add `cabinet ledger verify`."""
    parser = subparsers.add_parser("ledger", help="check the tamper-evident ledger")
    inner = parser.add_subparsers(dest="ledger_command", required=True)
    check = inner.add_parser("verify", help="walk the hash chain and the signed checkpoints")
    check.add_argument("--db", help="the store (default: from --config, or the production one)")
    check.add_argument("--config", help="take the store's location from this configuration")
    check.add_argument("--public-key", help="PEM public key (default: cabinet.pub beside the db)")
    check.add_argument(
        "--workers",
        type=_positive,
        default=0,
        help="processes sharing the chain's re-hashing (default: one per available core)",
    )
    check.set_defaults(func=run_verify)


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1")
    return value
