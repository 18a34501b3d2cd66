"""A synthetic ward history of N ledger events, hash-chained and signed, for the report bench.

`python bench/gen_history.py [--events N] [--out PATH]` writes (or reuses) a store whose ledger,
stock, lots, outbox, discrepancies and checkpoints are consistent: every pocket's stock is the
sum of its movements, every event's `balance` is its pocket's stock after it, and
`cabinet ledger verify` passes. Rows are written with executemany in one transaction.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cabinet.clock import iso  # noqa: E402
from cabinet.security.keys import load_or_create  # noqa: E402
from cabinet.store.checkpoints import CheckpointSigner, register_public_key  # noqa: E402
from cabinet.store.db import open_writer  # noqa: E402
from cabinet.store.ledger import GENESIS_HASH, LEDGER_COLUMNS, canonical_payload, event_hash  # noqa: E402

GENERATOR_VERSION = 3
UNIT = "Cardiologie 3B"
ITEMS = 40
CONTROLLED = 6  # the first items are controlled
NURSES = 40
HEAVY_USER = "n13"  # draws far more controlled units than the other nurses
PATIENTS = 600
START = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
CHECKPOINT_EVERY = 10_000
DEFAULT_CACHE = Path("/tmp/cabinet-bench")


@dataclass
class Pocket:
    """One pocket's running state while the history is written."""

    drawer: int
    pocket: int
    item: str
    quantity: int = 0
    lots: list[list[Any]] = field(default_factory=list)  # [lot, expiry, quantity]


