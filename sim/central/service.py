"""The CentralPharmacy gRPC service: identity from the client certificate, then the contract."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc
from sim.central.chain import Refusal
from sim.central.db import CentralDb, now_iso
from sim.central.intake import CrashNow, Faults, ingest

log = logging.getLogger("sim.central")

# How often a change stream looks at the central's log: the command line writes to the same
# file from another process, so polling is the simple way to see its changes.
CHANGE_POLL_S = 0.1
DEFAULT_CHANGE_BATCH = 500


class CentralService(sync_pb2_grpc.CentralPharmacyServicer):
    """The central's side of the contract, over its own SQLite file."""

    def __init__(
        self,
        db: CentralDb,
        *,
        insecure: bool = False,
        enroll: bool = False,
        faults: Faults | None = None,
        on_crash: Callable[[], None] | None = None,
    ) -> None:
        """Serve from `db`; faults and enrolment as the options say."""
        self.db = db
        self.insecure = insecure
        self.enroll = enroll
        self.faults = faults or Faults()
        self.on_crash = on_crash
        self.pushes = 0

    async def _identity(self, context: grpc.aio.ServicerContext[Any, Any], claimed: str) -> str:
        """The calling cabinet: the certificate's CN; a different claimed id is refused."""
        names = list(context.auth_context().get("x509_common_name") or [])
        if names:
            cabinet = names[0].decode("utf-8")
        elif self.insecure and claimed:
            cabinet = claimed  # development only: no certificate, trust the claim
        else:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "a cabinet client certificate is required"
            )
        if claimed and claimed != cabinet:
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"the certificate identifies cabinet {cabinet}; it cannot act for {claimed}",
            )
        return cabinet

    async def PushEvents(
        self, request: sync_pb2.PushEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sync_pb2.PushEventsResponse:
        """Store a batch of ledger events; answer the highest contiguous sequence stored."""
        cabinet = await self._identity(context, request.cabinet_id)
        self.pushes += 1
        try:
            head, checkpoint = ingest(
                self.db, cabinet, request, enroll=self.enroll, faults=self.faults
            )
        except Refusal as refusal:
            log.warning("push from %s refused: %s", cabinet, refusal)
            context.set_trailing_metadata((("bad-seq", str(refusal.seq)),))
            await context.abort(getattr(grpc.StatusCode, refusal.code), str(refusal))
        except CrashNow as crash:
            log.error("%s", crash)
            if self.on_crash is not None:
                self.on_crash()
            await context.abort(grpc.StatusCode.UNAVAILABLE, "central went down")
        delay = self.faults.take_delay()
        if delay:
            await asyncio.sleep(delay)
        if self.faults.drop_answers > 0:
            self.faults.drop_answers -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "fault: answer lost on the wire")
        return sync_pb2.PushEventsResponse(
            highest_contiguous_seq=head, highest_checkpoint_seq=checkpoint
        )

    async def GetCursor(
        self, request: sync_pb2.GetCursorRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sync_pb2.GetCursorResponse:
        """Where the central stands with the calling cabinet's ledger."""
        cabinet = await self._identity(context, "")
        seq, last_hash, _ = self.db.head(cabinet)
        return sync_pb2.GetCursorResponse(
            highest_contiguous_seq=seq, last_hash=last_hash if seq else ""
        )

    async def WatchChanges(
        self, request: sync_pb2.WatchChangesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[sync_pb2.ChangeBatch]:
        """Every change after the cursor, then new ones as the log grows."""
        cabinet = await self._identity(context, request.cabinet_id)
        version = request.after_version
        limit = request.max_batch or DEFAULT_CHANGE_BATCH
        while True:
            rows = self.db.changes_after(version, cabinet, limit)
            if not rows:
                await asyncio.sleep(CHANGE_POLL_S)
                continue
            batch = sync_pb2.ChangeBatch(latest_version=self.db.latest_version())
            for row_version, at, kind, body in rows:
                change = batch.changes.add(version=row_version, at=at)
                getattr(change, kind).ParseFromString(body)
            version = rows[-1][0]
            yield batch

    async def Heartbeat(
        self, request: sync_pb2.HeartbeatRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sync_pb2.HeartbeatResponse:
        """Keep the cabinet's latest status for the pharmacy's dashboard."""
        cabinet = await self._identity(context, request.cabinet_id)
        self.db.record_heartbeat(cabinet, request.SerializeToString())
        return sync_pb2.HeartbeatResponse(central_time=now_iso())
