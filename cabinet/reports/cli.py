"""`cabinet report …` and `cabinet export fhir`: the auditor's and pharmacist's command line."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cabinet import config as config_module
from cabinet.clock import SystemClock
from cabinet.errors import CabinetError
from cabinet.reports.fhir import export_json
from cabinet.reports.model import Params, ReportError, parse_date
from cabinet.reports.registry import FORMATS, REPORTS, render
from cabinet.reports.signing import load_signing_key, load_trusted_key, verify_document
from cabinet.reports.validation import export_register, validate_register
from cabinet.security.keys import public_path
from cabinet.store import Store, open_read_only
from cabinet.store.checkpoints import registered_public_key

Handler = Callable[[argparse.Namespace], int]

_HELP = {
    "stock": "per pocket: quantity, lots with expiry, par and max, and the refill list",
    "expiry": "lots expiring within --days (default 30) and expired lots still in a pocket",
    "discrepancies": "open and resolved discrepancies by pocket, item and user",
    "overrides": "overrides by unit, item, user and reason, awaiting review, and the rate",
    "controlled": "the controlled-drugs register; --validate-through, --export",
    "activity": "dispenses by patient, by user and by item over the period",
    "anomalies": "users whose controlled withdrawals or wastes are far above their peers",
    "ledger": "the ledger's events in the period and the chain verified over it",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class _Site:
    """Where the store and key are, and who this cabinet is."""

    db: Path
    key: Path
    cabinet_id: str
    unit: str


def _site(args: argparse.Namespace) -> _Site:
    """Resolve --db / --config (or the default configuration) to the store and its key."""
    cfg_path: Path | None = args.config
    if cfg_path is None and args.db is None and config_module.DEFAULT_PATH.exists():
        cfg_path = config_module.DEFAULT_PATH
    if cfg_path is not None:
        cfg = config_module.load(cfg_path)
        db = args.db or cfg.store.db_path
        return _Site(
            db=db, key=cfg.store.key_path, cabinet_id=cfg.cabinet.id, unit=cfg.cabinet.care_unit
        )
    if args.db is None:
        raise ReportError("no store given: use --db PATH or --config FILE")
    return _Site(db=args.db, key=args.db.parent / "cabinet.key", cabinet_id="cabinet", unit="")


def _common(parser: argparse.ArgumentParser) -> None:
    """Options every report and export takes."""
    parser.add_argument("--db", type=Path, help="the store (default: from the configuration)")
    parser.add_argument("--config", type=Path, help="configuration file")
    parser.add_argument("--from", dest="date_from", metavar="DATE", help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="date_to", metavar="DATE", help="last day (YYYY-MM-DD)")
    parser.add_argument("-o", "--output", type=Path, help="write to FILE instead of stdout")


def _params(args: argparse.Namespace, site: _Site) -> Params:
    """The report parameters from the command line."""
    return Params(
        date_from=parse_date(args.date_from, "--from") if args.date_from else None,
        date_to=parse_date(args.date_to, "--to") if args.date_to else None,
        now=dt.datetime.now(dt.UTC),
        days=getattr(args, "days", 30),
        unit=getattr(args, "unit", None) or site.unit,
        item=getattr(args, "item", None),
        threshold=getattr(args, "threshold", 3.5),
    )


def _write(output: Path | None, data: str | bytes) -> None:
    """Write to the file (whole or not at all) or to stdout."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if output is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        return
    partial = output.with_name(f".{output.name}.partial")
    partial.write_bytes(raw)
    os.replace(partial, output)


def _run_report(args: argparse.Namespace) -> int:
    """One report, or for `controlled` a validation or a signed export."""
    site = _site(args)
    params = _params(args, site)
    if args.name == "controlled" and args.validate_through:
        through = parse_date(args.validate_through, "--validate-through")
        store = Store(site.db, SystemClock())
        try:
            event = validate_register(store, through, args.by, args.item)
        finally:
            store.close()
        print(f"register validated through {through} (ledger event {event.seq})")
        return 0
    conn = open_read_only(site.db)
    try:
        if args.name == "controlled" and args.export:
            key = load_signing_key(args.key or site.key)
            _write(args.export, export_register(conn, params, key, site.cabinet_id))
            print(f"signed register written to {args.export}")
            return 0
        _write(args.output, render(args.name, conn, params, args.format))
    finally:
        conn.close()
    return 0


