"""The technician's command language, shared by the console, scenario files and the control port."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.demo_data import ITEMS_BY_CODE, POCKET_PLAN
from sim.hardware.context import SimContext, Usage, ints
from sim.hardware.faults import FAULT_USAGE, inject
from sim.hardware.model import Refused
from sim.hardware.scanner import ScanError, pack_code, with_aim
from sim.hardware.state import snapshot

MAX_WAIT_S = 600.0
Reply = dict[str, Any]


Handler = Callable[[SimContext, list[str]], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    """One command: how to type it, what it does, and its implementation."""

    usage: str
    summary: str
    run: Handler


async def _status(ctx: SimContext, args: list[str]) -> Any:
    """The whole cabinet as data."""
    return snapshot(ctx.cabinet, ctx.bus)


async def _open(ctx: SimContext, args: list[str]) -> Any:
    """Pull a drawer (refused while locked)."""
    (d,) = ints(args, 1, "open D")
    return {"drawer": d, "result": ctx.cabinet.open(d)}


async def _force(ctx: SimContext, args: list[str]) -> Any:
    """Pull a drawer hard enough to break a locked bolt."""
    (d,) = ints(args, 1, "force D")
    return {"drawer": d, "result": ctx.cabinet.open(d, force=True), "tamper": ctx.cabinet.tamper}


async def _close(ctx: SimContext, args: list[str]) -> Any:
    """Push a drawer shut."""
    (d,) = ints(args, 1, "close D")
    ctx.cabinet.close(d)
    return {"drawer": d, "closed": True}


async def _take(ctx: SimContext, args: list[str]) -> Any:
    """Take items out of a pocket."""
    d, p, n = ints(args, 3, "take D P N")
    return {"drawer": d, "pocket": p, "count": ctx.cabinet.take(d, p, n)}


async def _put(ctx: SimContext, args: list[str]) -> Any:
    """Put items into a pocket."""
    d, p, n = ints(args, 3, "put D P N")
    return {"drawer": d, "pocket": p, "count": ctx.cabinet.put(d, p, n)}


async def _load(ctx: SimContext, args: list[str]) -> Any:
    """Set a pocket's content outright."""
    d, p, n, unit = ints(args, 4, "load D P N UNIT_WEIGHT_CG")
    ctx.cabinet.load(d, p, n, unit)
    return {"drawer": d, "pocket": p, "count": n, "unit_cg": unit}


async def _stock_demo(ctx: SimContext, args: list[str]) -> Any:
    """Fill every pocket of the demo pocket plan with its demo quantity of its item."""
    ints(args, 0, "stock-demo")
    loaded = []
    for planned in POCKET_PLAN:
        item = ITEMS_BY_CODE.get(planned.item_code or "")
        if item is None or planned.drawer not in ctx.cabinet.drawers:
            continue
        if planned.pocket >= len(ctx.cabinet.drawer(planned.drawer).pockets):
            continue
        ctx.cabinet.load(planned.drawer, planned.pocket, planned.demo_quantity, item.unit_weight_cg)
        loaded.append([planned.drawer, planned.pocket, planned.demo_quantity, item.code])
    return {"loaded": loaded}


async def _tare(ctx: SimContext, args: list[str]) -> Any:
    """Zero a pocket's load cell on what it carries (the transmitter's front-panel tare)."""
    d, p = ints(args, 2, "tare D P")
    ctx.cabinet.tare(d, p)
    return {"drawer": d, "pocket": p, "tare_cg": ctx.cabinet.pocket(d, p).zero_cg}


async def _release(ctx: SimContext, args: list[str]) -> Any:
    """Energise a lock as if the board had been told to over Modbus."""
    d, ms = ints(args, 2, "release D MS")
    return {"drawer": d, "pulse_ms": ctx.cabinet.release(d, ms)}


