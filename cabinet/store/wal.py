"""WAL checkpoints in a background thread, off the path of the commits that release drawers."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

_log = logging.getLogger("cabinet.store")

# SQLite's own default: the committing connection copies the WAL back into the database once
# the WAL holds this many pages, inside that COMMIT.
DEFAULT_AUTOCHECKPOINT = 1000
# With the background thread running, the writer only checkpoints itself past this many pages
# (about 64 MB): a safety net should the thread stop, never the usual path.
DEFERRED_AUTOCHECKPOINT = 16_000


def wal_backlog(conn: sqlite3.Connection) -> tuple[int, int]:
    """(pages in the WAL, pages of it already copied back) after a passive checkpoint."""
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[1]), int(row[2])


class WalCheckpointer:
    """Copies the WAL back into the database every `interval_s` from its own connection.

    Left to itself, SQLite checkpoints inside whichever COMMIT pushes the WAL past 1,000 pages:
    that commit then waits for the database file's fsync, measured at 20 to 470 ms, and it may
    be the commit that must be durable before a drawer is released. A passive checkpoint from
    another connection never blocks the writer or the readers, and one with nothing new to copy
    costs no fsync. The writer keeps a much higher automatic threshold as a safety net.
    """

    def __init__(self, path: Path, *, interval_s: float = 1.0) -> None:
        """Nothing runs until start()."""
        self.path = path
        self.interval_s = interval_s
        self.runs = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a daemon thread: it holds nothing that a crash could lose)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and wait for a checkpoint in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                _log.error("WAL checkpoint thread did not stop within %.1f s", timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        """Checkpoint, wait, again; a failure is logged and retried at the next turn."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            _log.error("WAL checkpoint thread cannot open the store: %s", exc)
            return
        try:
            while not self._stop.wait(self.interval_s):
                self.run_once(conn)
        finally:
            conn.close()

    def run_once(self, conn: sqlite3.Connection) -> tuple[int, int] | None:
        """One passive checkpoint on `conn`; (WAL pages, copied pages), or None if it failed."""
        try:
            result = wal_backlog(conn)
        except sqlite3.Error as exc:
            # The writer's own (deferred) checkpoint still bounds the WAL.
            self.failures += 1
            _log.warning("WAL checkpoint failed (retried in %.1f s): %s", self.interval_s, exc)
            return None
        self.runs += 1
        return result
