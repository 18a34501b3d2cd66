"""The shape of a long-running part of the daemon (poller, workflows, sync, web server)."""

from __future__ import annotations

from typing import Protocol


class Service(Protocol):
    """Started in order by the daemon, stopped in reverse order, watched for progress."""

    name: str

    async def start(self) -> None:
        """Start background work; return once the service is serving."""
        ...

    async def stop(self) -> None:
        """Stop background work and leave the hardware safe (locks relocked)."""
        ...

    def making_progress(self) -> bool:
        """True while the service's critical loop has run recently (feeds the watchdog)."""
        ...
