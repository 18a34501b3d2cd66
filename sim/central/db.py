"""The central's own SQLite file: registered cabinets, their events, the change log, heartbeats."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cabinets (
    id             TEXT PRIMARY KEY,
    public_key_pem TEXT NOT NULL,         -- the cabinet's Ed25519 ledger key
    registered_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    cabinet     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    body        BLOB NOT NULL,            -- the LedgerEvent message as received
    received_at TEXT NOT NULL,
    PRIMARY KEY (cabinet, seq)            -- deduplication: one row per (cabinet, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    cabinet   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (cabinet, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heads (
    cabinet        TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL,      -- highest contiguous sequence stored
    hash           TEXT NOT NULL,
    checkpoint_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    version  INTEGER PRIMARY KEY AUTOINCREMENT,
    audience TEXT NOT NULL DEFAULT '*',   -- a cabinet id, or '*' for every cabinet
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,               -- item, patient, order, user, pocket, override_list
    key      TEXT NOT NULL,
    body     BLOB NOT NULL                -- the serialized message of that kind
);
CREATE TABLE IF NOT EXISTS current (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heartbeats (
    cabinet     TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    body        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def now_iso() -> str:
    """The central's wall time, ISO 8601 UTC with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class CentralDb:
    """One connection to the central's file; the server and the command line share the file."""

    def __init__(self, path: Path) -> None:
        """Open (and create) the central's file."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: an answer is sent only after the events are on disk, so an acknowledged event
        # survives a crash of the central.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.RLock()
        with self.transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    # -- cabinets -------------------------------------------------------------------------
    def register_cabinet(self, cabinet: str, public_key_pem: str) -> None:
        """Register (or replace) a cabinet's ledger public key."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO cabinets (id, public_key_pem, registered_at) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET public_key_pem = excluded.public_key_pem",
                (cabinet, public_key_pem, now_iso()),
            )

    def cabinet_key(self, cabinet: str) -> str | None:
        """A cabinet's registered PEM public key, or None."""
        row = self.conn.execute(
            "SELECT public_key_pem FROM cabinets WHERE id = ?", (cabinet,)
        ).fetchone()
        return None if row is None else str(row[0])

    # -- events ---------------------------------------------------------------------------
    def head(self, cabinet: str) -> tuple[int, str, int]:
        """(highest contiguous seq, its hash, highest checkpoint seq) for a cabinet."""
        row = self.conn.execute(
            "SELECT seq, hash, checkpoint_seq FROM heads WHERE cabinet = ?", (cabinet,)
        ).fetchone()
        if row is None:
            return 0, "0" * 64, 0
        return int(row[0]), str(row[1]), int(row[2])

    def stored_hashes(self, cabinet: str, low: int, high: int) -> dict[int, str]:
        """Hashes of the stored events low..high of a cabinet."""
        rows = self.conn.execute(
            "SELECT seq, hash FROM events WHERE cabinet = ? AND seq BETWEEN ? AND ?",
            (cabinet, low, high),
        ).fetchall()
        return {int(seq): str(h) for seq, h in rows}

    def events(self, cabinet: str) -> list[tuple[int, str]]:
        """Every stored (seq, hash) of a cabinet, in sequence order."""
        rows = self.conn.execute(
            "SELECT seq, hash FROM events WHERE cabinet = ? ORDER BY seq", (cabinet,)
        ).fetchall()
        return [(int(s), str(h)) for s, h in rows]

    # -- change log -----------------------------------------------------------------------
    def add_change(self, kind: str, key: str, body: bytes, audience: str = "*") -> int:
        """Append a change and make it the current value of (kind, key); return its version."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO changes (audience, at, kind, key, body) VALUES (?, ?, ?, ?, ?)",
                (audience, now_iso(), kind, key, body),
            )
            conn.execute(
                "INSERT INTO current (kind, key, body) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                (kind, key, body),
            )
            return int(cursor.lastrowid or 0)

    def current(self, kind: str, key: str) -> bytes | None:
        """The latest body of (kind, key), or None."""
        row = self.conn.execute(
            "SELECT body FROM current WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def changes_after(
        self, version: int, audience: str, limit: int
    ) -> list[tuple[int, str, str, bytes]]:
        """(version, at, kind, body) of the changes a cabinet should see after `version`."""
        rows = self.conn.execute(
            "SELECT version, at, kind, body FROM changes WHERE version > ? "
            "AND audience IN ('*', ?) ORDER BY version LIMIT ?",
            (version, audience, limit),
        ).fetchall()
        return [(int(v), str(at), str(k), bytes(b)) for v, at, k, b in rows]

    def latest_version(self) -> int:
        """The highest change version so far (0 when none)."""
        row = self.conn.execute("SELECT max(version) FROM changes").fetchone()
        return int(row[0] or 0)

    # -- heartbeats and meta --------------------------------------------------------------
    def record_heartbeat(self, cabinet: str, body: bytes) -> None:
        """Keep the latest heartbeat of a cabinet."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO heartbeats (cabinet, received_at, body) VALUES (?, ?, ?) "
                "ON CONFLICT (cabinet) DO UPDATE SET received_at = excluded.received_at, "
                "body = excluded.body",
                (cabinet, now_iso(), body),
            )

    def heartbeat(self, cabinet: str) -> tuple[str, bytes] | None:
        """(received_at, body) of a cabinet's latest heartbeat, or None."""
        row = self.conn.execute(
            "SELECT received_at, body FROM heartbeats WHERE cabinet = ?", (cabinet,)
        ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def meta(self, key: str) -> str | None:
        """A small fact about this central (e.g. whether demo data was seeded)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small fact."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