async def _relock(ctx: SimContext, args: list[str]) -> Any:
    """Relock every drawer, as the 0xA5A5 command does."""
    ints(args, 0, "relock")
    ctx.cabinet.relock_all()
    return {"relocked": True}


async def _scan(ctx: SimContext, args: list[str]) -> Any:
    """Send a raw read (an AIM identifier is added when missing)."""
    if not args:
        raise Usage("scan TEXT")
    return {"sent": await ctx.scanner.scan(" ".join(args))}


async def _scan_pack(ctx: SimContext, args: list[str]) -> Any:
    """Send a GS1 DataMatrix drug pack read."""
    if len(args) != 4:
        raise Usage("scan-pack GTIN LOT EXPIRY SERIAL")
    read = pack_code(*args)
    await ctx.scanner.send_text(read)
    return {"sent": read}


async def _badge(ctx: SimContext, args: list[str]) -> Any:
    """Present a staff badge."""
    if len(args) != 1:
        raise Usage("badge CODE")
    read = with_aim(ctx.scanner.formats.badge.format(code=args[0]))
    await ctx.scanner.send_text(read)
    return {"sent": read}


async def _wristband(ctx: SimContext, args: list[str]) -> Any:
    """Present a patient wristband."""
    if len(args) != 1:
        raise Usage("wristband IPP")
    read = with_aim(ctx.scanner.formats.wristband.format(ipp=args[0]))
    await ctx.scanner.send_text(read)
    return {"sent": read}


async def _clear(ctx: SimContext, args: list[str]) -> Any:
    """Heal every fault and drop the tamper latch."""
    ints(args, 0, "clear")
    ctx.cabinet.clear_faults()
    ctx.bus.clear_faults()
    return {"cleared": True}


async def _settle(ctx: SimContext, args: list[str]) -> Any:
    """Show or set how long a disturbed load cell takes to settle."""
    if args:
        try:
            seconds = float(args[0]) if len(args) == 1 else -1.0
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 30:
            raise Usage("settle [SECONDS] (0 to 30)")
        ctx.cabinet.settle_s = seconds
    return {"settle_s": ctx.cabinet.settle_s}


async def _reset(ctx: SimContext, args: list[str]) -> Any:
    """Back to power-on: every drawer closed, locked and empty; no fault; no pending scan."""
    ints(args, 0, "reset")
    ctx.cabinet.reset()
    ctx.bus.clear_faults()
    ctx.scanner.flush()
    return {"reset": True}


async def _events(ctx: SimContext, args: list[str]) -> Any:
    """Writes seen on the wire after a sequence number."""
    (since,) = ints(args, 1, "events SINCE") if args else (0,)
    return ctx.bus.events_since(since)


async def _endpoints(ctx: SimContext, args: list[str]) -> Any:
    """Where the Modbus server, the scanner and the control port are."""
    return ctx.endpoints


async def _wait(ctx: SimContext, args: list[str]) -> Any:
    """Let time pass (scenarios)."""
    try:
        seconds = float(args[0]) if len(args) == 1 else -1.0
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT_S:
        raise Usage(f"wait SECONDS (0 to {MAX_WAIT_S:g})")
    await asyncio.sleep(seconds)
    return {"waited_s": seconds}


async def _quit(ctx: SimContext, args: list[str]) -> Any:
    """Stop the simulator."""
    ctx.stop.set()
    return {"stopping": True}


async def _fault(ctx: SimContext, args: list[str]) -> Any:
    """Inject one fault (see help fault)."""
    if not args:
        raise Usage(FAULT_USAGE)
    return await inject(ctx, args[0], args[1:])


