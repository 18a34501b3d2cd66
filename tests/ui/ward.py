"""A ward in one process for the kiosk tests: seeded store, fake metal, real coordinator,
real workflows and the real web server, on a clock that runs at real speed from 08:00.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from cabinet.config import DrawerSection
from cabinet.hardware import HardwareCoordinator
from cabinet.store import Store
from cabinet.sync.status import SyncState
from cabinet.ui.app import create_app
from cabinet.ui.runtime import Runtime
from cabinet.ui.service import UiService
from cabinet.ui.stock import StockReader
from cabinet.workflows.api import Cabinet
from cabinet.workflows.core import Settings
from tests.fakes.hardware import FakeCabinet
from tests.workflows.world import LAYOUT, POCKETS, RETURN_BIN, START, initial_stock, seed, unit_of

T = TypeVar("T")
BADGES = {"nurse1": "B-NURSE1", "nurse2": "B-NURSE2", "pharm1": "B-PHARM1", "tech1": "B-TECH1"}
PINS = {"nurse1": "1111", "nurse2": "2222", "pharm1": "3333", "tech1": "4444", "audit1": "5555"}


class WardClock:
    """Real-speed time that starts at the ward's 08:00, so that the morning doses are due."""

    def __init__(self, start: dt.datetime = START) -> None:
        """Keep what the object needs; nothing starts here."""
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> dt.datetime:
        """Ward time."""
        return self._start + dt.timedelta(seconds=time.monotonic() - self._t0)

    def monotonic(self) -> float:
        """The machine's monotonic clock."""
        return time.monotonic()


class FakeSync:
    """The sync worker's state as the screen reads it; a test takes the central away."""

    def __init__(self, clock: WardClock) -> None:
        """Keep what the object needs; nothing starts here."""
        self.clock = clock
        self.online = True
        self.last_contact: dt.datetime | None = clock.now()
        self.offline_since: dt.datetime | None = None

    def central_stops(self) -> None:
        """The central stops answering."""
        self.online, self.offline_since = False, self.clock.now()

    def state(self) -> SyncState:
        """A snapshot, shaped like the real worker's."""
        return SyncState(
            online=self.online,
            offline_since=self.offline_since,
            last_contact=self.last_contact,
            outbox_depth=0,
            last_acked_seq=0,
            applied_version=0,
            last_error="" if self.online else "unavailable",
        )


class Ward:
    """Everything a kiosk test needs, started and stopped in the running loop."""

    def __init__(
        self,
        root: Path,
        *,
        inactivity_s: float = 60.0,
        ui_reads_scanner: bool = False,
        language: Literal["fr", "en"] = "fr",
    ) -> None:
        """Keep what the object needs; nothing starts here."""
        self.clock = WardClock()
        self.db = root / "cabinet.db"
        self.store = Store(self.db, self.clock)
        seed(self.store.conn)
        initial_stock(self.store)
        self.metal = FakeCabinet(self.clock, drawers=LAYOUT, settle_s=0.25)
        for drawer, pocket, code, qty, *_ in POCKETS:
            self.metal.load(drawer, pocket, count=qty, unit_cg=unit_of(code), tare_cg=1000)
        self.coordinator = HardwareCoordinator(
            self.metal.board,
            self.metal.scales,
            self.clock,
            lock_pulse_ms=8000,
            open_drawer_hz=40,
            idle_poll_s=0.2,
            settle_s=0.2,
            settle_timeout_s=5.0,
        )
        settings = Settings(
            cabinet_id="CAB-TEST",
            care_unit="Test ward",
            inactivity_s=inactivity_s,
            settle_timeout_s=5.0,
            release_expiry_s=30.0,
            return_bin_drawer=RETURN_BIN[0],
        )
        # As in the daemon, the workflows read the barcode reader, unless the test wants the
        # kiosk's own router to read it (a cabinet whose workflows take scans only by call).
        self.cabinet = Cabinet(
            self.store,
            self.coordinator,
            self.clock,
            settings,
            tick_s=0.2,
            scanner=None if ui_reads_scanner else self.metal.scanner,
        )
        self.sync = FakeSync(self.clock)
        drawers = tuple(
            DrawerSection(
                index=d, pockets=n, kind="return_bin" if d == RETURN_BIN[0] else "standard"
            )
            for d, n in LAYOUT.items()
        )
        self.runtime = Runtime(
            cabinet=self.cabinet,
            clock=self.clock,
            stock=StockReader(self.db, drawers, self.clock),
            cabinet_id="CAB-TEST",
            care_unit="Test ward",
            language=language,
            sync_state=self.sync.state,
            hardware=self.coordinator,
            reader=self.metal.scanner if ui_reads_scanner else None,
        )
        self.app = create_app(self.runtime)
        self.server = UiService(self.app, self.runtime.hub, host="127.0.0.1", port=0)

    async def start(self, *, serve: bool = True) -> None:
        """Start the coordinator, the workflows, the kiosk runtime and (optionally) the server."""
        await self.coordinator.start()
        await self.cabinet.start()
        await self.runtime.start()
        if serve:
            await self.server.start()

    async def stop(self) -> None:
        """Stop in reverse order, whatever state things are in."""
        await self.server.stop()
        await self.runtime.stop()
        await self.cabinet.stop()
        await self.coordinator.stop()
        self.store.close()

    async def until(self, condition: Callable[[], bool], within: float = 8.0) -> None:
        """Let the pollers run until the condition holds."""
        deadline = time.monotonic() + within
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.02)

    def stock(self, drawer: int, pocket: int) -> int:
        """The recorded quantity of a pocket."""
        row = self.store.conn.execute(
            "SELECT quantity FROM pockets WHERE drawer = ? AND pocket = ?", (drawer, pocket)
        ).fetchone()
        return int(row[0])


class WardThread:
    """The ward on its own event loop in a thread, for tests that drive a real browser."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        """Keep what the object needs; nothing starts here."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.ward: Ward = self.run(self._build(root, kwargs))

    @staticmethod
    async def _build(root: Path, kwargs: dict[str, Any]) -> Ward:
        """Build and start the ward inside its loop."""
        ward = Ward(root, **kwargs)
        await ward.start()
        return ward

    @property
    def url(self) -> str:
        """The kiosk's address."""
        return self.ward.server.url

    def run(self, coro: Awaitable[T], timeout: float = 30) -> T:
        """Run a coroutine on the ward's loop and wait for it."""
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
            coro,
            self._loop,  # type: ignore[arg-type]
        )
        return future.result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a plain function on the ward's loop (the fake metal is not thread-safe)."""

        async def wrapped() -> T:
            """Call the function inside the loop."""
            return fn(*args, **kwargs)

        return self.run(wrapped())

    def wait(self, condition: Callable[[], bool], within: float = 8.0) -> None:
        """Wait until a condition, read on the ward's loop, holds."""
        deadline = time.monotonic() + within
        while not self.call(condition):
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the ward and its loop."""
        try:
            self.run(self.ward.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
