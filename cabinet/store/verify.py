"""Walking the ledger's hash chain and its signed checkpoints to find the first break."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cabinet.store import chain_scan, checkpoints
from cabinet.store.chain_workers import first_stop
from cabinet.store.checkpoints import Checkpoint
from cabinet.store.ledger import GENESIS_HASH, HASHED_FIELDS, LEDGER_COLUMNS, event_hash

# Why a chain breaks, as `cabinet ledger verify` names it.
EDITED = "edited"
DELETED = "deleted"
REORDERED = "reordered"
BAD_SIGNATURE = "bad signature"
TRUNCATED = "truncated after checkpoint"

# How far from its place a moved or renumbered event is looked for.
_SEARCH_SPAN = 16


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyResult:
    """The outcome: OK with counts, or the first broken sequence and why."""

    ok: bool
    events: int  # events whose chain link was checked
    checkpoints: int  # checkpoints whose signature was checked
    last_seq: int  # the last sequence reached
    seq: int | None = None  # first broken sequence
    reason: str | None = None  # one of EDITED, DELETED, REORDERED, BAD_SIGNATURE, TRUNCATED
    detail: str = ""

    def line(self) -> str:
        """The one line `cabinet ledger verify` prints."""
        if self.ok:
            return (
                f"OK: {self.events} events, chain intact up to sequence {self.last_seq}, "
                f"{self.checkpoints} signed checkpoints verified"
            )
        return f"BROKEN at sequence {self.seq}: {self.reason} ({self.detail})"


@dataclass(frozen=True, slots=True)
class _Break:
    """Where the chain breaks first, and why."""

    seq: int
    reason: str
    detail: str


def _seq_holding_hash(conn: sqlite3.Connection, h: str) -> int | None:
    """The sequence of the event whose stored hash is `h` (a slow scan, only after a break)."""
    row = conn.execute("SELECT seq FROM ledger WHERE hash = ? LIMIT 1", (h,)).fetchone()
    return None if row is None else int(row[0])


def _classify(conn: sqlite3.Connection, fields: dict[str, Any], stored: str) -> _Break:
    """Name why an event's content no longer gives its stored hash."""
    seq = int(fields["seq"])
    predecessor = _seq_holding_hash(conn, str(fields["prev_hash"]))
    # Where the event was written: just after the event it chained to, or close by.
    candidates = [predecessor + 1] if predecessor is not None else []
    for distance in range(1, _SEARCH_SPAN + 1):
        candidates += [seq + distance, seq - distance]
    for other in candidates:
        if other < 1 or other == seq or event_hash({**fields, "seq": other}) != stored:
            continue
        # The content is intact but sits at another place: moved, or shifted by a deletion.
        if predecessor is None and other > seq:
            return _Break(seq, DELETED, f"event {seq} is missing; later events were renumbered")
        return _Break(seq, REORDERED, f"the event stored at {seq} was written as {other}")
    return _Break(seq, EDITED, "the stored event does not match its hash")


