"""`cabinet-sim central`: run the simulated central, or change its data while it runs.

Without an action it serves. The actions (register-cabinet, add-order, change-order,
cancel-order, add-user, set-pocket, status) write to the same SQLite file; the running server
sees them within a fraction of a second and streams them to the cabinets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from proto.cabinet.v1 import sync_pb2
from sim import demo_data
from sim.central import catalog
from sim.central.credentials import DEFAULT_COST, FAST_COST
from sim.central.db import CentralDb
from sim.central.intake import Faults
from sim.central.server import CentralOptions, CentralTlsError, start

DEFAULT_DB = Path("central.db")


def _common(parser: argparse.ArgumentParser, *, sub: bool) -> None:
    """--db on the command and on each action, so it may come before or after the action."""
    parser.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS if sub else DEFAULT_DB,
        help=f"the central's SQLite file (default {DEFAULT_DB})",
    )


def register(subparsers: Any) -> None:
    """Add `central` to the `cabinet-sim` command line."""
    parser = subparsers.add_parser(
        "central", help="the simulated central pharmacy (gRPC server and its data)"
    )
    build_parser(parser)


def build_parser(parser: argparse.ArgumentParser) -> None:
    """The options of serving and the data actions."""
    _common(parser, sub=False)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=50051, help="port (0: any free port)")
    parser.add_argument("--tls-dir", type=Path, help="folder made by `cabinet pki init`")
    parser.add_argument(
        "--insecure-development",
        action="store_true",
        help="plain TCP, identity claimed by the client: development only",
    )
    parser.add_argument(
        "--enroll-on-first-contact",
        action="store_true",
        help="register a cabinet's ledger key the first time its certificate connects",
    )
    parser.add_argument("--no-demo-data", action="store_true", help="start with an empty catalog")
    parser.add_argument(
        "--fast-hashes", action="store_true", help="cheap scrypt cost for demo secrets (tests)"
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port here once serving")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--fault-delay-s", type=float, default=0.0, help="answer pushes late")
    faults.add_argument(
        "--fault-delay-calls", type=int, default=0, help="delay only this many pushes (0: all)"
    )
    faults.add_argument(
        "--fault-drop-answers", type=int, default=0, help="store N pushes, then lose the answer"
    )
    faults.add_argument(
        "--fault-crash-after-events",
        type=int,
        help="store this many events of the next push, then exit at once (status 70)",
    )
    parser.set_defaults(func=run, action=None)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    reg = actions.add_parser("register-cabinet", help="register a cabinet's ledger public key")
    reg.add_argument("cabinet_id")
    reg.add_argument("pubkey_file", type=Path, help="PEM file (the cabinet's cabinet.pub)")

    order = actions.add_parser("add-order", help="publish a verified order")
    order.add_argument("--id", required=True)
    order.add_argument("--patient", required=True, help="patient IPP")
    order.add_argument("--item", required=True, help="item code")
    order.add_argument("--dose", type=int, required=True, help="item units per administration")
    order.add_argument("--kind", choices=("scheduled", "prn"), default="scheduled")
    order.add_argument("--times", default="", help="scheduled: HH:MM,HH:MM")
    order.add_argument("--window-minutes", type=int, default=60)
    order.add_argument("--min-interval-minutes", type=int, default=0)
    order.add_argument("--daily-max", type=int)
    order.add_argument("--start-at", default=demo_data.DEMO_START)
    order.add_argument("--stop-at")
    order.add_argument("--verified-by", default="PHA-001", help="'' for an unverified order")
    order.add_argument("--prescriber", default="")

    change = actions.add_parser("change-order", help="change an order's dose, status or maximum")
    change.add_argument("order_id")
    change.add_argument("--dose", type=int)
    change.add_argument("--status", choices=tuple(catalog.ORDER_STATUSES))
    change.add_argument("--daily-max", type=int)

    cancel = actions.add_parser("cancel-order", help="cancel an order")
    cancel.add_argument("order_id")

    user = actions.add_parser("add-user", help="register a user (badge and PIN are hashed)")
    user.add_argument("user_id")
    user.add_argument("name")
    user.add_argument("--roles", required=True, help="comma-separated: " + ",".join(catalog.ROLES))
    user.add_argument("--badge", required=True)
    user.add_argument("--pin", required=True)

    pocket = actions.add_parser("set-pocket", help="assign a pocket (item '' to clear it)")
    pocket.add_argument("drawer", type=int)
    pocket.add_argument("pocket", type=int)
    pocket.add_argument("item")
    pocket.add_argument("--par", type=int, default=0)
    pocket.add_argument("--max", type=int, default=0)
    pocket.add_argument("--cabinet", default="*", help="one cabinet id, or '*' for all")

    status = actions.add_parser("status", help="what the central holds for a cabinet")
    status.add_argument("cabinet_id")
    for sub in (reg, order, change, cancel, user, pocket, status):
        _common(sub, sub=True)


def run(args: argparse.Namespace) -> int:
    """Serve, or apply one data action; errors are one clear line and status 1."""
    if args.action is None:
        return serve(args)
    db = CentralDb(args.db)
    try:
        print(_act(db, args))
    except (catalog.CatalogError, ValueError, OSError) as exc:
        print(f"cabinet-sim central {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0


def _act(db: CentralDb, args: argparse.Namespace) -> str:
    """One data action; returns the line to print."""
    if args.action == "register-cabinet":
        from sim.central.chain import load_public_key

        pem = args.pubkey_file.read_text(encoding="ascii")
        load_public_key(pem)
        db.register_cabinet(args.cabinet_id, pem)
        return f"cabinet {args.cabinet_id} registered"
    if args.action == "add-order":
        order = demo_data.DemoOrder(
            id=args.id,
            patient_ipp=args.patient,
            item_code=args.item,
            dose=args.dose,
            kind=args.kind,
            times=tuple(t for t in args.times.split(",") if t),
            window_minutes=args.window_minutes,
            min_interval_minutes=args.min_interval_minutes,
            daily_max=args.daily_max,
            start_at=args.start_at,
            stop_at=args.stop_at,
            verified_by=args.verified_by or None,
            prescriber=args.prescriber,
        )
        return f"order {args.id} published as version {catalog.add_order(db, order)}"
    if args.action == "change-order":
        version = catalog.change_order(
            db, args.order_id, dose=args.dose, status=args.status, daily_max=args.daily_max
        )
        return f"order {args.order_id} changed, version {version}"
    if args.action == "cancel-order":
        return f"order {args.order_id} cancelled, version {catalog.cancel_order(db, args.order_id)}"
    if args.action == "add-user":
        user = demo_data.DemoUser(
            id=args.user_id,
            name=args.name,
            roles=tuple(r.strip() for r in args.roles.split(",") if r.strip()),
            badge=args.badge,
            pin=args.pin,
        )
        return f"user {args.user_id} published as version {catalog.register_user(db, user)}"
    if args.action == "set-pocket":
        plan = demo_data.DemoPocket(
            drawer=args.drawer,
            pocket=args.pocket,
            item_code=args.item or None,
            par=args.par,
            max=args.max,
        )
        version = catalog.set_pocket(db, plan, args.cabinet)
        return f"pocket {args.drawer}.{args.pocket} set, version {version}"
    return _status(db, args.cabinet_id)


def _status(db: CentralDb, cabinet: str) -> str:
    """A cabinet's stored ledger head and latest heartbeat."""
    seq, last_hash, cp = db.head(cabinet)
    lines = [f"cabinet {cabinet}: events 1..{seq} stored, checkpoint {cp}, head {last_hash[:16]}"]
    beat = db.heartbeat(cabinet)
    if beat is not None:
        hb = sync_pb2.HeartbeatRequest.FromString(beat[1])
        lines.append(
            f"last heartbeat {beat[0]}: outbox {hb.outbox_depth}, "
            f"{len(hb.open_alarms)} open alarms, {len(hb.below_par)} pockets below par, "
            f"offline since {hb.offline_since or '-'}"
        )
    lines.append(f"change log at version {db.latest_version()}")
    return "\n".join(lines)


