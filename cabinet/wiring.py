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
    return services
