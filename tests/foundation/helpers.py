"""Small builders for the foundation tests: a seeded cabinet store and ledger tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cabinet.clock import Clock
from cabinet.security.keys import load_or_create
from cabinet.store import Movement, MovementKind, Store
from cabinet.store.checkpoints import CheckpointSigner

ITEMS = (
    ("3400892088310", "PARAcetamol 500 mg", 60),
    ("3400893826706", "MORPHINE 10 mg/1 mL", 250),
    ("3400891235203", "HYDROmorphone 2 mg", 30),
)


def seed(
    conn: sqlite3.Connection, pockets: int = 3, quantity: int = 20
) -> dict[tuple[int, int], int]:
    """Add the formulary, `pockets` filled pockets in drawer 0 and a return bin; initial stock."""
    initial: dict[tuple[int, int], int] = {}
    for code, name, weight in ITEMS:
        conn.execute(
            "INSERT INTO items (code, name, unit_weight_cg, tolerance_cg) VALUES (?, ?, ?, ?)",
            (code, name, weight, weight // 4),
        )
    for p in range(pockets):
        code = ITEMS[p % len(ITEMS)][0]
        conn.execute(
            "INSERT INTO pockets (drawer, pocket, item_code, par, max, quantity) "
            "VALUES (0, ?, ?, 5, 60, ?)",
            (p, code, quantity),
        )
        initial[(0, p)] = quantity
    conn.execute("INSERT INTO pockets (drawer, pocket, return_bin) VALUES (6, 0, 1)")
    initial[(6, 0)] = 0
    return initial


def open_store(state: Path, clock: Clock, checkpoint_every: int = 10) -> Store:
    """A store signed with the cabinet key in `state`, as the daemon opens it."""
    key = load_or_create(state / "cabinet.key")
    return Store(
        state / "cabinet.db",
        clock,
        signer=CheckpointSigner(key),
        checkpoint_every=checkpoint_every,
    )


def dispense(store: Store, pocket: int = 0, count: int = 1) -> None:
    """A nurse takes `count` units from pocket `pocket` of drawer 0."""
    store.move(
        Movement(
            kind=MovementKind.DISPENSE,
            drawer=0,
            pocket=pocket,
            delta=-count,
            actor="nurse-1",
            patient_id="IPP-1",
        )
    )


def raw(db: Path) -> sqlite3.Connection:
    """A plain connection as an intruder with the sqlite3 shell would have: no triggers."""
    conn = sqlite3.connect(db, isolation_level=None)
    for name in (
        "ledger_no_update",
        "ledger_no_delete",
        "checkpoints_no_update",
        "checkpoints_no_delete",
    ):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return conn
