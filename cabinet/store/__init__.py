"""The SQLite store: schema, migrations, the single writer and read-only report connections."""

from cabinet.store.db import SCHEMA_VERSION, open_read_only, open_writer
from cabinet.store.ledger import GENESIS_HASH, LedgerEvent, NewEvent, event_hash
from cabinet.store.movements import Movement, MovementKind, Store

__all__ = [
    "GENESIS_HASH",
    "SCHEMA_VERSION",
    "LedgerEvent",
    "Movement",
    "MovementKind",
    "NewEvent",
    "Store",
    "event_hash",
    "open_read_only",
    "open_writer",
]
