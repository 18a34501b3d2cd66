"""Durable movements per second (stock, lots, ledger, outbox, checkpoints) vs bare sqlite3.

All sides run in the same process, on the same disk, with the same durability (WAL,
synchronous=FULL, one transaction per write), in paired rounds so that a burst of load from
other work hits both sides of a pair alike. Two bare baselines:

- `bare_rows`: the same rows a dispense writes (stock update, ledger row, outbox row), in the
  same schema, with plain sqlite3 and nothing else: no validation, no hashing, no FEFO lots,
  no checkpoints. The target's baseline: it isolates what our code costs on top of SQLite.
- `bare_single`: one small row per transaction in a table without indexes; reported for
  information (it writes a quarter of the pages a movement must write).

Target: our movements reach at least 50% of `bare_rows` (median over the paired rounds).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
from pathlib import Path

from common import emit, rate, timed

from cabinet.clock import SystemClock
from cabinet.security.keys import load_or_create
from cabinet.store import Movement, MovementKind, Store
from cabinet.store.checkpoints import CheckpointSigner
from cabinet.store.db import open_writer

TARGET = 0.5
ITEM = "3400892088310"


def seed(conn: sqlite3.Connection) -> None:
    """One item in two pockets of drawer 0."""
    conn.execute(
        "INSERT INTO items (code, name, unit_weight_cg, tolerance_cg) "
        f"VALUES ('{ITEM}', 'PARAcetamol 500 mg', 60, 15)"
    )
    for pocket in (0, 1):
        conn.execute(
            "INSERT INTO pockets (drawer, pocket, item_code, quantity) VALUES (0, ?, ?, 0)",
            (pocket, ITEM),
        )


def open_cabinet(folder: Path) -> Store:
    """A signed store (a checkpoint every 100 events, the default) with two pockets."""
    store = Store(
        folder / "cabinet.db",
        SystemClock(),
        signer=CheckpointSigner(load_or_create(folder / "cabinet.key")),
        checkpoint_every=100,
    )
    with store.transaction() as conn:
        seed(conn)
    return store


def movements(store: Store, count: int, start: int) -> None:
    """Restock then dispense, alternately: each one a durable movement."""
    for i in range(start, start + count):
        pocket = i % 4 // 2
        if i % 2 == 0:
            m = Movement(
                kind=MovementKind.RESTOCK,
                drawer=0,
                pocket=pocket,
                delta=2,
                actor="tech-1",
                lot="L1",
                expiry="2027-12-31",
            )
        else:
            m = Movement(
                kind=MovementKind.DISPENSE,
                drawer=0,
                pocket=pocket,
                delta=-1,
                actor="nurse-1",
                patient_id="IPP-1",
            )
        store.move(m)


def open_bare_rows(folder: Path) -> sqlite3.Connection:
    """The same schema and pragmas, written with plain sqlite3."""
    conn = open_writer(folder / "bare_rows.db")
    conn.execute("BEGIN IMMEDIATE")
    seed(conn)
    conn.execute("COMMIT")
    return conn


def bare_rows(conn: sqlite3.Connection, count: int, start: int) -> None:
    """A dispense's rows, one durable transaction each, nothing computed."""
    for seq in range(start + 1, start + count + 1):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE pockets SET quantity = quantity + 1 WHERE drawer = 0 AND pocket = ?", (seq % 2,)
        )
        conn.execute(
            "INSERT INTO ledger (seq, at, kind, actor, patient_id, item_code, drawer, pocket, "
            "quantity, payload, prev_hash, hash) "
            "VALUES (?, '2026-11-30T08:00:00.000000+00:00', 'dispense', 'nurse-1', 'IPP-1', ?, "
            "0, ?, -1, '{\"balance\":1}', ?, ?)",
            (seq, ITEM, seq % 2, f"{seq - 1:064x}", f"{seq:064x}"),
        )
        conn.execute("INSERT INTO outbox (seq) VALUES (?)", (seq,))
        conn.execute("COMMIT")


def open_bare_single(folder: Path) -> sqlite3.Connection:
    """One table without indexes, same pragmas."""
    conn = sqlite3.connect(folder / "bare_single.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, pocket INTEGER, q INT)")
    return conn


def bare_single(conn: sqlite3.Connection, count: int) -> None:
    """One row per durable transaction."""
    for i in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO events (kind, pocket, q) VALUES ('dispense', ?, -1)", (i % 2,))
        conn.execute("COMMIT")


def main() -> None:
    """Measure all sides in paired rounds and print the one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=3000, help="writes per side")
    parser.add_argument("--rounds", type=int, default=15, help="paired rounds")
    parser.add_argument("--dir", help="folder on the disk to measure (default: a temp folder)")
    args = parser.parse_args()
    per_round = max(1, args.count // args.rounds)
    total = per_round * args.rounds
    seconds = {"ours": 0.0, "rows": 0.0, "single": 0.0}
    vs_rows: list[float] = []
    vs_single: list[float] = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        store = open_cabinet(folder)
        rows_conn = open_bare_rows(folder)
        single_conn = open_bare_single(folder)
        for r in range(args.rounds):
            with timed() as ours_t:
                movements(store, per_round, r * per_round)
            with timed() as rows_t:
                bare_rows(rows_conn, per_round, r * per_round)
            with timed() as single_t:
                bare_single(single_conn, per_round)
            seconds["ours"] += ours_t.seconds
            seconds["rows"] += rows_t.seconds
            seconds["single"] += single_t.seconds
            vs_rows.append(rows_t.seconds / ours_t.seconds)
            vs_single.append(single_t.seconds / ours_t.seconds)
        checkpoints = store.conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        store.close()
        rows_conn.close()
        single_conn.close()
    ratio = round(statistics.median(vs_rows), 3)
    emit(
        {
            "bench": "commit",
            "writes": total,
            "rounds": args.rounds,
            "movements_per_s": rate(total, seconds["ours"]),
            "bare_rows_per_s": rate(total, seconds["rows"]),
            "bare_single_inserts_per_s": rate(total, seconds["single"]),
            "ratio": ratio,
            "ratio_vs_bare_single": round(statistics.median(vs_single), 3),
            "checkpoints_signed": checkpoints,
            "target": f">= {TARGET:.0%} of bare sqlite3 writes of the same rows, same pragmas",
            "met": ratio >= TARGET,
        }
    )


if __name__ == "__main__":
    main()
