"""Receiving the central's versioned changes and applying them, resuming from the cursor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import grpc

from cabinet.errors import StorageError
from cabinet.store import Store
from cabinet.sync.apply import ChangeRefused, apply_batch, cursor
from cabinet.sync.backoff import Backoff
from cabinet.sync.status import SyncStatus
from cabinet.sync.uplink import Sleep, describe
from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc

log = logging.getLogger("cabinet.sync")


class Downlink:
    """Keeps a WatchChanges stream open; each stream has a deadline and is then renewed."""

    def __init__(
        self,
        stub: sync_pb2_grpc.CentralPharmacyAsyncStub,
        store: Store,
        status: SyncStatus,
        *,
        cabinet_id: str,
        backoff: Backoff,
        window_s: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Follow the central's changes into `store`."""
        self.stub = stub
        self.store = store
        self.status = status
        self.cabinet_id = cabinet_id
        self.backoff = backoff
        self.window_s = window_s  # the stream's deadline: renewed quietly when it expires
        self.sleep = sleep
        self.listeners: list[Callable[[list[sync_pb2.Change]], None]] = []
        self.ticks = 0

    def on_applied(self, listener: Callable[[list[sync_pb2.Change]], None]) -> None:
        """Call `listener` with every batch of changes once it is committed."""
        self.listeners.append(listener)

    async def follow_once(self) -> None:
        """Open one stream from the cursor and apply batches until it ends or its deadline."""
        with self.store.transaction() as conn:
            after = cursor(conn)
        self.status.applied_version = after
        request = sync_pb2.WatchChangesRequest(after_version=after, cabinet_id=self.cabinet_id)
        call = self.stub.WatchChanges(request, timeout=self.window_s)
        try:
            async for batch in call:
                self.status.contact()
                self.backoff.reset()
                if not batch.changes:
                    continue
                changes = list(batch.changes)
                self.status.applied_version = apply_batch(self.store, changes)
                for listener in self.listeners:
                    listener(changes)
        finally:
            call.cancel()

    async def run(self) -> None:
        """Follow the change stream for as long as the daemon runs."""
        while True:
            self.ticks += 1
            try:
                await self.follow_once()
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue  # the stream's window ended: renew it from the cursor
                if error.code() == grpc.StatusCode.UNAVAILABLE:
                    self.status.failure(describe(error))
                else:
                    self.status.problem(describe(error))
                    log.error("sync: change stream refused: %s", describe(error))
                await self.sleep(self.backoff.next())
            except (ChangeRefused, StorageError) as error:
                # Nothing of the batch was applied; the cursor did not move: try again later.
                self.status.problem(f"change not applied: {error}")
                log.error("sync: change not applied: %s", error)
                await self.sleep(self.backoff.next())
