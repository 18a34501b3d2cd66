"""`cabinet pki`: create a site's CA and certificates for the central and the cabinets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cabinet.security import pki


def register(subparsers: Any) -> None:
    """Add `cabinet pki init|add-cabinet`."""
    parser = subparsers.add_parser("pki", help="site CA and mutual-TLS certificates")
    inner = parser.add_subparsers(dest="pki_command", required=True)
    init = inner.add_parser(
        "init", help="create a site CA, the central's certificate and cabinet certificates"
    )
    init.add_argument("folder", type=Path, help="where to write the PEM files")
    init.add_argument(
        "--cabinet", action="append", required=True, help="cabinet id (CN); repeat for several"
    )
    init.add_argument(
        "--central-name",
        action="append",
        help="a name the central is reached by (SAN); repeat; default localhost and 127.0.0.1",
    )
    init.add_argument("--site", default="Site pharmacy", help="organisation name of the CA")
    init.set_defaults(func=_init)
    add = inner.add_parser("add-cabinet", help="issue one more cabinet certificate")
    add.add_argument("folder", type=Path)
    add.add_argument("cabinet_id")
    add.set_defaults(func=_add)


def _init(args: argparse.Namespace) -> int:
    """Create the site PKI."""
    names = tuple(args.central_name or ("localhost", "127.0.0.1"))
    try:
        written = pki.init_site(args.folder, list(args.cabinet), names, args.site)
    except pki.PkiError as exc:
        print(f"cabinet pki init: {exc}", file=sys.stderr)
        return 1
    _report(written)
    print(f"central: --tls-dir {args.folder}; keep {pki.CA_KEY} offline once cabinets are issued")
    return 0


def _add(args: argparse.Namespace) -> int:
    """Issue one more cabinet certificate."""
    try:
        written = pki.add_cabinet(args.folder, args.cabinet_id)
    except pki.PkiError as exc:
        print(f"cabinet pki add-cabinet: {exc}", file=sys.stderr)
        return 1
    _report(written)
    return 0


def _report(paths: list[Path]) -> None:
    """Say which files were written (never their content)."""
    for path in paths:
        print(f"wrote {path}")
