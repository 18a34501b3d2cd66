"""Fault injection: mute, slow or failing devices, bad CRCs, stuck locks, sick cells, bad scans."""

from __future__ import annotations

from typing import Any

from pymodbus.constants import ExcCodes

from sim.hardware.context import SimContext, Usage, ints, target_units
from sim.hardware.scanner import pack_code, with_aim

FAULT_USAGE = (
    "fault no-answer board|scale D|unit N  ·  fault slow board|scale D|unit N MS  ·  "
    "fault exception board|scale D|unit N [CODE]  ·  fault crc board|scale D|unit N  ·  "
    "fault stuck-lock D  ·  fault unstable D P  ·  fault drift D P CG_PER_S  ·  "
    "fault cell-failed D P  ·  fault power  ·  fault reboot [SECONDS]  ·  "
    "fault scanner-garbage [N]  ·  "
    "fault no-terminator TEXT  ·  fault missing-gs GTIN LOT EXPIRY SERIAL"
)
BUS_FAULTS = ("no-answer", "slow", "exception", "crc")


def _bus_fault(ctx: SimContext, kind: str, args: list[str]) -> dict[str, Any]:
    """A device on the bus stops answering, answers slowly, with an exception or a bad CRC."""
    usage = f"fault {kind} board|scale D|unit N" + {"slow": " MS", "exception": " [CODE]"}.get(
        kind, ""
    )
    units, rest = target_units(ctx, args, usage)
    if kind == "crc" and ctx.bus.transport != "rtu":
        raise Usage("fault crc needs the RTU transport (TCP frames carry no CRC)")
    value = 0
    if kind == "slow":
        (value,) = ints(rest, 1, usage)
        if not 1 <= value <= 60_000:
            raise Usage("fault slow: MS from 1 to 60000")
    elif kind == "exception":
        (value,) = ints(rest, 1, usage) if rest else (int(ExcCodes.DEVICE_FAILURE),)
        if value not in {int(c) for c in ExcCodes}:
            raise Usage(f"fault exception: CODE one of {sorted(int(c) for c in ExcCodes)}")
    elif rest:
        raise Usage(usage)
    faults = [ctx.bus.fault(u) for u in units]  # refuses an absent unit before changing any
    for f in faults:
        if kind == "no-answer":
            f.no_answer = True
        elif kind == "slow":
            f.slow_ms = value
        elif kind == "exception":
            f.exception = value
        else:
            f.corrupt_crc = True
    return {"fault": kind, "units": units, **({"value": value} if value else {})}


async def inject(ctx: SimContext, kind: str, args: list[str]) -> dict[str, Any]:
    """Inject one fault of the given kind; bad arguments change nothing."""
    c = ctx.cabinet
    if kind in BUS_FAULTS:
        return _bus_fault(ctx, kind, args)
    if kind == "stuck-lock":
        (d,) = ints(args, 1, "fault stuck-lock D")
        c.drawer(d).stuck = True
        return {"fault": kind, "drawer": d}
    if kind in ("unstable", "cell-failed"):
        d, p = ints(args, 2, f"fault {kind} D P")
        c.set_cell_fault(d, p, "failed" if kind == "cell-failed" else kind)
        return {"fault": kind, "drawer": d, "pocket": p}
    if kind == "drift":
        if len(args) != 3:
            raise Usage("fault drift D P CG_PER_S")
        d, p = ints(args[:2], 2, "fault drift D P CG_PER_S")
        try:
            rate = float(args[2])
        except ValueError:
            raise Usage("fault drift D P CG_PER_S") from None
        c.set_cell_fault(d, p, "drift", rate)
        return {"fault": kind, "drawer": d, "pocket": p, "cg_per_s": rate}
    if kind == "power":
        ints(args, 0, "fault power")
        c.power_fault = True
        return {"fault": kind}
    if kind == "reboot":
        try:
            seconds = float(args[0]) if len(args) == 1 else 2.0 if not args else -1.0
        except ValueError:
            seconds = -1.0
        if not 0.1 <= seconds <= 600:
            raise Usage("fault reboot [SECONDS] (0.1 to 600, default 2)")
        c.reboot(seconds)
        return {"fault": kind, "seconds": seconds}
    if kind == "scanner-garbage":
        (n,) = ints(args, 1, "fault scanner-garbage [N]") if args else (16,)
        if not 1 <= n <= 4096:
            raise Usage("fault scanner-garbage [N] (1 to 4096 bytes)")
        return {"fault": kind, "sent_hex": (await ctx.scanner.garbage(n)).hex()}
    if kind == "no-terminator":
        if not args:
            raise Usage("fault no-terminator TEXT")
        read = with_aim(" ".join(args))
        await ctx.scanner.send_text(read, terminated=False)
        return {"fault": kind, "sent": read}
    if kind == "missing-gs":
        if len(args) != 4:
            raise Usage("fault missing-gs GTIN LOT EXPIRY SERIAL")
        read = pack_code(*args, separator=False)
        await ctx.scanner.send_text(read)
        return {"fault": kind, "sent": read}
    raise Usage(FAULT_USAGE)