def _trusted_key(args: argparse.Namespace) -> Ed25519PublicKey:
    """The key a signed file is checked against: --key, the cabinet's, or the store's."""
    if args.key is not None:
        return load_trusted_key(args.key)
    site = _site(args)
    for path in (public_path(site.key), site.key):
        if path.exists():
            return load_trusted_key(path)
    if site.db.exists():
        conn = open_read_only(site.db)
        try:
            key = registered_public_key(conn)
        finally:
            conn.close()
        if key is not None:
            return key
    raise ReportError("no trusted key: give --key FILE (the cabinet's public or private key)")


def _run_verify(args: argparse.Namespace) -> int:
    """Check a signed register file; exit 1 when it does not verify."""
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ReportError(f"cannot read {args.file}: {exc.strerror}") from exc
    result = verify_document(data, _trusted_key(args))
    print(result.message)
    return 0 if result.ok else 1


def _run_fhir(args: argparse.Namespace) -> int:
    """The FHIR Bundle of dispense, return and waste events."""
    site = _site(args)
    conn = open_read_only(site.db)
    try:
        text = export_json(
            conn,
            _params(args, site),
            version=args.version,
            cabinet_id=args.cabinet_id or site.cabinet_id,
        )
    finally:
        conn.close()
    _write(args.output, text)
    return 0


def _guarded(handler: Handler) -> Handler:
    """Turn the cabinet's errors into one clear line and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        """Run the handler; report a refusal without a traceback."""
        try:
            return handler(args)
        except CabinetError as exc:
            print(f"cabinet: {exc}", file=sys.stderr)
            return 2

    return run


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` and `export` to the `cabinet` command line."""
    report = subparsers.add_parser("report", help="reports for auditors and pharmacists")
    names = report.add_subparsers(dest="name", required=True, metavar="NAME")
    for name in REPORTS:
        sub = names.add_parser(name, help=_HELP[name])
        _common(sub)
        sub.add_argument("--format", choices=list(FORMATS), default="table")
        if name == "expiry":
            sub.add_argument("--days", type=int, default=30, help="horizon in days (30)")
        if name in ("overrides", "anomalies"):
            sub.add_argument("--unit", help="care unit (default: the configuration's)")
        if name == "anomalies":
            sub.add_argument("--threshold", type=float, default=3.5, help="robust z (3.5)")
        if name == "controlled":
            sub.add_argument("--item", help="one controlled item only")
            sub.add_argument(
                "--validate-through",
                metavar="DATE",
                help="mark the register validated through DATE",
            )
            sub.add_argument("--by", default=getpass.getuser(), help="who validates")
            sub.add_argument(
                "--export", type=Path, metavar="FILE", help="write the register as a signed file"
            )
            sub.add_argument("--key", type=Path, help="signing key (default: the cabinet key)")
        sub.set_defaults(func=_guarded(_run_report))
    check = names.add_parser("verify", help="check a signed register file")
    check.add_argument("file", type=Path)
    check.add_argument("--key", type=Path, help="trusted key (public or private PEM)")
    check.add_argument("--db", type=Path)
    check.add_argument("--config", type=Path)
    check.set_defaults(func=_guarded(_run_verify))
    export = subparsers.add_parser("export", help="exports for the hospital's systems")
    kinds_of = export.add_subparsers(dest="export", required=True, metavar="KIND")
    fhir = kinds_of.add_parser("fhir", help="dispense, return and waste as a FHIR Bundle")
    _common(fhir)
    fhir.add_argument("--version", choices=["R5", "R4B"], default="R5")
    fhir.add_argument("--cabinet-id", help="cabinet id in identifiers (default: configuration)")
    fhir.set_defaults(func=_guarded(_run_fhir))


def main(argv: list[str] | None = None) -> int:
    """Run the report commands alone (the `cabinet` command registers the same ones)."""
    parser = argparse.ArgumentParser(prog="cabinet")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))
