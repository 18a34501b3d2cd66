"""The simulator's state as plain data, for `status` and the control port."""

from __future__ import annotations

from typing import Any

from sim.hardware.bus import Bus
from sim.hardware.model import Cabinet


def snapshot(cabinet: Cabinet, bus: Bus) -> dict[str, Any]:
    """Board, drawers, pockets (with a fresh reading each) and injected faults."""
    drawers = []
    for index, d in sorted(cabinet.drawers.items()):
        pockets = []
        for p, pocket in enumerate(d.pockets):
            r = cabinet.reading(index, p)
            pockets.append(
                {
                    "pocket": p,
                    "count": pocket.count,
                    "unit_cg": pocket.unit_cg,
                    "weight_cg": r.centigrams,
                    "stable": r.stable,
                    "overload": r.overload,
                    "cell_fault": pocket.fault,
                    "light": d.lights[p],
                }
            )
        drawers.append(
            {
                "drawer": index,
                "kind": d.spec.kind,
                "scale_profile": d.spec.scale_profile,
                "scale_units": list(d.spec.units()),
                "closed": d.closed,
                "released": cabinet.energised(index),
                "ms_left": cabinet.ms_left(index),
                "bolt_engaged": cabinet.bolt_engaged(index),
                "stuck": d.stuck,
                "pockets": pockets,
            }
        )
    return {
        "board": {
            "alive": cabinet.alive,
            "tamper": cabinet.tamper,
            "power_fault": cabinet.power_fault,
        },
        "drawers": drawers,
        "bus_faults": {str(u): vars(f).copy() for u, f in bus.faults.items() if f.active()},
    }


def _pocket_text(p: dict[str, Any]) -> str:
    """One pocket in a few characters: 2:5x300cg=1501 (a ~ while it swings)."""
    text = f"{p['pocket']}:{p['count']}x{p['unit_cg']}cg={p['weight_cg']}"
    text += "" if p["stable"] else "~"
    return text + (f"[{p['cell_fault']}]" if p["cell_fault"] else "")


def summary(state: dict[str, Any]) -> str:
    """A few readable lines for the technician console."""
    b = state["board"]
    lines = [f"board: alive={b['alive']} tamper={b['tamper']} power_fault={b['power_fault']}"]
    for d in state["drawers"]:
        lock = "locked"
        if d["stuck"]:
            lock = "lock STUCK"
        elif d["released"]:
            lock = f"released {d['ms_left']} ms"
        head = f"drawer {d['drawer']} ({d['kind']}): {'closed' if d['closed'] else 'OPEN'}, {lock}"
        shown = [p for p in d["pockets"] if p["count"] or p["cell_fault"] or p["weight_cg"] > 5]
        cells = ", ".join(_pocket_text(p) for p in shown)
        lines.append(head + (f"; {cells}" if cells else ""))
    if state["bus_faults"]:
        lines.append(f"bus faults: {state['bus_faults']}")
    return "\n".join(lines)
