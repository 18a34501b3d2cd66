"""Opening the store: pragmas checked at every open, versioned migrations, read-only readers."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

from cabinet.errors import SchemaTooNew, StorageError


def _migrations() -> list[tuple[int, str]]:
    """Every migration shipped with the code, as (version, SQL), in order."""
    found: list[tuple[int, str]] = []
    folder = resources.files("cabinet.store") / "migrations"
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(v for v, _ in _migrations())


def _check_pragmas(conn: sqlite3.Connection, *, writer: bool) -> None:
    """Refuse a connection whose durability settings are not the ones we rely on."""
    fk = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    if fk != 1:
        raise StorageError("foreign keys could not be enabled on the store")
    if writer:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"journal_mode is {mode!r}, the store needs 'wal'")
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
        if sync != 2:  # 2 = FULL: every commit is fsynced before it is acknowledged
            raise StorageError(f"synchronous is {sync}, the store needs FULL (2)")


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the database lacks; refuse a database newer than the code."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store is at schema version {current}, this code knows up to {SCHEMA_VERSION}: "
            "upgrade the cabinet software before opening it"
        )
    for version, sql in _migrations():
        if version <= current:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
            # executescript would commit our BEGIN; run statement by statement instead.
            for statement in _split_sql(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageError(f"migration {version:04d} failed: {exc}") from exc
    return SCHEMA_VERSION


def _split_sql(script: str) -> list[str]:
    """Split a migration into complete statements (triggers hold inner semicolons)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def open_writer(path: Path) -> sqlite3.Connection:
    """Open the one write connection: WAL, synchronous=FULL, foreign keys, migrated."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"cannot open the store {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        _check_pragmas(conn, writer=True)
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"cannot open the store {path}: {exc}") from exc
    except StorageError:
        conn.close()
        raise
    return conn


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a read-only connection for reports: never blocks the writer (WAL)."""
    if not path.exists():
        raise StorageError(f"no store at {path}")
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA query_only=ON")
        _check_pragmas(conn, writer=False)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the store {path} for reading: {exc}") from exc
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(f"the store is at schema version {version}, newer than this code")
    conn.row_factory = sqlite3.Row
    return conn