@dataclass
class Writer:
    """Accumulates rows with a correct hash chain."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    seq: int = 0
    prev: str = GENESIS_HASH

    def add(self, at: dt.datetime, kind: str, quantity: int = 0, **kw: Any) -> int:
        """Append one event; its sequence number."""
        self.seq += 1
        fields: dict[str, Any] = {
            "seq": self.seq,
            "at": iso(at),
            "kind": kind,
            "actor": kw.get("actor"),
            "witness": kw.get("witness"),
            "patient_id": kw.get("patient_id"),
            "order_id": kw.get("order_id"),
            "item_code": kw.get("item_code"),
            "drawer": kw.get("drawer"),
            "pocket": kw.get("pocket"),
            "lot": kw.get("lot"),
            "quantity": quantity,
            "payload": canonical_payload(kw.get("payload", {})),
            "prev_hash": self.prev,
        }
        self.prev = event_hash(fields)
        self.rows.append((*fields.values(), self.prev))
        return self.seq


def item_code(i: int) -> str:
    """The UCD-like code of synthetic item i."""
    return f"93{i:011d}"


def _seed(
    conn: sqlite3.Connection, rng: random.Random
) -> tuple[list[Pocket], list[tuple[str, str, str]]]:
    """Formulary, pockets, users, patients and orders; the pockets and the orders."""
    conn.executemany(
        "INSERT INTO items (code, name, form, unit_weight_cg, tolerance_cg, controlled)"
        " VALUES (?, ?, 'unit', 100, 10, ?)",
        [(item_code(i), f"DRUG {i:02d}", 1 if i < CONTROLLED else 0) for i in range(ITEMS)],
    )
    conn.executemany(
        "INSERT INTO item_gtins (gtin, item_code) VALUES (?, ?)",
        [(f"0340093{i:07d}", item_code(i)) for i in range(ITEMS)],
    )
    pockets = [Pocket(i // 8, i % 8, item_code(i)) for i in range(ITEMS)]
    conn.executemany(
        "INSERT INTO pockets (drawer, pocket, item_code, par, max) VALUES (?, ?, ?, 10, 40)",
        [(p.drawer, p.pocket, p.item) for p in pockets],
    )
    conn.execute("INSERT INTO pockets (drawer, pocket, return_bin) VALUES (6, 0, 1)")
    users = [(f"n{i:02d}", f"Nurse {i}", "nurse") for i in range(1, NURSES + 1)]
    users += [("ph1", "Pharmacist 1", "pharmacist"), ("t1", "Technician 1", "technician")]
    conn.executemany("INSERT INTO users (id, name, roles) VALUES (?, ?, ?)", users)
    conn.executemany(
        "INSERT INTO patients (id, name) VALUES (?, ?)",
        [(f"P{i:05d}", f"PATIENT {i}") for i in range(PATIENTS)],
    )
    orders = []
    for i in range(PATIENTS * 3):
        orders.append((f"O{i:06d}", f"P{i % PATIENTS:05d}", item_code(rng.randrange(ITEMS))))
    conn.executemany(
        "INSERT INTO orders (id, patient_id, item_code, dose, kind, start_at, status, verified_by)"
        " VALUES (?, ?, ?, 1, 'prn', '2025-12-01', 'active', 'ph1')",
        orders,
    )
    return pockets, orders


def _take(p: Pocket, n: int) -> dict[str, int]:
    """Take n units first-expiry-first, as the store does; the lots touched."""
    touched: dict[str, int] = {}
    for lot in sorted((x for x in p.lots if x[2] > 0), key=lambda x: x[1]):
        if n == 0:
            break
        t = min(n, lot[2])
        lot[2] -= t
        touched[lot[0]] = touched.get(lot[0], 0) - t
        n -= t
    return touched


def generate(path: Path, events: int, *, seed: int = 7, days: int = 365) -> dict[str, int]:
    """Write a store of exactly `events` ledger events at `path` (which must not exist)."""
    if path.exists():
        raise FileExistsError(path)
    rng = random.Random(seed)
    conn = open_writer(path)
    signer = CheckpointSigner(load_or_create(path.parent / f"{path.stem}.key"))
    conn.execute("BEGIN IMMEDIATE")
    pockets, orders = _seed(conn, rng)
    by_item = {p.item: p for p in pockets}
    w = Writer()
    discrepancies: list[tuple[Any, ...]] = []
    overrides: list[int] = []
    return_bin = 0
    in_bin: dict[str, int] = {}  # the return bin holds several items
    step_us = days * 86_400_000_000 // events
    nurses = [f"n{i:02d}" for i in range(1, NURSES + 1)]

    def move(at: dt.datetime, kind: str, p: Pocket, delta: int, **kw: Any) -> int:
        """A stock movement with its balance, as Store.move writes it."""
        payload = dict(kw.pop("payload", {}))
        if delta > 0:
            lot = [
                f"L{p.item[-3:]}-{w.seq}",
                (at + dt.timedelta(days=rng.randint(20, 400))).date().isoformat(),
                delta,
            ]
            p.lots.append(lot)
            payload["lots"], payload["expiry"], kw["lot"] = {lot[0]: delta}, lot[1], lot[0]
        else:
            touched = _take(p, -delta)
            if touched:
                payload["lots"] = touched
        p.quantity += delta
        payload["balance"] = p.quantity
        return w.add(
            at,
            kind,
            delta,
            item_code=p.item,
            drawer=p.drawer,
            pocket=p.pocket,
            payload=payload,
            **kw,
        )

    while w.seq < events:
        at = START + dt.timedelta(microseconds=w.seq * step_us + rng.randrange(step_us))
        left = events - w.seq
        roll = rng.random()
        order_id, patient, code = orders[rng.randrange(len(orders))]
        p = by_item[code]
        controlled = int(code[-3:]) < CONTROLLED
        nurse = HEAVY_USER if controlled and rng.random() < 0.12 else rng.choice(nurses)
        if p.quantity < 10 and left >= 1:
            move(at, "restock", p, 40 - p.quantity, actor="t1")
        elif roll < 0.80:
            take = min(p.quantity, rng.choice((1, 1, 2)))
            # A controlled take starts with the nurse's blind count of the pocket.
            blind = {"blind_count": p.quantity} if controlled else {}
            move(
                at,
                "dispense",
                p,
                -take,
                actor=nurse,
                patient_id=patient,
                order_id=order_id,
                payload=blind,
            )
        elif roll < 0.83 and controlled:
            # Half the wastes are of pocket stock; half of part of a dose already taken.
            whole = rng.random() < 0.5
            move(
                at,
                "waste",
                p,
                -1 if whole else 0,
                actor=nurse,
                witness=rng.choice(nurses),
                patient_id=patient,
                payload={"reason": "partial dose"} if whole else {"wasted": 1},
            )
        elif roll < 0.85:
            return_bin += 1
            in_bin[code] = in_bin.get(code, 0) + 1
            w.add(
                at,
                "return",
                1,
                actor=nurse,
                patient_id=patient,
                item_code=code,
                drawer=6,
                pocket=0,
                payload={"balance": return_bin},
            )
        elif roll < 0.88 and controlled and left >= 3:
            counted = p.quantity - (1 if rng.random() < 0.05 else 0)
            where = {"item_code": code, "drawer": p.drawer, "pocket": p.pocket}
            if counted == p.quantity:
                w.add(
                    at,
                    "count",
                    actor=nurse,
                    payload={"counted": counted, "balance": p.quantity},
                    **where,
                )
            else:
                change = {
                    "pocket": p.pocket,
                    "item": code,
                    "expected": p.quantity,
                    "counted": counted,
                    "cause": "count_mismatch",
                    "correction": -1,
                }
                seq = w.add(
                    at,
                    "discrepancy",
                    actor=nurse,
                    payload={"changes": [change], "taken": 0},
                    **where,
                )
                opened = (seq, iso(at), nurse, p.drawer, p.pocket, code, p.quantity, counted)
                later = at + dt.timedelta(seconds=1)
                move(
                    later,
                    "count_correction",
                    p,
                    -1,
                    actor="ph1",
                    witness=nurse,
                    payload={"reason": "count confirmed"},
                )
                resolved = w.add(
                    later,
                    "discrepancy_resolved",
                    actor="ph1",
                    witness=nurse,
                    payload={"reason": "count confirmed"},
                    **where,
                )
                discrepancies.append((*opened, iso(later), resolved))
        elif roll < 0.90:
            overrides.append(
                move(
                    at,
                    "dispense",
                    p,
                    -1,
                    actor=nurse,
                    patient_id=patient,
                    payload={
                        "override": True,
                        "reason": "urgent",
                        "prescriber": "Dr Who",
                        "review": "pending",
                    },
                )
            )
        elif roll < 0.91 and overrides:
            w.add(at, "override_reviewed", actor="ph1", payload={"override_seq": overrides.pop(0)})
        else:
            w.add(at, "login_failure", actor=nurse, payload={"reason": "wrong PIN"})
        if return_bin >= 30 and events - w.seq >= 1:
            # The pharmacist destroys, witnessed, the item the bin holds most of.
            most = max(in_bin, key=lambda c: in_bin[c])
            taken = in_bin.pop(most)
            return_bin -= taken
            w.add(
                at + dt.timedelta(seconds=2),
                "waste",
                -taken,
                actor="ph1",
                witness="t1",
                drawer=6,
                pocket=0,
                item_code=most,
                payload={"balance": return_bin, "reason": "return bin emptied"},
            )
    rows = w.rows
    if len(rows) != events:
        raise AssertionError(f"wrote {len(rows)} events, not {events}")
    placeholders = ", ".join("?" * 15)
    conn.executemany(f"INSERT INTO ledger ({LEDGER_COLUMNS}) VALUES ({placeholders})", rows)
    last_at = rows[-1][1]
    conn.executemany(
        "INSERT INTO outbox (seq, acked_at) VALUES (?, ?)",
        ((r[0], None if r[0] > events - 100 else r[1]) for r in rows),
    )
    conn.executemany(
        "INSERT INTO checkpoints (seq, hash, signature, at) VALUES (?, ?, ?, ?)",
        (
            (r[0], r[14], signer.sign(r[0], r[14]), r[1])
            for r in rows
            if r[0] % CHECKPOINT_EVERY == 0 or r[0] == events
        ),
    )
    register_public_key(conn, signer)
    conn.executemany(
        "INSERT INTO discrepancies (ledger_seq, opened_at, opened_by, drawer, pocket, item_code,"
        " expected, counted, cause, status, reason, resolved_by, witness, resolved_at,"
        " resolved_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'count_mismatch', 'resolved',"
        " 'count confirmed', 'ph1', ?3, ?, ?)",
        discrepancies,
    )
    for p in pockets:
        conn.execute(
            "UPDATE pockets SET quantity = ? WHERE drawer = ? AND pocket = ?",
            (p.quantity, p.drawer, p.pocket),
        )
        conn.executemany(
            "INSERT INTO lots (drawer, pocket, lot, expiry, quantity) VALUES (?, ?, ?, ?, ?)",
            [(p.drawer, p.pocket, lot, expiry, qty) for lot, expiry, qty in p.lots if qty > 0],
        )
    conn.execute("UPDATE pockets SET quantity = ? WHERE drawer = 6 AND pocket = 0", (return_bin,))
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('synthetic_history', ?)",
        (f"v{GENERATOR_VERSION} events={events} seed={seed} last={last_at}",),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"events": events, "discrepancies": len(discrepancies)}


def cached_path(events: int, seed: int = 7) -> Path:
    """Where the history of that size is kept between runs."""
    return DEFAULT_CACHE / f"history-v{GENERATOR_VERSION}-{events}-s{seed}.db"


def ensure(events: int, path: Path | None = None, seed: int = 7) -> Path:
    """The history at `path` (default: the cache), generated only when it is not there yet."""
    target = path or cached_path(events, seed)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, so an interrupted run never leaves a half history.
    partial = target.with_name(f"partial-{target.name}")
    for stale in partial.parent.glob(f"{partial.name}*"):
        stale.unlink()
    generate(partial, events, seed=seed)
    partial.rename(target)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    key = partial.with_suffix(".key")
    key.rename(target.with_suffix(".key"))
    key.with_suffix(".pub").rename(target.with_suffix(".pub"))
    return target


def main() -> int:
    """Generate (or reuse) a history and say where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help=f"default: under {DEFAULT_CACHE}")
    args = parser.parse_args()
    started = time.perf_counter()
    path = ensure(args.events, args.out, args.seed)
    print(f"{path}: {args.events} events ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
