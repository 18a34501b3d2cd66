"""The fast pass over a range of the hash chain: the first sequence a full walk would stop at.

Why it exists: walking 1,000,000 events one Python row at a time (a dict, a canonical JSON
encoding and a SHA-256 each) takes 10-20 s here. Given each row's stored `prev_hash`, every
event's hash can be checked on its own, so this pass lets SQLite build each row's canonical
encoding (`json_array` writes the same compact JSON as `ledger.event_hash`), joins a block of
rows into one string, and leaves Python only the SHA-256 of each line. Links, gaps and signed
hashes are checked per block with a few set-wise comparisons.

It only finds *where* a walk would stop; `verify` then walks from there with the exact code to
say why. A block that fails the fast comparison is re-checked row by row with `event_hash`
itself, so an encoding the two JSON writers spell differently costs time, never a false alarm,
and a pass is sound: a line whose SHA-256 equals the stored hash is, as JSON, exactly the
fields that were hashed. The module runs in worker processes as `python -I chain_scan.py`
(JSON lines: a setup line, then one range per line in and one answer per line out) and
imports only the standard library there until a block needs the row-by-row check.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from operator import methodcaller
from pathlib import Path
from typing import Any

# Rows per block: big enough that the per-block queries cost nothing, small enough to keep a
# block's text (about 230 bytes a row) a few megabytes in the daemon.
BLOCK = 8192

_digest = methodcaller("digest")


def _block_sql(columns: str) -> str:
    """One block's canonical lines and stored hashes, each joined in sequence order."""
    return (
        "SELECT CAST(group_concat(j, char(10)) AS BLOB), group_concat(hash, ''), count(*),"
        " min(seq), max(seq) FROM (SELECT json_array("
        + columns
        + ") AS j, hash, seq FROM ledger WHERE seq >= ? AND seq < ? ORDER BY seq)"
    )


# Links inside a block: rows whose prev_hash is not the stored hash of the row before.
_LINKS_SQL = (
    "SELECT count(*) FROM ledger a JOIN ledger b ON b.seq = a.seq - 1"
    " WHERE a.seq > ? AND a.seq < ? AND a.prev_hash IS NOT b.hash"
)


def _block_passes(
    cur: sqlite3.Cursor, sql: str, lo: int, hi: int, prev: str | None, signed: dict[int, str]
) -> bool:
    """True when rows lo..hi-1 are all there, hash to their stored hash and link up."""
    text, hashes, count, first, last = cur.execute(sql, (lo, hi)).fetchone()
    if count != hi - lo or first != lo or last != hi - 1:
        return False
    computed = b"".join(map(_digest, map(hashlib.sha256, text.split(b"\n")))).hex()
    if computed != hashes:
        return False
    head = cur.execute("SELECT prev_hash FROM ledger WHERE seq = ?", (lo,)).fetchone()
    if prev is None or head[0] != prev:
        return False
    if cur.execute(_LINKS_SQL, (lo, hi)).fetchone()[0] != 0:
        return False
    # Every hash is 64 hex digits once `computed` matched, so a signed one sits at its offset.
    return all(hashes[(s - lo) * 64 : (s - lo + 1) * 64] == h for s, h in signed.items())


def _row_by_row(
    cur: sqlite3.Cursor,
    columns: str,
    lo: int,
    hi: int,
    prev: str | None,
    signed: dict[int, str],
    event_hash: Callable[[dict[str, Any]], str],
    names: Sequence[str],
) -> int | None:
    """The walk's own test on each row of a block: the first sequence it fails at, or None."""
    expected = lo
    at_seq, at_prev = list(names).index("seq"), list(names).index("prev_hash")
    rows = cur.execute(
        f"SELECT {columns}, hash FROM ledger WHERE seq >= ? AND seq < ? ORDER BY seq", (lo, hi)
    )
    for row in rows:
        seq = int(row[at_seq])
        if seq != expected:
            return expected
        stored = row[-1]
        if event_hash(dict(zip(names, row[:-1], strict=True))) != stored:
            return seq
        if row[at_prev] != prev or signed.get(seq, stored) != stored:
            return seq
        prev = stored
        expected += 1
    return None if expected == hi else expected


def _exact_hash() -> Callable[[dict[str, Any]], str]:
    """`ledger.event_hash`, imported only when a block needs the row-by-row check."""
    from cabinet.store.ledger import event_hash

    return event_hash


def scan(
    conn: sqlite3.Connection,
    names: Sequence[str],
    lo: int,
    hi: int,
    prev: str | None,
    signed: dict[int, str],
    progress: Callable[[int], None] | None = None,
) -> int | None:
    """The first sequence in lo..hi-1 where a walk starting at `lo` after `prev` would stop."""
    columns = ", ".join(names)
    sql = _block_sql(columns)
    cur = conn.cursor()
    cur.row_factory = None
    for start in range(lo, hi, BLOCK):
        end = min(start + BLOCK, hi)
        mine = {s: h for s, h in signed.items() if start <= s < end}
        if not _block_passes(cur, sql, start, end, prev, mine):
            found = _row_by_row(cur, columns, start, end, prev, mine, _exact_hash(), names)
            if found is not None:
                return found
        row = cur.execute("SELECT hash FROM ledger WHERE seq = ?", (end - 1,)).fetchone()
        prev = None if row is None else row[0]
        if progress is not None:
            progress(end - 1)
    return None


def stored_hash(conn: sqlite3.Connection, seq: int) -> str | None:
    """The hash stored for event `seq`, or None when there is no such row."""
    row = conn.execute("SELECT hash FROM ledger WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


def _serve() -> int:
    """Worker process: one setup line, then one range per line, one answer line each (JSON).

    Setup: the store, the hashed field names, the chain's first sequence and the hash before
    it. Each range: lo, hi and the signed hashes inside; the answer: the first stop or null.
    """
    # Run as a file with -I, the package is importable only through the installed path or this.
    sys.path.append(str(Path(__file__).resolve().parents[2]))
    setup = json.loads(sys.stdin.readline())
    conn = sqlite3.connect(f"file:{setup['db']}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        for line in sys.stdin:
            task = json.loads(line)
            lo = int(task["lo"])
            prev = setup["prev"] if lo == setup["first"] else stored_hash(conn, lo - 1)
            signed = {int(s): str(h) for s, h in task["signed"].items()}
            found = scan(conn, setup["names"], lo, int(task["hi"]), prev, signed)
            sys.stdout.write(json.dumps({"lo": lo, "found": found}) + "\n")
            sys.stdout.flush()
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
