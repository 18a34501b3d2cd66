"""Fan-out of live cabinet events (drawer, weight, alarm, scan, task) to the kiosk's streams."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class LiveEvent:
    """One event on the kiosk stream: its kind, an id for reconnection, and its data."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    id: int = 0


class EventHub:
    """Bounded per-subscriber queues: a slow browser loses old events, never blocks the cabinet."""

    def __init__(self, queue_size: int = 256) -> None:
        """Keep what the object needs; nothing starts here."""
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[LiveEvent | None]] = set()
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def subscribers(self) -> int:
        """How many streams are open now."""
        return len(self._subscribers)

    def publish(self, kind: str, data: dict[str, Any] | None = None) -> None:
        """Hand an event to every open stream without waiting."""
        event = LiveEvent(kind=kind, data=data or {}, id=next(self._ids))
        for queue in self._subscribers:
            if queue.full():
                # Drop the oldest: the page re-reads the full state on every event anyway.
                queue.get_nowait()
            queue.put_nowait(event)

    async def subscribe(self, heartbeat_s: float = 15.0) -> AsyncIterator[LiveEvent]:
        """Yield events until the hub closes; a heartbeat keeps idle streams honest."""
        if self._closed:
            return
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
                except TimeoutError:
                    yield LiveEvent(kind="heartbeat")
                    continue
                if event is None:
                    return
                yield event
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        """End every open stream (at shutdown, so the server is not held by a browser)."""
        self._closed = True
        for queue in self._subscribers:
            while queue.full():
                queue.get_nowait()
            queue.put_nowait(None)
