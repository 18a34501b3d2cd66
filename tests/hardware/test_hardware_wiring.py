"""The composition root builds the real drivers under the coordinator from the configuration."""

from __future__ import annotations

from typing import cast

import pytest

from cabinet.clock import DrivenClock
from cabinet.config import Config, DrawerSection, HardwareSection, ScannerSection
from cabinet.hardware import HardwareCoordinator, RefusalCode, ReleaseRefused
from cabinet.store import Store
from cabinet.wiring import Context, build_hardware


def _context(*, degraded: bool, scanner: str = "none") -> Context:
    """A context for the hardware part alone (it never touches the store)."""
    config = Config(
        drawers=(DrawerSection(index=0, pockets=3), DrawerSection(index=2, pockets=1)),
        hardware=HardwareSection(port=1502, lock_pulse_ms=4000, open_drawer_hz=30),
        scanner=ScannerSection(transport="tcp" if scanner == "tcp" else "none"),
    )
    return Context(
        config=config,
        store=cast(Store, None),
        clock=DrivenClock(),
        degraded=degraded,
        degraded_reason="ledger chain broken at 12",
    )


def test_coordinator_follows_the_configuration() -> None:
    """Drawers, cadence and pulse come from the file; the coordinator is in ctx.parts."""
    ctx = _context(degraded=False, scanner="tcp")
    service = build_hardware(ctx)
    coordinator = ctx.parts["coordinator"]
    assert service.name == "hardware"
    assert isinstance(coordinator, HardwareCoordinator)
    assert coordinator.drawers == (0, 2)
    assert coordinator.lock_pulse_ms == 4000
    assert abs(coordinator.fast_period_s - 1 / 30) < 1e-9
    assert coordinator.locked_down is None
    assert "scanner" in ctx.parts


async def test_degraded_start_latches_the_coordinator() -> None:
    """A broken ledger at start: the coordinator refuses every release."""
    ctx = _context(degraded=True)
    build_hardware(ctx)
    coordinator = ctx.parts["coordinator"]
    assert coordinator.locked_down == "ledger chain broken at 12"
    assert "scanner" not in ctx.parts
    with pytest.raises(ReleaseRefused) as refused:
        coordinator.check_release(0)
    assert refused.value.code is RefusalCode.LOCKED_DOWN
