"""Sending the outbox in sequence order; an event is acknowledged only on the central's answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import grpc

from cabinet.errors import StorageError
from cabinet.sync.backoff import Backoff
from cabinet.sync.outbox import Outbox
from cabinet.sync.status import SyncStatus
from proto.cabinet.v1 import sync_pb2, sync_pb2_grpc

log = logging.getLogger("cabinet.sync")

Sleep = Callable[[float], Awaitable[None]]


def describe(error: grpc.aio.AioRpcError) -> str:
    """One line for the screen and the log: the status and what the central said."""
    return f"{error.code().name}: {error.details() or 'no detail'}"


def bad_seq(error: grpc.aio.AioRpcError) -> int | None:
    """The sequence a refusal names (trailing metadata 'bad-seq'), if any."""
    for key, value in error.trailing_metadata() or ():
        if key == "bad-seq":
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


class Uplink:
    """Drains the outbox: batches in sequence order, one call at a time, each with a deadline."""

    def __init__(
        self,
        stub: sync_pb2_grpc.CentralPharmacyAsyncStub,
        outbox: Outbox,
        status: SyncStatus,
        *,
        cabinet_id: str,
        public_key_pem: str,
        batch_size: int,
        deadline_s: float,
        backoff: Backoff,
        sleep: Sleep = asyncio.sleep,
        idle_poll_s: float = 1.0,
    ) -> None:
        """Drain `outbox` through `stub`, reporting to `status`."""
        self.stub = stub
        self.outbox = outbox
        self.status = status
        self.cabinet_id = cabinet_id
        self.public_key_pem = public_key_pem
        self.batch_size = batch_size
        self.deadline_s = deadline_s
        self.backoff = backoff
        self.sleep = sleep
        self.idle_poll_s = idle_poll_s
        self.wake = asyncio.Event()
        self.central_checkpoint = 0  # highest checkpoint the central confirmed holding
        self.ticks = 0  # loop turns, for the daemon's watchdog
        self._alarmed: tuple[grpc.StatusCode, int | None] | None = None

    async def push_once(self) -> int:
        """Send one batch (or pending checkpoints); return how many events were acknowledged."""
        events = self.outbox.pending(self.batch_size)
        upto = events[-1].seq if events else self.outbox.last_seq()
        checkpoints = self.outbox.checkpoints(self.central_checkpoint, upto)
        if not events and not checkpoints:
            return 0
        request = sync_pb2.PushEventsRequest(
            events=events,
            checkpoints=checkpoints,
            cabinet_id=self.cabinet_id,
            ledger_public_key_pem=self.public_key_pem,
        )
        response = await self.stub.PushEvents(request, timeout=self.deadline_s)
        self.status.contact()
        self.central_checkpoint = response.highest_checkpoint_seq
        acked = self.outbox.acknowledge(response.highest_contiguous_seq)
        self.status.last_acked_seq = max(
            self.status.last_acked_seq, response.highest_contiguous_seq
        )
        self.status.outbox_depth = max(0, self.status.outbox_depth - acked)
        if events and response.highest_contiguous_seq < events[0].seq:
            # The central holds less than we sent it: nothing moved, say so and back off.
            raise _Stalled(
                f"central holds events up to {response.highest_contiguous_seq} only; "
                f"waiting to send {events[0].seq}"
            )
        return acked if events else 0

    async def run(self) -> None:
        """Drain whenever events wait; back off after failures; stop when cancelled."""
        self.status.outbox_depth = self.outbox.depth()
        while True:
            self.ticks += 1
            try:
                acked = await self.push_once()
            except grpc.aio.AioRpcError as error:
                self._on_rpc_error(error)
                await self.sleep(self.backoff.next())
                continue
            except (StorageError, _Stalled) as error:
                self.status.problem(str(error))
                log.warning("sync: %s", error)
                await self.sleep(self.backoff.next())
                continue
            self.backoff.reset()
            if acked == 0:
                self.status.outbox_depth = self.outbox.depth()
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.idle_poll_s)

    def _on_rpc_error(self, error: grpc.aio.AioRpcError) -> None:
        """Offline, slow or refused: record it; when the central asks for older events, resend."""
        code = error.code()
        text = describe(error)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            self.status.failure(text)
            log.info("sync: central unreachable (%s)", text)
            return
        self.status.contact()
        self.status.problem(text)
        log.error("sync: central refused a push: %s", text)
        seq = bad_seq(error)
        self._alarm_once(code, seq, text)
        first = self.outbox.first_pending()
        if code == grpc.StatusCode.FAILED_PRECONDITION and seq and first and 0 < seq < first:
            # A gap before our oldest pending event: the central lost what it had acknowledged.
            log.warning("sync: central asks again from event %d", seq)
            self.outbox.resend_from(seq)
            self.status.outbox_depth = self.outbox.depth()

    def _alarm_once(self, code: grpc.StatusCode, seq: int | None, text: str) -> None:
        """A refusal is not an outage: raise one alarm per distinct refusal (the heartbeat
        carries open alarms to the central even while the outbox is stuck behind it)."""
        if (code, seq) == self._alarmed:
            return
        self._alarmed = (code, seq)
        severity = "warning" if code == grpc.StatusCode.FAILED_PRECONDITION else "critical"
        try:
            self.outbox.store.raise_alarm(
                "sync_refused",
                f"the central refused the ledger: {text}",
                severity=severity,
                payload={"status": code.name, "seq": seq},
            )
        except StorageError as exc:
            log.error("sync: cannot record the refusal alarm: %s", exc)

    def nudge(self) -> None:
        """A new event was recorded: send it now rather than at the next poll."""
        self.status.outbox_depth += 1
        self.wake.set()


class _Stalled(Exception):
    """The central answered, but did not move past what we wait to send."""
