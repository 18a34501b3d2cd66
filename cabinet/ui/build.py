"""Building the kiosk web server from the configuration (called by the composition root)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cabinet.ui.app import create_app
from cabinet.ui.runtime import Runtime
from cabinet.ui.service import UiService
from cabinet.ui.stock import StockReader

if TYPE_CHECKING:
    from cabinet.wiring import Context


class KioskService(UiService):
    """The web server plus the runtime that bridges workflow events to the kiosk."""

    def __init__(self, runtime: Runtime, *, host: str, port: int, ctx: Context) -> None:
        """Keep what the object needs; nothing starts here."""
        super().__init__(
            create_app(runtime),
            runtime.hub,
            host=host,
            port=port,
            address_file=ctx.config.store.state_dir / "ui-address",
        )
        self.runtime = runtime

    async def start(self) -> None:
        """Follow the workflows first, so that no event of the first request is missed."""
        await self.runtime.start()
        try:
            await super().start()
        except BaseException:
            await self.runtime.stop()
            raise

    async def stop(self) -> None:
        """Stop serving, then stop following."""
        try:
            await super().stop()
        finally:
            await self.runtime.stop()


def build_ui(ctx: Context) -> KioskService:
    """The kiosk over ctx.parts['workflows'] (and the sync state when a sync worker runs)."""
    cfg = ctx.config
    sync = ctx.parts.get("sync")
    runtime = Runtime(
        cabinet=ctx.parts["workflows"],
        clock=ctx.clock,
        stock=StockReader(cfg.store.db_path, cfg.drawers, ctx.clock),
        cabinet_id=cfg.cabinet.id,
        care_unit=cfg.cabinet.care_unit,
        language=cfg.cabinet.language,
        sync_state=sync.state if sync is not None else None,
        hardware=ctx.parts.get("coordinator"),
        # The workflows own the barcode reader (build_workflows hands it to them).
        reader=None,
    )
    service = KioskService(runtime, host=cfg.ui.host, port=cfg.ui.port, ctx=ctx)
    ctx.parts["ui"] = service
    return service
