"""The daily roll-ups the reports read agree with the ledger, kept live and back-filled."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.gen_history import generate
from cabinet.store.db import _migrations, _split_sql, open_writer

# What each roll-up must equal, straight from the ledger.
DIRECT = {
    "kind": "SELECT kind, substr(at, 1, 10), '', count(*), sum(quantity), sum(abs(quantity)),"
    " min(seq), max(seq) FROM ledger GROUP BY 1, 2, 3",
    "actor": "SELECT kind, substr(at, 1, 10), coalesce(actor, ''), count(*), sum(quantity),"
    " sum(abs(quantity)), min(seq), max(seq) FROM ledger WHERE kind = 'dispense' GROUP BY 1, 2, 3",
    "patient": "SELECT kind, substr(at, 1, 10), coalesce(patient_id, ''), count(*), sum(quantity),"
    " sum(abs(quantity)), min(seq), max(seq) FROM ledger WHERE kind = 'dispense' GROUP BY 1, 2, 3",
    "item": "SELECT kind, substr(at, 1, 10), coalesce(item_code, ''), count(*), sum(quantity),"
    " sum(abs(quantity)), min(seq), max(seq) FROM ledger WHERE kind = 'dispense' GROUP BY 1, 2, 3",
    "order": "SELECT kind, substr(at, 1, 10), '', count(*), sum(quantity), sum(abs(quantity)),"
    " min(seq), max(seq) FROM ledger WHERE kind = 'dispense' AND order_id IS NOT NULL"
    " GROUP BY 1, 2, 3",
    "controlled_use": "SELECT l.kind, substr(l.at, 1, 10), l.actor, count(*), sum(l.quantity),"
    " sum(abs(l.quantity)), min(l.seq), max(l.seq) FROM ledger l"
    " JOIN items i ON i.code = l.item_code AND i.controlled = 1"
    " WHERE l.kind IN ('dispense', 'waste') AND l.actor IS NOT NULL"
    " AND (l.drawer, l.pocket) NOT IN (SELECT drawer, pocket FROM pockets WHERE return_bin = 1)"
    " GROUP BY 1, 2, 3",
}


def assert_rollups_match(conn: sqlite3.Connection) -> None:
    """Every roll-up row equals the ledger's own aggregate, and nothing more."""
    for dim, sql in DIRECT.items():
        expected = sorted(conn.execute(sql).fetchall())
        stored = sorted(
            conn.execute(
                "SELECT kind, day, key, events, units, abs_units, min_seq, max_seq"
                " FROM ledger_rollup WHERE dim = ?",
                (dim,),
            ).fetchall()
        )
        assert stored == expected, dim
        assert expected, f"the history has no {dim} roll-up to check"


def test_rollups_kept_by_the_trigger_match_the_ledger(tmp_path: Path) -> None:
    """A 5,000-event synthetic ward history, written event by event through the triggers."""
    db = tmp_path / "cabinet.db"
    generate(db, 5_000, days=20)
    conn = sqlite3.connect(db)
    try:
        assert_rollups_match(conn)
    finally:
        conn.close()


def test_rollups_are_backfilled_when_an_older_store_is_migrated(tmp_path: Path) -> None:
    """A store at schema 1 that already holds events gets complete roll-ups at migration."""
    old = tmp_path / "old.db"
    generate(tmp_path / "source.db", 2_000, days=5)
    conn = sqlite3.connect(old, isolation_level=None)
    version, first = _migrations()[0]
    for statement in _split_sql(first):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("ATTACH DATABASE ? AS source", (str(tmp_path / "source.db"),))
    for table in ("items", "pockets", "ledger"):
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM source.{table}")
    conn.execute("DETACH DATABASE source")
    conn.close()
    migrated = open_writer(old)
    try:
        assert migrated.execute("PRAGMA user_version").fetchone()[0] >= 2
        assert_rollups_match(migrated)
    finally:
        migrated.close()