def verify(
    conn: sqlite3.Connection,
    public_key: Ed25519PublicKey | None,
    *,
    start: Checkpoint | None = None,
    stop: int | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> VerifyResult:
    """Check the chain (from `start`, a checkpoint, or from the genesis) and the checkpoints.

    `stop`: check only through that sequence (and the checkpoints up to it), as a report over
    a period does. `workers`: processes that share the chain's fast pass (1: this one only).
    Runs inside one read transaction so that every query sees the same snapshot, even while
    the writer appends.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        return _verify(conn, public_key, start, stop, progress, workers)
    finally:
        if own:
            conn.execute("ROLLBACK")


def _verify(
    conn: sqlite3.Connection,
    public_key: Ed25519PublicKey | None,
    start: Checkpoint | None,
    stop: int | None,
    progress: Callable[[int], None] | None,
    workers: int,
) -> VerifyResult:
    """The body of verify, inside its snapshot."""
    if public_key is None:
        public_key = checkpoints.registered_public_key(conn)
    breaks: list[_Break] = []
    cps = [
        cp
        for cp in checkpoints.all_checkpoints(conn)
        if (start is None or cp.seq >= start.seq) and (stop is None or cp.seq <= stop)
    ]
    for cp in cps:
        if public_key is None:
            breaks.append(_Break(cp.seq, BAD_SIGNATURE, "no public key to check it against"))
            break
        if not checkpoints.signature_valid(public_key, cp):
            breaks.append(_Break(cp.seq, BAD_SIGNATURE, "the checkpoint signature is not valid"))
            break
    signed = {cp.seq: cp.hash for cp in cps}
    expected, prev = 1, GENESIS_HASH
    if start is not None:
        row = conn.execute(
            f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE seq = ?", (start.seq,)
        ).fetchone()
        if row is None:
            end = conn.execute("SELECT coalesce(max(seq), 0) FROM ledger").fetchone()[0]
            breaks.append(
                _Break(
                    int(end) + 1,
                    TRUNCATED,
                    f"the ledger ends at {int(end)} but checkpoint {start.seq} was signed",
                )
            )
        elif str(row[-1]) != start.hash:
            breaks.append(_Break(start.seq, EDITED, "differs from its signed checkpoint"))
        elif event_hash(dict(zip(HASHED_FIELDS, row[:-1], strict=True))) != start.hash:
            fields = dict(zip(HASHED_FIELDS, row[:-1], strict=True))
            breaks.append(_classify(conn, fields, str(row[-1])))
        expected, prev = start.seq + 1, start.hash
    walked = 0
    outcome = _chain(conn, expected, prev, stop, signed, progress, workers)
    if isinstance(outcome, _Break):
        breaks.append(outcome)
        last_seq = outcome.seq - 1
    else:
        last_seq, walked = outcome
        breaks.extend(_truncation(conn, last_seq, cps, stop))
    if breaks:
        first = min(breaks, key=lambda b: b.seq)
        return VerifyResult(
            ok=False,
            events=walked,
            checkpoints=len(cps),
            last_seq=last_seq,
            seq=first.seq,
            reason=first.reason,
            detail=first.detail,
        )
    return VerifyResult(ok=True, events=last_seq, checkpoints=len(cps), last_seq=last_seq)


def _chain(
    conn: sqlite3.Connection,
    expected: int,
    prev: str,
    stop: int | None,
    signed: dict[int, str],
    progress: Callable[[int], None] | None,
    workers: int,
) -> _Break | tuple[int, int]:
    """The chain from `expected`: the fast pass finds where to look, the walk says why."""
    row = conn.execute("SELECT max(seq) FROM ledger").fetchone()
    end = int(row[0] or 0) if stop is None else min(int(row[0] or 0), stop)
    if end < expected:
        return expected - 1, 0
    found = first_stop(conn, HASHED_FIELDS, expected, end, prev, signed, progress, workers)
    if found is None:
        return end, end - expected + 1
    at = prev if found == expected else chain_scan.stored_hash(conn, found - 1)
    outcome = _walk(conn, found, at or "", signed, progress, stop)
    if isinstance(outcome, _Break):
        return outcome
    return outcome[0], found - expected + outcome[1]


def _walk(
    conn: sqlite3.Connection,
    expected: int,
    prev: str,
    signed: dict[int, str],
    progress: Callable[[int], None] | None,
    stop: int | None = None,
) -> _Break | tuple[int, int]:
    """Follow the chain from `expected`; the first break, or (last sequence, events walked)."""
    walked = 0
    cursor = conn.execute(
        f"SELECT {LEDGER_COLUMNS} FROM ledger WHERE seq >= ? AND seq <= ? ORDER BY seq",
        (expected, (1 << 62) if stop is None else stop),
    )
    for row in cursor:
        seq = int(row[0])
        if seq != expected:
            return _Break(expected, DELETED, f"events {expected} to {seq - 1} are missing")
        fields = dict(zip(HASHED_FIELDS, row[:-1], strict=True))
        stored = str(row[-1])
        if event_hash(fields) != stored:
            return _classify(conn, fields, stored)
        if fields["prev_hash"] != prev:
            holder = _seq_holding_hash(conn, str(fields["prev_hash"]))
            if holder is not None and holder != seq - 1:
                return _Break(seq, REORDERED, f"it follows event {holder}, not event {seq - 1}")
            return _Break(
                seq - 1, EDITED, f"event {seq - 1} was rewritten after event {seq} chained to it"
            )
        if seq in signed and signed[seq] != stored:
            return _Break(seq, EDITED, "differs from its signed checkpoint")
        prev = stored
        expected += 1
        walked += 1
        if progress is not None and walked % 65536 == 0:
            progress(seq)
    return expected - 1, walked


def _truncation(
    conn: sqlite3.Connection, last_seq: int, cps: list[Checkpoint], stop: int | None
) -> list[_Break]:
    """A ledger that ends before a signed checkpoint, or before rows that point into it."""
    found: list[_Break] = []
    beyond = [cp.seq for cp in cps if cp.seq > last_seq]
    if beyond:
        found.append(
            _Break(
                last_seq + 1,
                TRUNCATED,
                f"the ledger ends at {last_seq} but checkpoint {max(beyond)} was signed",
            )
        )
    row = conn.execute(
        "SELECT max(seq) FROM outbox WHERE seq <= ?", ((1 << 62) if stop is None else stop,)
    ).fetchone()
    if row is not None and row[0] is not None and int(row[0]) > last_seq:
        found.append(
            _Break(
                last_seq + 1,
                TRUNCATED,
                f"the ledger ends at {last_seq} but the outbox holds event {int(row[0])}",
            )
        )
    return found


def verify_from_last_checkpoint(
    conn: sqlite3.Connection, public_key: Ed25519PublicKey | None
) -> VerifyResult:
    """The quick check: the last checkpoint's signature and the chain after it."""
    return verify(conn, public_key, start=checkpoints.last(conn))
