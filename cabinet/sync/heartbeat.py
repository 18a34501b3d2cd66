"""Status heartbeats to the central: alarms, backlog, pockets below par, offline since."""

from __future__ import annotations

import asyncio
import sqlite3

import grpc

from cabinet.clock import iso
from cabinet.sync.status import SyncStatus
from cabinet.sync.uplink import Sleep, describe
from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc


def build_heartbeat(
    reader: sqlite3.Connection, status: SyncStatus, cabinet_id: str, *, degraded: bool
) -> sync_pb2.HeartbeatRequest:
    """The cabinet's status now, read through the read-only connection."""
    state = status.snapshot()
    request = sync_pb2.HeartbeatRequest(
        cabinet_id=cabinet_id,
        at=iso(status.clock.now()),
        outbox_depth=int(
            reader.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]
        ),
        offline_since=iso(state.offline_since) if state.offline_since else "",
        last_seq=int(reader.execute("SELECT coalesce(max(seq), 0) FROM ledger").fetchone()[0]),
        applied_version=state.applied_version,
        degraded=degraded,
    )
    for kind, severity, message, raised_at in reader.execute(
        "SELECT kind, severity, message, raised_at FROM alarms WHERE cleared_at IS NULL "
        "ORDER BY id LIMIT 100"
    ):
        request.open_alarms.add(kind=kind, severity=severity, message=message, raised_at=raised_at)
    for drawer, pocket, item, quantity, par in reader.execute(
        "SELECT drawer, pocket, item_code, quantity, par FROM pockets "
        "WHERE item_code IS NOT NULL AND quantity < par ORDER BY drawer, pocket"
    ):
        request.below_par.add(
            drawer=drawer, pocket=pocket, item_code=item, quantity=quantity, par=par
        )
    return request


class Heartbeat:
    """Sends a heartbeat every period; a failure only marks the link offline."""

    def __init__(
        self,
        stub: sync_pb2_grpc.CentralPharmacyAsyncStub,
        reader: sqlite3.Connection,
        status: SyncStatus,
        *,
        cabinet_id: str,
        period_s: float,
        deadline_s: float,
        degraded: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Beat every `period_s`, each call with its deadline."""
        self.stub = stub
        self.reader = reader
        self.status = status
        self.cabinet_id = cabinet_id
        self.period_s = period_s
        self.deadline_s = deadline_s
        self.degraded = degraded
        self.sleep = sleep
        self.sent = 0

    async def beat(self) -> None:
        """Send one heartbeat."""
        request = build_heartbeat(self.reader, self.status, self.cabinet_id, degraded=self.degraded)
        await self.stub.Heartbeat(request, timeout=self.deadline_s)
        self.status.contact()
        self.sent += 1

    async def run(self) -> None:
        """Beat forever."""
        while True:
            try:
                await self.beat()
            except grpc.aio.AioRpcError as error:
                if error.code() in (
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                ):
                    self.status.failure(describe(error))
                else:
                    self.status.problem(describe(error))
            await self.sleep(self.period_s)
