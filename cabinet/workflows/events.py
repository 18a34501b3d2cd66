"""Typed events the workflows publish to the screen and the tests, and their subscription."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cabinet.domain.refusals import RefusalCode


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """A task moved to a new step (e.g. awaiting_count, released, open, settling)."""

    task_id: str
    kind: str  # dispense, override, restock, return, count, waste
    step: str
    drawer: int | None = None
    pocket: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Committed:
    """A task ended well and its ledger event is durable."""

    task_id: str
    kind: str
    seq: int
    quantity: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Cancelled:
    """A task was cancelled; nothing was taken (checked by weight after a release)."""

    task_id: str
    kind: str
    seq: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class DiscrepancyOpened:
    """What the weights showed differs from what was expected: shown to the user, recorded."""

    discrepancy_id: int
    task_id: str | None
    cause: str  # too_many, too_few, wrong_pocket, blind_count, count_mismatch, ...
    drawer: int
    pocket: int
    expected: int
    counted: int


@dataclass(frozen=True, kw_only=True, slots=True)
class DiscrepancyResolved:
    """A pharmacist resolved a discrepancy with a reason (and a witness when controlled)."""

    discrepancy_id: int
    seq: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RefusedEvent:
    """A command was refused; the code is translated by the screen."""

    code: RefusalCode
    params: dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class AlarmRaised:
    """A hardware, storage or security fault: recorded in the ledger and the alarms table."""

    alarm_id: int
    kind: str
    severity: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class OmissionAlert:
    """A scheduled dose was not dispensed by the end of its window."""

    patient_id: str
    order_id: str
    due_at: str
    seq: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionChanged:
    """Someone signed in or out (user_id None), and why."""

    user_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ScanRead:
    """The barcode reader read something; packs wait for the screen to say how many."""

    kind: str  # drug_pack, staff_badge, patient_wristband, unknown
    raw: str
    detail: dict[str, Any] = field(default_factory=dict)


WorkflowEvent = (
    ScanRead
    | Progress
    | Committed
    | Cancelled
    | DiscrepancyOpened
    | DiscrepancyResolved
    | RefusedEvent
    | AlarmRaised
    | OmissionAlert
    | SessionChanged
)


class EventHub:
    """Fans every event out to each subscriber's bounded queue; a slow screen drops oldest."""

    def __init__(self, maxsize: int = 1000) -> None:
        """Keep what the object needs; nothing starts here."""
        self._queues: list[asyncio.Queue[WorkflowEvent]] = []
        self._maxsize = maxsize

    def subscribe(self) -> asyncio.Queue[WorkflowEvent]:
        """A new queue receiving every event published from now on."""
        queue: asyncio.Queue[WorkflowEvent] = asyncio.Queue(self._maxsize)
        self._queues.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[WorkflowEvent]) -> None:
        """Stop delivering to this queue."""
        if queue in self._queues:
            self._queues.remove(queue)

    def publish(self, event: WorkflowEvent) -> None:
        """Deliver to every subscriber without ever blocking a workflow."""
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # the screen only needs the recent past
            queue.put_nowait(event)
