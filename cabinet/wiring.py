"""The composition root: the one place that turns a configuration into concrete parts.

This is the only module of cabinet/ allowed to import drivers/. Each part is built in
dependency order (hardware coordinator, workflows, sync, web server) and returned as a list of
services that the daemon starts in order and stops in reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cabinet.clock import Clock
from cabinet.config import Config
from cabinet.service import Service
from cabinet.store import Store
from drivers.build import ScaleSpec, from_config, scanner_from_config


@dataclass
class Context:
    """What the daemon hands to the composition root, and the parts built so far."""

    config: Config
    store: Store
    clock: Clock
    # True when the ledger failed verification at start: no drawer may open.
    degraded: bool = False
    degraded_reason: str = ""
    parts: dict[str, Any] = field(default_factory=dict)


def build_services(ctx: Context) -> list[Service]:
    """Build every service the configuration asks for, in start order."""
    services: list[Service] = []
    services.append(build_hardware(ctx))
    from cabinet.workflows.service import build_workflows

    services.append(build_workflows(ctx))
    if ctx.config.central.enabled:
        from cabinet.sync.service import build_sync_service

        sync = build_sync_service(ctx.config, ctx.store, ctx.clock, degraded=ctx.degraded)
        ctx.parts["sync"] = sync
        services.append(sync)
    from cabinet.ui.build import build_ui

    services.append(build_ui(ctx))
    return services


def build_hardware(ctx: Context) -> Service:
    """The real Modbus drivers and the scanner from the configuration, under the coordinator.

    Puts the coordinator in ctx.parts["coordinator"] (and the barcode reader, when one is
    configured, in ctx.parts["scanner"]); a degraded start latches the coordinator locked.
    """
    from cabinet.hardware import HardwareCoordinator
    from cabinet.hardware.service import HardwareService

    hw = ctx.config.hardware
    modbus = from_config(
        transport=hw.transport,
        host=hw.host,
        port=hw.port,
        serial_port=hw.serial_port,
        baudrate=hw.baudrate,
        board_unit=hw.board_unit,
        timeout_s=hw.timeout_s,
        retries=hw.retries,
        down_after=hw.down_after_failures,
        drawers=[
            ScaleSpec(drawer=d.index, pockets=d.pockets, profile=d.scale_profile, unit=d.scale_unit)
            for d in ctx.config.drawers
        ],
    )
    coordinator = HardwareCoordinator(
        modbus.board,
        modbus.scales,
        ctx.clock,
        lock_pulse_ms=hw.lock_pulse_ms,
        open_drawer_hz=hw.open_drawer_hz,
        idle_poll_s=hw.idle_poll_s,
        settle_s=hw.settle_s,
        down_after_failures=hw.down_after_failures,
        request_deadline_s=hw.timeout_s * (hw.retries + 1) * 2,
    )
    if ctx.degraded:
        coordinator.lock_down(ctx.degraded_reason or "started in degraded mode")
    ctx.parts["coordinator"] = coordinator
    sc = ctx.config.scanner
    if sc.transport != "none":
        ctx.parts["scanner"] = scanner_from_config(
            transport=sc.transport,
            serial_port=sc.serial_port,
            baudrate=sc.baudrate,
            host=sc.host,
            port=sc.port,
            inter_char_timeout_ms=sc.inter_char_timeout_ms,
        )
    return HardwareService(coordinator)
