"""The hardware coordinator as a daemon service (started first, stopped last)."""

from __future__ import annotations

import logging

from cabinet.hardware.coordinator import HardwareCoordinator

log = logging.getLogger("cabinet.hardware")


class HardwareService:
    """Starts the coordinator (relock, first poll, pollers) and stops it leaving locks shut."""

    name = "hardware"

    def __init__(self, coordinator: HardwareCoordinator) -> None:
        self.coordinator = coordinator

    async def start(self) -> None:
        """Relock everything and start polling; a dead board still starts, failing closed."""
        await self.coordinator.start()
        snap = self.coordinator.snapshot()
        down = [name for name, dev in snap.devices.items() if not dev.available]
        if down:
            log.error("hardware started without answers from: %s", ", ".join(down))

    async def stop(self) -> None:
        """Stop polling, darken lights, relock every drawer, close the transports."""
        await self.coordinator.stop()

    def making_progress(self) -> bool:
        """True while the polling loop runs."""
        return self.coordinator.making_progress()
