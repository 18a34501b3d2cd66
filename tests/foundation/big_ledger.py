"""A million-event ledger built in seconds, for the start-up time test.

Hashing a million events in Python takes longer than the test may, so the first events are
written by SQLite itself with placeholder hashes: a forged past. Only the last `tail` events
are real, chained and signed, as a quick check at start sees them. The background full check
must then find the forgery at sequence 1.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cabinet.clock import DrivenClock
from cabinet.store.checkpoints import CheckpointSigner
from cabinet.store.ledger import LEDGER_COLUMNS, canonical_payload, event_hash
from tests.foundation.helpers import open_store

_FORGED = f"""
INSERT INTO ledger ({LEDGER_COLUMNS})
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
SELECT x, '2026-06-01T08:00:00.000000+00:00', 'dispense', 'nurse-' || (x % 40), NULL,
       'IPP-' || (x % 900), NULL, '3400892088310', 0, x % 8, NULL, -1, '{{"balance":10}}',
       printf('%064x', x - 1), printf('%064x', x)
FROM n
"""


def build(state: Path, count: int, tail: int = 250, every: int = 100) -> None:
    """A state directory whose store holds `count` events, the last `tail` of them genuine."""
    store = open_store(state, DrivenClock(), checkpoint_every=every)
    signer: CheckpointSigner | None = store._signer
    assert signer is not None
    store.close()
    conn = sqlite3.connect(state / "cabinet.db", isolation_level=None)
    # A bulk load, not a cabinet at work: no journal, no fsync, then back to WAL.
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN IMMEDIATE")
    forged = count - tail
    conn.execute(_FORGED, (forged,))
    prev = f"{forged:064x}"
    for seq in range(forged + 1, count + 1):
        fields = {
            "seq": seq,
            "at": "2026-11-30T08:00:00.000000+00:00",
            "kind": "dispense",
            "actor": "nurse-1",
            "witness": None,
            "patient_id": "IPP-1",
            "order_id": None,
            "item_code": "3400892088310",
            "drawer": 0,
            "pocket": seq % 8,
            "lot": None,
            "quantity": -1,
            "payload": canonical_payload({"balance": 10}),
            "prev_hash": prev,
        }
        prev = event_hash(fields)
        conn.execute(
            f"INSERT INTO ledger ({LEDGER_COLUMNS}) VALUES ({', '.join('?' * 15)})",
            (*fields.values(), prev),
        )
        if seq % every == 0 or seq == count:
            conn.execute(
                "INSERT INTO checkpoints (seq, hash, signature, at) VALUES (?, ?, ?, ?)",
                (seq, prev, signer.sign(seq, prev), fields["at"]),
            )
    conn.execute("INSERT INTO outbox (seq) SELECT seq FROM ledger")
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