COMMANDS: dict[str, Command] = {
    "status": Command("status", "show locks, drawers, pockets, weights and faults", _status),
    "open": Command("open D", "pull drawer D open (refused while its lock holds)", _open),
    "close": Command("close D", "push drawer D shut (the bolt catches it)", _close),
    "force": Command("force D", "force drawer D open (a locked one sets the tamper bit)", _force),
    "take": Command("take D P N", "take N items from pocket P of open drawer D", _take),
    "put": Command("put D P N", "put N items into pocket P of open drawer D", _put),
    "load": Command(
        "load D P N UNIT_WEIGHT_CG", "set pocket P to N items of UNIT_WEIGHT_CG each", _load
    ),
    "stock-demo": Command(
        "stock-demo", "fill the demo pocket plan's pockets with their demo stock", _stock_demo
    ),
    "tare": Command("tare D P", "zero pocket P's cell on its load (front-panel tare)", _tare),
    "release": Command("release D MS", "energise drawer D's lock for MS ms", _release),
    "relock": Command("relock", "relock every drawer now", _relock),
    "scan": Command("scan TEXT", "send a raw read (<GS> for the separator)", _scan),
    "scan-pack": Command(
        "scan-pack GTIN LOT EXPIRY SERIAL", "send a GS1 DataMatrix drug pack", _scan_pack
    ),
    "badge": Command("badge CODE", "present a staff badge", _badge),
    "wristband": Command("wristband IPP", "present a patient wristband", _wristband),
    "fault": Command("fault KIND ...", "inject a fault (help fault for the kinds)", _fault),
    "clear": Command("clear", "heal every fault and drop the tamper latch", _clear),
    "settle": Command("settle [SECONDS]", "show or set the load cells' settling time", _settle),
    "reset": Command("reset", "back to power-on: closed, locked, empty, no fault", _reset),
    "events": Command("events [SINCE]", "writes seen on the wire after sequence SINCE", _events),
    "endpoints": Command("endpoints", "where the bus, scanner and control port are", _endpoints),
    "wait": Command("wait SECONDS", "pause (scenario files)", _wait),
    "quit": Command("quit", "stop the simulator", _quit),
}


def help_text(topic: str = "") -> str:
    """The help screen, or one command's usage."""
    if topic == "fault":
        return FAULT_USAGE.replace("  ·  ", "\n")
    if topic in COMMANDS:
        c = COMMANDS[topic]
        return f"{c.usage}: {c.summary}"
    width = max(len(c.usage) for c in COMMANDS.values())
    lines = [f"  {c.usage:<{width}}  {c.summary}" for c in COMMANDS.values()]
    return "\n".join(["commands:", *lines, f"  {'help [COMMAND]':<{width}}  this screen"])


async def execute(ctx: SimContext, line: str) -> Reply:
    """Run one command line and return its JSON-able reply; never raises for bad input."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        return {"ok": False, "error": f"cannot read the line: {exc}"}
    if not words:
        return {"ok": True, "command": "", "result": None}
    name, args = words[0].lower(), words[1:]
    if name == "help":
        return {"ok": True, "command": "help", "result": help_text(args[0] if args else "")}
    cmd = COMMANDS.get(name)
    if cmd is None:
        return {"ok": False, "command": name, "error": f"unknown command {name!r}; try help"}
    try:
        result = await cmd.run(ctx, args)
    except Usage as exc:
        return {"ok": False, "command": name, "error": f"usage: {exc}"}
    except (Refused, ScanError) as exc:
        return {"ok": False, "command": name, "error": str(exc)}
    return {"ok": True, "command": name, "result": result}


async def run_scenario(ctx: SimContext, path: Path, echo: Callable[[str], None]) -> bool:
    """Run a scenario file line by line; stop at the first failing line and say where."""
    try:
        lines = (await asyncio.to_thread(path.read_text, encoding="utf-8")).splitlines()
    except OSError as exc:
        echo(f"scenario {path}: {exc.strerror}")
        return False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        reply = await execute(ctx, line)
        echo(f"{path.name}:{number}: {line.strip()} -> {'ok' if reply['ok'] else reply['error']}")
        if not reply["ok"]:
            return False
        if ctx.stop.is_set():
            break
    return True