def serve(args: argparse.Namespace) -> int:
    """Run the server until SIGTERM or SIGINT."""
    faults = Faults(
        delay_s=args.fault_delay_s,
        delay_calls=args.fault_delay_calls,
        drop_answers=args.fault_drop_answers,
        crash_after_events=args.fault_crash_after_events,
    )
    options = CentralOptions(
        db_path=args.db,
        host=args.host,
        port=args.port,
        tls_dir=args.tls_dir,
        insecure_development=args.insecure_development,
        enroll_on_first_contact=args.enroll_on_first_contact,
        faults=faults,
        # A real death: no cleanup, no answer, the file as SQLite left it.
        on_crash=lambda: os._exit(70),
    )
    db = CentralDb(args.db)
    try:
        if not args.no_demo_data:
            catalog.seed_demo(db, FAST_COST if args.fast_hashes else DEFAULT_COST)
        return asyncio.run(_serve(options, db, args.port_file))
    except CentralTlsError as exc:
        print(f"cabinet-sim central: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()


async def _serve(options: CentralOptions, db: CentralDb, port_file: Path | None) -> int:
    """Start, announce the port, wait for a stop signal, stop."""
    running = await start(options, db)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mode = "INSECURE (development)" if options.insecure_development else "mutual TLS"
    print(f"central pharmacy listening on {options.host}:{running.port} ({mode})", flush=True)
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(running.port))
        tmp.replace(port_file)  # whole or absent: a reader never sees half a number
    await stop.wait()
    with contextlib.suppress(asyncio.CancelledError):
        await running.stop(0.5)
    print("central pharmacy stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.central`: the same as `cabinet-sim central`."""
    parser = argparse.ArgumentParser(prog="cabinet-sim central", description=__doc__)
    build_parser(parser)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
