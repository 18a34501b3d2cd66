"""Everything the local API shares at run time, and the bridge from workflow to kiosk events."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Protocol

import hal
from cabinet.clock import Clock, iso
from cabinet.domain.refusals import Language, Refused, message
from cabinet.hardware import events as hw
from cabinet.sync.status import SyncState
from cabinet.ui.auth import Binder
from cabinet.ui.events import EventHub
from cabinet.ui.models import SyncOut
from cabinet.ui.scans import ScanRouter
from cabinet.ui.stock import StockReader
from cabinet.workflows import events as wf
from cabinet.workflows.api import Cabinet

log = logging.getLogger("cabinet.ui")


class HardwareFeed(Protocol):
    """The coordinator's event subscription (drawers, weights, alarms)."""

    def subscribe(self) -> asyncio.Queue[hw.HardwareEvent]:
        """A queue of every hardware event from now on."""
        ...

    def unsubscribe(self, queue: asyncio.Queue[hw.HardwareEvent]) -> None:
        """Stop delivering to this queue."""
        ...


def plain(value: Any) -> Any:
    """A JSON-ready copy of an event's fields (enums by value, times in ISO, maps as dicts)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def sync_out(state: SyncState | None, now: dt.datetime) -> SyncOut:
    """The sync worker's state for the screen; unknown when no sync worker runs."""
    if state is None:
        return SyncOut(known=False, online=False)
    last = state.last_contact
    return SyncOut(
        known=True,
        online=state.online,
        last_sync_at=iso(last) if last else None,
        seconds_since_sync=max(0.0, (now - last).total_seconds()) if last else None,
        offline_since=iso(state.offline_since) if state.offline_since else None,
        outbox_depth=state.outbox_depth,
        last_error=state.last_error,
    )


@dataclass
class Runtime:
    """The cabinet behind the API, the kiosk's event fan-out, and the held scans."""

    cabinet: Cabinet
    clock: Clock
    stock: StockReader
    cabinet_id: str
    care_unit: str
    language: Language = "fr"
    sync_state: Callable[[], SyncState] | None = None
    hardware: HardwareFeed | None = None
    reader: hal.BarcodeReader | None = None
    hub: EventHub = field(default_factory=EventHub)
    binder: Binder = field(init=False)
    scans: ScanRouter = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Bind the session cookie and the scan router to this cabinet."""
        self.binder = Binder(self.cabinet)
        self.scans = ScanRouter(
            self.cabinet, self.hub, self.clock, self.language, names=self.stock.user_name
        )
        self.scans.reading = self.reader is not None

    def sync(self) -> SyncOut:
        """The link with the central now."""
        return sync_out(self.sync_state() if self.sync_state else None, self.clock.now())

    def refusal_text(self, refused: Refused) -> str:
        """A refusal in the kiosk's language."""
        return refused.text(self.language)

    async def start(self) -> None:
        """Follow the workflows, the hardware, the reader and the sync state."""
        queue = self.cabinet.subscribe()
        self._tasks.append(asyncio.create_task(self._follow_workflows(queue), name="ui-wf"))
        if self.hardware is not None:
            hq = self.hardware.subscribe()
            self._tasks.append(asyncio.create_task(self._follow_hardware(hq), name="ui-hw"))
        if self.reader is not None:
            self._tasks.append(asyncio.create_task(self.scans.run(self.reader), name="ui-scan"))
        if self.sync_state is not None:
            self._tasks.append(asyncio.create_task(self._watch_sync(), name="ui-sync"))

    async def stop(self) -> None:
        """Stop following and end the live streams."""
        self.hub.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.stock.close()

    async def _follow_workflows(self, queue: asyncio.Queue[wf.WorkflowEvent]) -> None:
        """Turn each workflow event into a kiosk event; a sign-out kills the cookie."""
        try:
            while True:
                self.publish_workflow(await queue.get())
        finally:
            self.cabinet.unsubscribe(queue)

    def publish_workflow(self, event: wf.WorkflowEvent) -> None:
        """One workflow event onto the kiosk stream."""
        data = plain(event)
        if isinstance(event, wf.SessionChanged):
            if event.user_id is None:
                self.binder.drop()
                self.scans.clear()
            self.hub.publish("session", data)
        elif isinstance(event, wf.RefusedEvent):
            text = message(event.code, self.language, **event.params)
            self.hub.publish("refused", {"code": event.code.value, "message": text})
        elif isinstance(event, wf.DiscrepancyOpened):
            controlled = any(
                d.controlled
                for d in self.cabinet.discrepancies()
                if d.discrepancy_id == event.discrepancy_id
            )
            self.hub.publish("discrepancy", {**data, "controlled": controlled})
        else:
            if isinstance(event, wf.OmissionAlert):
                patient, item = self.stock.order_names(event.patient_id, event.order_id)
                data |= {"patient": patient, "item": item, "due": event.due_at[11:16]}
            if isinstance(event, wf.ScanRead) and event.kind == "drug_pack":
                data = {"kind": "pack", **plain(event.detail)}
            kinds: dict[type[Any], str] = {
                wf.ScanRead: "scan",
                wf.Progress: "progress",
                wf.Committed: "committed",
                wf.Cancelled: "cancelled",
                wf.DiscrepancyResolved: "resolved",
                wf.AlarmRaised: "alarm",
                wf.OmissionAlert: "omission",
            }
            self.hub.publish(kinds.get(type(event), "workflow"), data)

    async def _follow_hardware(self, queue: asyncio.Queue[hw.HardwareEvent]) -> None:
        """Drawer, weight and alarm changes, as the coordinator sees them."""
        assert self.hardware is not None
        try:
            while True:
                event = await queue.get()
                data = plain(event)
                if isinstance(event, hw.DrawerOpened | hw.DrawerClosed | hw.DrawerForced):
                    data["state"] = type(event).__name__.removeprefix("Drawer").lower()
                    self.hub.publish("drawer", data)
                elif isinstance(event, hw.WeightSettled):
                    self.hub.publish("weight", data)
                elif isinstance(event, hw.HardwareAlarm | hw.DeviceDownEvent | hw.DeviceBack):
                    self.hub.publish("alarm", data)
        finally:
            self.hardware.unsubscribe(queue)

    async def _watch_sync(self, every_s: float = 1.0) -> None:
        """Tell the screen as soon as the cabinet goes offline or comes back."""
        last: bool | None = None
        while True:
            state = self.sync()
            if state.online != last:
                last = state.online
                self.hub.publish("sync", state.model_dump())
            await asyncio.sleep(every_s)
