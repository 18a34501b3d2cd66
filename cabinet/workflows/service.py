"""Building the workflow service from the configuration (called by the composition root)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cabinet.workflows.api import Cabinet
from cabinet.workflows.core import Settings

if TYPE_CHECKING:
    from cabinet.wiring import Context


def settings_from(ctx: Context) -> Settings:
    """Workflow rules from the configuration's cabinet, session, drawers and hardware sections."""
    cfg = ctx.config
    bin_drawer = cfg.return_bin
    return Settings(
        cabinet_id=cfg.cabinet.id,
        care_unit=cfg.cabinet.care_unit,
        language=cfg.cabinet.language,
        inactivity_s=cfg.session.inactivity_s,
        sign_out_on_close=cfg.session.sign_out_on_close,
        max_failed_pins=cfg.session.max_failed_pins,
        lockout_minutes=cfg.session.lockout_minutes,
        settle_timeout_s=max(5.0, 10 * cfg.hardware.settle_s),
        release_expiry_s=cfg.hardware.lock_pulse_ms / 1000 + 5.0,
        return_bin_drawer=bin_drawer.index if bin_drawer else None,
    )


def build_workflows(ctx: Context) -> Cabinet:
    """The workflows over the coordinator in ctx.parts; registered as ctx.parts['workflows']."""
    cabinet = Cabinet(
        ctx.store,
        ctx.parts["coordinator"],
        ctx.clock,
        settings_from(ctx),
        degraded=ctx.degraded_reason or ("ledger broken" if ctx.degraded else ""),
        scanner=ctx.parts.get("scanner"),
    )
    ctx.parts["workflows"] = cabinet
    return cabinet
