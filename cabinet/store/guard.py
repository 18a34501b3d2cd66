"""The ledger check at start: a quick synchronous one, then the whole chain in the background.

Why two steps: walking 1,000,000 events (a SHA-256 and a canonical JSON encoding each) takes
several seconds in Python, but systemd and the nurses need READY within 2 s. Before READY the
daemon checks what an attacker could change most cheaply and what matters first: the last
signed checkpoint's signature, that the event it names still carries the signed hash, and the
whole chain after it (at most `checkpoint_every` events plus whatever followed the last
start). That is bounded work whatever the ledger's size. The full walk from the genesis then
runs on a worker thread over its own read-only connection (WAL: it never blocks the writer);
if it finds a break the cabinet drops into the locked, degraded mode at once and an alarm
is recorded. Until then every earlier event is covered by its signed checkpoints, which the
full walk checks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cabinet.errors import CabinetError
from cabinet.logs import event
from cabinet.store import checkpoints
from cabinet.store.db import open_read_only
from cabinet.store.verify import VerifyResult, verify

_log = logging.getLogger("cabinet.ledger")


def quick_check(db_path: Path, public_key: Ed25519PublicKey) -> VerifyResult:
    """Verify the last checkpoint and the chain after it (bounded work)."""
    conn = open_read_only(db_path)
    try:
        return verify(conn, public_key, start=checkpoints.last(conn))
    finally:
        conn.close()


class CheckCancelled(Exception):
    """The daemon is stopping: the background walk gives up without a verdict."""


def full_check(
    db_path: Path, public_key: Ed25519PublicKey, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Verify the whole chain from the genesis and every checkpoint."""
    conn = open_read_only(db_path)
    try:
        return verify(conn, public_key, progress=progress)
    finally:
        conn.close()


class BackgroundCheck:
    """Runs `full_check` on a worker thread and reports the outcome once."""

    def __init__(
        self,
        db_path: Path,
        public_key: Ed25519PublicKey,
        on_done: Callable[[VerifyResult], None],
    ) -> None:
        """Prepare the walk; `on_done` is called from the worker thread."""
        self._db_path = db_path
        self._key = public_key
        self._on_done = on_done
        self.result: VerifyResult | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-verify", daemon=True)

    def start(self) -> None:
        """Begin the walk."""
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the walk; True when it has finished (or never started)."""
        if self._thread.ident is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def cancel(self) -> None:
        """Ask the walk to stop at its next progress point (the daemon is stopping)."""
        self._cancelled.set()

    def _progress(self, seq: int) -> None:
        """Called every few ten thousand events: give up when cancelled."""
        if self._cancelled.is_set():
            raise CheckCancelled(f"stopped at sequence {seq}")

    def _run(self) -> None:
        """The worker: walk, log, report."""
        try:
            result = full_check(self._db_path, self._key, self._progress)
        except CheckCancelled as exc:
            event(_log, "full ledger check cancelled", reason=str(exc))
            return
        except CabinetError as exc:
            result = VerifyResult(
                ok=False,
                events=0,
                checkpoints=0,
                last_seq=0,
                seq=0,
                reason="unreadable",
                detail=str(exc),
            )
        self.result = result
        level = logging.INFO if result.ok else logging.CRITICAL
        event(_log, "full ledger check finished", level, result=result.line())
        self._on_done(result)
