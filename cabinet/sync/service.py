"""The sync service of the daemon: uplink, downlink and heartbeat over one channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Coroutine
from typing import Any

import grpc

from cabinet.clock import Clock
from cabinet.config import Config
from cabinet.store import LedgerEvent, Store, open_read_only
from cabinet.sync.backoff import Backoff
from cabinet.sync.channel import open_channel
from cabinet.sync.downlink import Downlink
from cabinet.sync.heartbeat import Heartbeat
from cabinet.sync.outbox import Outbox
from cabinet.sync.status import SyncState, SyncStatus
from cabinet.sync.uplink import Sleep, Uplink
from proto.cabinet.v1 import sync_pb2_grpc

log = logging.getLogger("cabinet.sync")


class SyncService:
    """Started by the daemon; offline it only waits and retries: the cabinet serves from cache."""

    name = "sync"

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        *,
        public_key_pem: str = "",
        degraded: bool = False,
        sleep: Sleep = asyncio.sleep,
        watch_window_s: float = 60.0,
        idle_poll_s: float = 1.0,
    ) -> None:
        """Prepare the service; nothing connects before start()."""
        self.config = config
        self.store = store
        self.clock = clock
        self.public_key_pem = public_key_pem
        self.degraded = degraded
        self.sleep = sleep
        self.watch_window_s = watch_window_s
        self.idle_poll_s = idle_poll_s
        self.status = SyncStatus(clock)
        self.channel: grpc.aio.Channel | None = None
        self.reader: sqlite3.Connection | None = None
        self.uplink: Uplink | None = None
        self.downlink: Downlink | None = None
        self.heartbeat: Heartbeat | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        store.on_event(self._on_event)

    def state(self) -> SyncState:
        """The link's state for the screen: online, offline since, backlog, last error."""
        return self.status.snapshot()

    def lock_down(self, reason: str) -> None:
        """The ledger failed its check: keep syncing, and tell the central in every heartbeat."""
        log.warning("sync: cabinet degraded (%s); heartbeats say so", reason)
        self.degraded = True
        if self.heartbeat is not None:
            self.heartbeat.degraded = True

    def _backoff(self) -> Backoff:
        """A fresh backoff with the configured bounds."""
        central = self.config.central
        return Backoff(central.backoff_initial_s, central.backoff_max_s)

    async def start(self) -> None:
        """Open the channel and start the three loops; never waits for the central."""
        central = self.config.central
        cabinet_id = self.config.cabinet.id
        self._loop = asyncio.get_running_loop()
        self.channel = open_channel(central, production=self.config.cabinet.production)
        stub = sync_pb2_grpc.CentralPharmacyStub(self.channel)
        self.reader = open_read_only(self.store.path)
        self.uplink = Uplink(
            stub,
            Outbox(self.store, self.reader),
            self.status,
            cabinet_id=cabinet_id,
            public_key_pem=self.public_key_pem,
            batch_size=central.batch_size,
            deadline_s=central.deadline_s,
            backoff=self._backoff(),
            sleep=self.sleep,
            idle_poll_s=self.idle_poll_s,
        )
        self.downlink = Downlink(
            stub,
            self.store,
            self.status,
            cabinet_id=cabinet_id,
            backoff=self._backoff(),
            window_s=self.watch_window_s,
            sleep=self.sleep,
        )
        self.heartbeat = Heartbeat(
            stub,
            self.reader,
            self.status,
            cabinet_id=cabinet_id,
            period_s=central.heartbeat_s,
            deadline_s=central.deadline_s,
            degraded=self.degraded,
            sleep=self.sleep,
        )
        self._spawn(self.uplink.run(), "sync-uplink")
        self._spawn(self.downlink.run(), "sync-downlink")
        self._spawn(self.heartbeat.run(), "sync-heartbeat")
        log.info("sync: started towards %s", central.address)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Start a loop task; a loop that dies is logged (it should only end when cancelled)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(self._on_done)
        self._tasks.append(task)

    @staticmethod
    def _on_done(task: asyncio.Task[None]) -> None:
        """Log a loop that ended by an unexpected exception."""
        if not task.cancelled() and task.exception() is not None:
            log.error("sync: %s stopped: %r", task.get_name(), task.exception())

    def _on_event(self, event: LedgerEvent) -> None:
        """A committed ledger event: wake the uplink (from whatever thread committed it)."""
        uplink, loop = self.uplink, self._loop
        if uplink is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            uplink.nudge()
        else:
            loop.call_soon_threadsafe(uplink.nudge)

    async def stop(self) -> None:
        """Cancel the loops and close the channel; unsent events stay in the outbox."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.channel is not None:
            await self.channel.close()
            self.channel = None
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def making_progress(self) -> bool:
        """True while the sync loops are alive (being offline is not a lack of progress)."""
        return bool(self._tasks) and not any(t.done() for t in self._tasks)


def build_sync_service(
    config: Config, store: Store, clock: Clock, *, degraded: bool
) -> SyncService:
    """The daemon's sync service, offering the ledger key's public half for enrolment."""
    from cabinet.security.keys import public_path

    try:
        pem = public_path(config.store.key_path).read_text(encoding="ascii")
    except OSError:
        pem = ""  # the central must then know the key already (register-cabinet)
    return SyncService(config, store, clock, public_key_pem=pem, degraded=degraded)
