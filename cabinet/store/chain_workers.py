"""Sharing the chain's fast pass between this process and worker processes, range by range.

Each event's hash is checked against its own stored `prev_hash`, so ranges of sequences are
independent. The chain is cut into a few dozen ranges: this process takes them from the front,
in order, on its own connection (inside the caller's snapshot); each worker process takes them
from the back on its own read-only connection, one at a time, and gets the next one as soon as
it answers. Whoever gets more of the machine does more of the work, so a busy core does not
hold the answer back. The first range that reports a stop decides, as a walk from the genesis
would. A worker that fails for any reason (no interpreter, killed, bad answer) only costs time:
its range is scanned here instead.
"""

from __future__ import annotations

import json
import os
import select
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cabinet.store import chain_scan

# Below this many events the start of a worker costs more than it saves.
PARALLEL_MIN = 100_000
# Ranges the chain is cut into when workers share it (the last one handed out bounds the wait).
RANGES = 32
# How long to wait for one worker's answer before its range is scanned here instead.
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


@dataclass
class _Worker:
    """One worker process and the range it is scanning, if any."""

    proc: subprocess.Popen[bytes]
    busy: int | None = None  # index of the range it holds

    def send(self, line: dict[str, object]) -> bool:
        """Write one request line; False if the worker is gone."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(line).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        return True

    def answer(self, wait: float) -> tuple[bool, int | None] | None:
        """(answered, first stop) within `wait` seconds; None: no answer yet."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], wait)
        if not ready:
            return None
        try:
            found = json.loads(self.proc.stdout.readline())["found"]
        except (ValueError, KeyError, TypeError, OSError):
            return False, None
        if found is not None and not isinstance(found, int):
            return False, None
        return True, found

    def close(self) -> None:
        """Let the worker end (end of its input), or end it."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def _start(db: str, names: Sequence[str], first: int, prev: str) -> _Worker | None:
    """A worker ready for ranges; None if it cannot start."""
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", chain_scan.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    worker = _Worker(proc)
    if not worker.send({"db": db, "names": list(names), "first": first, "prev": prev}):
        worker.close()
        return None
    return worker


class _Share:
    """Hands ranges out: this process from the front, workers from the back."""

    def __init__(self, bounds: list[int], signed: dict[int, str], workers: list[_Worker]):
        """Ranges [bounds[k], bounds[k + 1]) for k in 0..len(bounds) - 2, none taken yet."""
        self.bounds = bounds
        self.signed = signed
        self.workers = workers
        self.front, self.back = 0, len(bounds) - 2
        self.found: dict[int, int | None] = {}  # range index -> first stop, once answered
        self.orphans: list[int] = []  # ranges a failed worker held: scanned here at the end

    def take_front(self) -> int | None:
        """The next range for this process, or None when all are taken."""
        if self.front > self.back:
            return None
        self.front += 1
        return self.front - 1

    def feed(self) -> None:
        """Give every idle worker the next range from the back."""
        for worker in list(self.workers):
            if worker.busy is None and self.front <= self.back:
                k = self.back
                lo, hi = self.bounds[k], self.bounds[k + 1]
                task = {"lo": lo, "hi": hi, "signed": self._signed(lo, hi)}
                self.back -= 1
                worker.busy = k
                if not worker.send(task):
                    self.lose(worker)

    def collect(self, wait: float) -> None:
        """Take in every answer already there (or within `wait` for the first busy worker)."""
        for worker in list(self.workers):
            if worker.busy is None:
                continue
            got = worker.answer(wait)
            if got is None:
                continue
            answered, found = got
            if not answered:
                self.lose(worker)
                continue
            self.found[worker.busy] = found
            worker.busy = None

    def busy(self) -> bool:
        """True while a worker still holds a range."""
        return any(worker.busy is not None for worker in self.workers)

    def lose(self, worker: _Worker) -> None:
        """A worker failed: its range goes back to this process, it gets no more."""
        if worker.busy is not None:
            self.orphans.append(worker.busy)
        worker.busy = None
        self.workers.remove(worker)
        worker.close()

    def _signed(self, lo: int, hi: int) -> dict[str, str]:
        """The signed hashes inside lo..hi-1, as a worker reads them."""
        return {str(s): h for s, h in self.signed.items() if lo <= s < hi}


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
    if workers < 2 or db is None or total < PARALLEL_MIN:
        return chain_scan.scan(conn, names, first, end + 1, prev, signed, progress)
    started = [_start(db, names, first, prev) for _ in range(workers - 1)]
    pool = [w for w in started if w is not None]
    pieces = min(RANGES, max(2, total // chain_scan.BLOCK))
    share = _Share([first + total * i // pieces for i in range(pieces + 1)], signed, pool)
    try:
        return _run(conn, names, share, prev, progress)
    finally:
        for worker in list(share.workers):
            worker.close()


def _run(
    conn: sqlite3.Connection,
    names: Sequence[str],
    share: _Share,
    prev: str,
    progress: Callable[[int], None] | None,
) -> int | None:
    """Scan the front ranges here while the workers scan the back ones; the first stop."""
    bounds = share.bounds

    def between_blocks(seq: int) -> None:
        """After each block here: take in the workers' answers, hand out ranges."""
        share.collect(0.0)
        share.feed()
        if progress is not None:
            progress(seq)

    share.feed()
    while (k := share.take_front()) is not None:
        before = prev if k == 0 else chain_scan.stored_hash(conn, bounds[k] - 1)
        found = chain_scan.scan(
            conn, names, bounds[k], bounds[k + 1], before, share.signed, between_blocks
        )
        if found is not None:
            return found  # every range before this one was scanned here, in order, and passed
    waited = 0.0
    while share.busy():
        share.collect(_POLL_S)
        waited += _POLL_S
        if progress is not None:
            progress(bounds[0])
        if waited >= _WORKER_TIMEOUT_S:
            for worker in [w for w in share.workers if w.busy is not None]:
                share.lose(worker)
    for k in share.orphans:
        before = chain_scan.stored_hash(conn, bounds[k] - 1)
        share.found[k] = chain_scan.scan(
            conn, names, bounds[k], bounds[k + 1], before, share.signed, progress
        )
    for k in sorted(share.found):
        if share.found[k] is not None:
            return share.found[k]
    return None
