"""The workflows' engine room: service life, the hardware and scanner followers, the timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import hal
from cabinet.clock import Clock
from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.errors import StorageError
from cabinet.hardware.events import HardwareEvent
from cabinet.store import Store
from cabinet.workflows import hardware_events, recovery, scans, watch
from cabinet.workflows.core import Checkpoint, Core, HardwarePort, Settings
from cabinet.workflows.events import WorkflowEvent
from cabinet.workflows.machines import Task

log = logging.getLogger("cabinet.workflows")


class Engine:
    """Runs one command or hardware event at a time over the shared Core (see api.Cabinet)."""

    name = "workflows"

    def __init__(
        self,
        store: Store,
        hardware: HardwarePort,
        clock: Clock,
        settings: Settings | None = None,
        *,
        degraded: str = "",
        tick_s: float = 1.0,
        scanner: hal.BarcodeReader | None = None,
    ) -> None:
        """Keep what the object needs; nothing starts here."""
        self.core = Core(
            store=store,
            hardware=hardware,
            clock=clock,
            settings=settings or Settings(),
            degraded=degraded,
        )
        self._lock = asyncio.Lock()
        self._tick_s = tick_s
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: asyncio.Queue[HardwareEvent] | None = None
        self._last_progress = clock.monotonic()
        self._scanner = scanner

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """Callbacks called at the named points of a task (diagnostics, crash tests)."""
        return self.core.checkpoints

    # -- service life ----------------------------------------------------------------------

    async def start(self, *, background: bool = True) -> None:
        """Reconcile tasks left open by a previous run, then follow the hardware and the clock."""
        self._queue = self.core.hardware.subscribe()
        async with self._lock:
            hardware_events.record_active_alarms(self.core)
            await recovery.recover(self.core)
            watch.start_watching(self.core)
        if background:
            self._tasks.append(asyncio.create_task(self._follow_hardware(), name="wf-hardware"))
            self._tasks.append(asyncio.create_task(self._run_timers(), name="wf-timers"))
            if self._scanner is not None:
                self._tasks.append(asyncio.create_task(self._follow_scanner(), name="wf-scanner"))

    async def stop(self) -> None:
        """Stop following; a task in progress stays persisted and is reconciled at next start."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._queue is not None:
            self.core.hardware.unsubscribe(self._queue)
            self._queue = None
        if self._scanner is not None:
            await self._scanner.close()

    def making_progress(self) -> bool:
        """True while the timers run (feeds the watchdog)."""
        return self.core.clock.monotonic() - self._last_progress <= max(10 * self._tick_s, 5.0)

    def subscribe(self) -> asyncio.Queue[WorkflowEvent]:
        """A queue of every workflow event from now on."""
        return self.core.hub.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[WorkflowEvent]) -> None:
        """Stop delivering to this queue."""
        self.core.hub.unsubscribe(queue)

    async def _follow_hardware(self) -> None:
        """Handle every coordinator event, one at a time with the commands."""
        assert self._queue is not None
        while True:
            event = await self._queue.get()
            try:
                await self.handle_hardware(event)
            except Exception as exc:
                # Never stop following the hardware; a bug here latches the drawers locked.
                log.exception("workflow failed on a hardware event")
                self._fail_closed(f"workflow failed on {type(event).__name__}: {exc!r}")

    async def _follow_scanner(self) -> None:
        """Read the barcode reader forever; a failing port is retried, never fatal."""
        assert self._scanner is not None
        while True:
            try:
                scan = await self._scanner.read()
            except hal.HardwareError as exc:
                log.warning("barcode reader: %s", exc)
                await asyncio.sleep(1.0)
                continue
            try:
                await self.handle_scan(scan)
            except Refused:
                pass  # already published for the screen
            except Exception:
                # A scan must never stop the reader: the next badge still has to sign in.
                log.exception("a scan could not be handled")

    async def handle_scan(self, scan: hal.Scan) -> None:
        """Act on one scan: badge signs in, wristband selects the patient, a pack is held."""
        async with self._command():
            await scans.handle(self.core, scan)

    async def _run_timers(self) -> None:
        """Run tick() every tick_s seconds."""
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                await self.tick()
            except Exception as exc:
                log.exception("workflow timers failed")
                self._fail_closed(f"workflow timers failed: {exc!r}")

    @contextlib.asynccontextmanager
    async def _command(self) -> AsyncIterator[None]:
        """One command at a time; a storage failure becomes STORAGE_FAILED, state reloaded."""
        async with self._lock:
            try:
                yield
            except StorageError as exc:
                log.error("command failed in the store: %s", exc)
                self._reload_task()
                self.core.refuse(RefusalCode.STORAGE_FAILED, detail=str(exc))

    def _reload_task(self) -> None:
        """Forget in-memory steps the store did not keep: the task is what was persisted."""
        task = self.core.task
        if task is None:
            return
        row = self.core.store.conn.execute(
            "SELECT data FROM workflow_state WHERE id = ?", (task.id,)
        ).fetchone()
        self.core.task = Task.from_json(str(row[0])) if row else None

    def _fail_closed(self, reason: str) -> None:
        """Latch every drawer locked and refuse new tasks until a restart."""
        self.core.degraded = self.core.degraded or reason
        self.core.hardware.lock_down(reason)

    async def handle_hardware(self, event: HardwareEvent) -> None:
        """Apply one hardware event (tests may call this directly instead of start())."""
        async with self._lock:
            await hardware_events.handle(self.core, event)

    async def drain_hardware(self) -> None:
        """Handle every hardware event already queued (for tests driving without background)."""
        while self._queue is not None and not self._queue.empty():
            await self.handle_hardware(self._queue.get_nowait())

    async def tick(self) -> None:
        """Timers: inactivity, unused releases, settle timeouts, omissions, override links."""
        async with self._lock:
            self._last_progress = self.core.clock.monotonic()
            await watch.tick(self.core)
