"""Sharing the chain's fast pass between this process and worker processes, by sequence range.

Each event's hash is checked against its own stored `prev_hash`, so ranges are independent:
this process scans the first range on its own connection (inside the caller's snapshot) while
each worker scans a later one on its own read-only connection. The first range that reports a
stop decides, as a walk from the genesis would. A worker that fails for any reason (no
interpreter, killed, bad answer) only costs time: its range is scanned here instead.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence

from cabinet.store import chain_scan

# Below this many events the start of a worker costs more than it saves.
PARALLEL_MIN = 100_000
# How long a worker may take over its range before it is given up and the range scanned here.
_WORKER_TIMEOUT_S = 600.0
# How often the wait for a worker lets `progress` cancel it.
_POLL_S = 0.5


def available_cores() -> int:
    """The cores this process may run on (the worker count that pays)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _db_file(conn: sqlite3.Connection) -> str | None:
    """The file behind the connection's main database, or None (in memory, temporary)."""
    for row in conn.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return str(row[2])
    return None


def _start(db: str, request: dict[str, object]) -> subprocess.Popen[bytes] | None:
    """A worker scanning one range, its request already written; None if it cannot start."""
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", chain_scan.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps({"db": db, **request}).encode("utf-8"))
        proc.stdin.close()
        # communicate() must not flush the closed pipe again.
        proc.stdin = None
    except OSError:
        proc.kill()
        proc.wait()
        return None
    return proc


def _answer(
    proc: subprocess.Popen[bytes] | None, lo: int, progress: Callable[[int], None] | None
) -> tuple[bool, int | None]:
    """(answered, first stop) from a worker; answered is False when it failed."""
    if proc is None:
        return False, None
    assert proc.stdout is not None
    waited = 0.0
    while True:
        try:
            out, _ = proc.communicate(timeout=_POLL_S)
            break
        except subprocess.TimeoutExpired:
            waited += _POLL_S
            if waited >= _WORKER_TIMEOUT_S:
                return False, None
            if progress is not None:
                progress(lo)
    if proc.returncode != 0:
        return False, None
    try:
        found = json.loads(out)["found"]
    except (ValueError, KeyError, TypeError):
        return False, None
    if found is not None and not isinstance(found, int):
        return False, None
    return True, found


def first_stop(
    conn: sqlite3.Connection,
    names: Sequence[str],
    first: int,
    end: int,
    prev: str,
    signed: dict[int, str],
    progress: Callable[[int], None] | None,
    workers: int,
) -> int | None:
    """The first sequence in first..end where a walk after `prev` would stop; None: nowhere."""
    total = end - first + 1
    db = _db_file(conn)
    parts = max(1, workers) if db is not None and total >= PARALLEL_MIN else 1
    bounds = [first + total * i // parts for i in range(parts + 1)]
    procs: list[subprocess.Popen[bytes] | None] = []
    try:
        for lo, hi in itertools.pairwise(bounds[1:]):
            request = {
                "names": list(names),
                "first": first,
                "lo": lo,
                "hi": hi,
                "prev": prev,
                "signed": {str(s): h for s, h in signed.items() if lo <= s < hi},
            }
            procs.append(_start(db or "", request))
        found = chain_scan.scan(conn, names, bounds[0], bounds[1], prev, signed, progress)
        if found is not None:
            return found
        for proc, lo, hi in zip(procs, bounds[1:-1], bounds[2:], strict=True):
            answered, found = _answer(proc, lo, progress)
            if not answered:
                before = chain_scan.stored_hash(conn, lo - 1)
                found = chain_scan.scan(conn, names, lo, hi, before, signed, progress)
            if found is not None:
                return found
        return None
    finally:
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait()
