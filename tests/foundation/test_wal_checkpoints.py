"""WAL checkpoints leave the writer's commits for a background thread, and still happen."""

from __future__ import annotations

import sqlite3
import time

from cabinet.store import Store
from cabinet.store.wal import DEFERRED_AUTOCHECKPOINT, WalCheckpointer

PAGES = 1500  # more than SQLite's default automatic threshold of 1,000 pages


def _fill(store: Store) -> None:
    """One commit that puts about PAGES pages into the WAL."""
    with store.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
        conn.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * PAGES)


def test_by_default_the_committing_writer_checkpoints_itself(store: Store) -> None:
    before = store.path.stat().st_size
    _fill(store)
    # The commit copied the WAL back into the database file: the file grew at once.
    assert store.path.stat().st_size > before + PAGES * 3000


def test_deferred_the_commit_leaves_the_wal_to_the_checkpointer(store: Store) -> None:
    store.set_wal_autocheckpoint(DEFERRED_AUTOCHECKPOINT)
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16_000
    before = store.path.stat().st_size
    _fill(store)
    assert store.path.stat().st_size < before + 100_000, "the commit must not checkpoint"
    checkpointer = WalCheckpointer(store.path)
    conn = sqlite3.connect(store.path, isolation_level=None)
    try:
        result = checkpointer.run_once(conn)
    finally:
        conn.close()
    assert result is not None
    in_wal, copied = result
    assert in_wal >= PAGES and copied == in_wal
    assert store.path.stat().st_size > before + PAGES * 3000
    assert checkpointer.runs == 1 and checkpointer.failures == 0


def test_a_failed_checkpoint_is_counted_and_retried_not_raised(store: Store) -> None:
    checkpointer = WalCheckpointer(store.path)
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.close()
    assert checkpointer.run_once(conn) is None
    assert checkpointer.failures == 1 and checkpointer.runs == 0


def test_the_thread_checkpoints_until_stopped(store: Store) -> None:
    store.set_wal_autocheckpoint(DEFERRED_AUTOCHECKPOINT)
    before = store.path.stat().st_size
    checkpointer = WalCheckpointer(store.path, interval_s=0.01)
    checkpointer.start()
    try:
        _fill(store)
        deadline = time.monotonic() + 10  # a real thread: bounded by real time
        while store.path.stat().st_size < before + PAGES * 3000:
            assert time.monotonic() < deadline, "the thread never checkpointed"
            time.sleep(0.01)
        assert checkpointer.running
    finally:
        checkpointer.stop()
    assert not checkpointer.running
    assert checkpointer.runs >= 1 and checkpointer.failures == 0
