"""`cabinetd`: the cabinet daemon: one asyncio loop, the store, the ledger check, the services."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from cabinet import config as config_mod
from cabinet import logs
from cabinet.clock import Clock, SystemClock
from cabinet.config import Config
from cabinet.errors import CabinetError, ConfigError
from cabinet.logs import event
from cabinet.sdnotify import Notifier
from cabinet.security.keys import load_or_create
from cabinet.service import Service
from cabinet.store import LedgerEvent, NewEvent, Store
from cabinet.store.checkpoints import CheckpointSigner
from cabinet.store.guard import BackgroundCheck, quick_check
from cabinet.store.movements import StorageFault
from cabinet.store.verify import VerifyResult
from cabinet.store.wal import DEFERRED_AUTOCHECKPOINT, WalCheckpointer
from cabinet.wiring import Context, build_services

_log = logging.getLogger("cabinet.daemon")
# A service that hangs while stopping must not keep the stop event and the final checkpoint
# from being written before systemd's TimeoutStopSec (20 s) runs out.
STOP_TIMEOUT_S = 5.0


def _version() -> str:
    """The installed package's version."""
    try:
        return metadata.version("cabinet-controller")
    except metadata.PackageNotFoundError:
        return "unknown"


class Daemon:
    """Opens the store, checks the ledger, runs the services until told to stop.

    The ledger is checked in two steps so that READY comes within 2 s whatever its size: a
    bounded check before READY, the full walk in the background (see cabinet.store.guard).
    A break found by either puts the cabinet in the locked, degraded mode with an alarm.
    """

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        build: Callable[[Context], list[Service]] = build_services,
    ) -> None:
        """Nothing starts here; run() does the work."""
        self.config = config
        self._build = build
        self.clock = clock or SystemClock()
        self.notifier = notifier or Notifier()
        self.stop_requested = asyncio.Event()
        self.services: list[Service] = []
        self.ctx: Context | None = None
        self._background: BackgroundCheck | None = None
        self.wal_checkpointer: WalCheckpointer | None = None

    def _open(self) -> Context:
        """Key, store, quick ledger check, start event: the context the services share."""
        key = load_or_create(self.config.store.key_path)
        signer = CheckpointSigner(key)
        store = Store(
            self.config.store.db_path,
            self.clock,
            signer=signer,
            checkpoint_every=self.config.store.checkpoint_every,
        )
        store.on_fault(self._on_storage_fault)
        store.on_event(self._on_event)
        ctx = Context(config=self.config, store=store, clock=self.clock)
        try:
            result = quick_check(self.config.store.db_path, signer.public_key)
            event(_log, "ledger quick check", result=result.line())
            if not result.ok:
                self._degrade(ctx, result)
            store.set_wal_autocheckpoint(DEFERRED_AUTOCHECKPOINT)
            store.record(
                NewEvent(
                    kind="start",
                    payload={
                        "version": _version(),
                        "cabinet": self.config.cabinet.id,
                        "degraded": ctx.degraded,
                    },
                )
            )
        except CabinetError:
            store.close()
            raise
        self._background = BackgroundCheck(
            self.config.store.db_path, signer.public_key, self._on_full_check
        )
        # Checkpoints leave the commits (one of which may be a release's): see cabinet.store.wal.
        self.wal_checkpointer = WalCheckpointer(self.config.store.db_path)
        self.wal_checkpointer.start()
        return ctx

    def _degrade(self, ctx: Context, result: VerifyResult) -> None:
        """Lock the cabinet: no drawer may open; record the alarm once."""
        if ctx.degraded:
            return
        ctx.degraded = True
        ctx.degraded_reason = result.line()
        # Any part that can latch itself locked (the hardware coordinator) is told at once.
        for part in list(ctx.parts.values()):
            lock_down = getattr(part, "lock_down", None)
            if callable(lock_down):
                lock_down(ctx.degraded_reason)
        event(_log, "ledger broken: locked, degraded mode", logging.CRITICAL, result=result.line())
        try:
            ctx.store.raise_alarm(
                "ledger_broken",
                result.line(),
                payload={"seq": result.seq, "reason": result.reason},
            )
        except CabinetError as exc:
            event(_log, "could not record the ledger alarm", logging.ERROR, error=str(exc))
        self.notifier.status(f"DEGRADED (locked): {result.line()}")

    def _on_full_check(self, result: VerifyResult) -> None:
        """Called from the verify thread: hand the result to the loop."""
        if result.ok or self.ctx is None:
            return
        # A closed loop (the daemon stopped meanwhile) is fine: the next start checks again.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._degrade, self.ctx, result)

    def _on_storage_fault(self, fault: StorageFault) -> None:
        """A refused write: the alarm lives in memory and the log until the store can write."""
        event(
            _log,
            "storage fault alarm",
            logging.CRITICAL,
            stage=fault.stage,
            error=fault.error,
        )
        self.notifier.status(f"ALARM storage fault: {fault.error}")

    def _on_event(self, stored: LedgerEvent) -> None:
        """A storage fault reached the ledger: the store writes again, say so."""
        if stored.kind == "alarm" and json.loads(stored.payload).get("alarm") == "storage_fault":
            state = "DEGRADED (locked)" if self.ctx is not None and self.ctx.degraded else "serving"
            self.notifier.status(f"{state}: storage fault recorded as event {stored.seq}")

    async def _watchdog(self) -> None:
        """Ping systemd only while every service reports progress."""
        interval = self.notifier.watchdog_interval_s
        if interval is None:
            return
        stalled: set[str] = set()
        while True:
            now_stalled = {s.name for s in self.services if not s.making_progress()}
            if not now_stalled:
                self.notifier.watchdog()
            elif now_stalled != stalled:
                event(
                    _log, "watchdog withheld", logging.ERROR, stalled=",".join(sorted(now_stalled))
                )
            stalled = now_stalled
            await asyncio.sleep(interval)

    async def run(self) -> int:
        """Start everything, serve until SIGTERM/SIGINT, stop everything; the exit status."""
        self._loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(signum, self.stop_requested.set)
        try:
            self.ctx = self._open()
        except CabinetError as exc:
            event(_log, "cannot start", logging.CRITICAL, error=str(exc))
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.remove_signal_handler(signum)
            return 1
        ctx = self.ctx
        status = 0
        started: list[Service] = []
        watchdog: asyncio.Task[None] | None = None
        try:
            self.services = self._build(ctx)
            for service in self.services:
                await service.start()
                started.append(service)
                event(_log, "service started", service=service.name)
            assert self._background is not None
            self._background.start()
            state = "DEGRADED (locked)" if ctx.degraded else "serving"
            self.notifier.ready(f"{state}: cabinet {self.config.cabinet.id}")
            event(
                _log,
                "ready",
                cabinet=self.config.cabinet.id,
                db=str(self.config.store.db_path),
                degraded=ctx.degraded,
                services=len(started),
            )
            watchdog = asyncio.create_task(self._watchdog(), name="watchdog")
            await self.stop_requested.wait()
        except Exception as exc:
            event(_log, "failure, stopping", logging.CRITICAL, error=repr(exc))
            status = 1
        finally:
            self.notifier.stopping()
            event(_log, "stopping")
            if watchdog is not None:
                watchdog.cancel()
            await self._stop(ctx, started)
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._loop.remove_signal_handler(signum)
        return status

    async def _stop(self, ctx: Context, started: list[Service]) -> None:
        """Stop services in reverse, then record the stop and sign the head."""
        if self._background is not None:
            self._background.cancel()
        for service in reversed(started):
            try:
                await asyncio.wait_for(service.stop(), STOP_TIMEOUT_S)
                event(_log, "service stopped", service=service.name)
            except TimeoutError:
                event(_log, "service did not stop in time", logging.ERROR, service=service.name)
            except Exception as exc:
                event(
                    _log,
                    "service failed to stop",
                    logging.ERROR,
                    service=service.name,
                    error=repr(exc),
                )
        try:
            ctx.store.record(NewEvent(kind="stop", payload={"cabinet": self.config.cabinet.id}))
            seq = ctx.store.checkpoint()
            event(_log, "stopped", checkpoint=seq if seq is not None else "none due")
        except CabinetError as exc:
            event(_log, "could not record the stop", logging.ERROR, error=str(exc))
        finally:
            if self._background is not None:
                # Give the walk a moment to notice; it only reads, so leaving is safe too.
                await asyncio.to_thread(self._background.join, 2.0)
            if self.wal_checkpointer is not None:
                await asyncio.to_thread(self.wal_checkpointer.stop)
            ctx.store.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """`cabinetd --config FILE [--log-level LEVEL]`."""
    parser = argparse.ArgumentParser(prog="cabinetd", description="The cabinet daemon.")
    parser.add_argument("--config", type=Path, default=config_mod.DEFAULT_PATH)
    parser.add_argument("--log-level", choices=logs.LEVELS, default="info")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `cabinetd`; returns the exit status."""
    args = parse_args(argv)
    logs.setup(args.log_level)
    try:
        config = config_mod.load(args.config)
    except ConfigError as exc:
        # One line naming the key, the value and what is allowed, then no start at all.
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(Daemon(config).run())


if __name__ == "__main__":
    sys.exit(main())
