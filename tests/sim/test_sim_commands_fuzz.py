"""Fuzzing the technician's command language: any line gets a reply, and the cabinet stays sane."""

from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.hardware.bus import Bus
from sim.hardware.commands import COMMANDS, execute
from sim.hardware.context import SimContext
from sim.hardware.layout import default_layout
from sim.hardware.model import MAX_PULSE_MS, Cabinet
from sim.hardware.scanner import Scanner

# wait and quit would only make the run slow or stop it: everything else is fair game.
NAMES = [*sorted(set(COMMANDS) - {"wait", "quit"}), "help", "fault"]
TOKENS = st.one_of(
    st.sampled_from(
        [
            "board",
            "scale",
            "unit",
            "no-answer",
            "slow",
            "exception",
            "crc",
            "stuck-lock",
            "unstable",
            "drift",
            "cell-failed",
            "reboot",
            "power",
            "scanner-garbage",
            "no-terminator",
            "missing-gs",
            "<GS>",
        ]
    ),
    st.integers(min_value=-3, max_value=70_000).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
LINES = st.one_of(
    st.tuples(st.sampled_from(NAMES), st.lists(TOKENS, max_size=5)).map(
        lambda t: " ".join([t[0], *t[1]])
    ),
    st.text(max_size=40).filter(lambda s: s.split()[:1] not in (["wait"], ["quit"])),
)


def sane(cabinet: Cabinet) -> None:
    """The physical invariants no command may break."""
    for index, drawer in cabinet.drawers.items():
        assert 0 <= cabinet.ms_left(index) <= MAX_PULSE_MS
        for pocket in drawer.pockets:
            assert pocket.count >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, min_size=1, max_size=12))
def test_any_line_gets_a_json_reply_and_breaks_nothing(lines: list[str]) -> None:
    """Random command lines never raise; every reply is JSON with an ok flag."""

    async def run() -> None:
        """Feed the lines to one simulated cabinet."""
        cabinet = Cabinet(default_layout(), settle_s=0.0, seed=1)
        ctx = SimContext(cabinet=cabinet, bus=Bus(cabinet), scanner=Scanner())
        for line in lines:
            reply = await execute(ctx, line)
            assert isinstance(reply["ok"], bool)
            assert reply["ok"] or reply["error"]
            json.dumps(reply, default=str)
            sane(cabinet)
        await ctx.scanner.close()

    asyncio.run(run())
