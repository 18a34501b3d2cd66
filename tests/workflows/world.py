"""A small ward for workflow tests: a seeded store, the fake cabinet, the real coordinator."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cabinet.clock import DrivenClock
from cabinet.hardware import HardwareCoordinator
from cabinet.security.credentials import FAST_PARAMS, badge_tag, hash_secret
from cabinet.store import Movement, MovementKind, Store
from cabinet.store.ledger import GENESIS_HASH, HASHED_FIELDS, event_hash
from cabinet.workflows.api import Cabinet
from cabinet.workflows.core import Settings
from sim.hardware.client import RunningSimulator
from tests.fakes.hardware import FakeCabinet
from tests.workflows.simmetal import SimMetal, SteppedClock

START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)

# code, name, unit weight (cg), tolerance (cg), controlled, gtin
ITEMS = [
    ("PARA500", "PARAcetamol 500 mg", 250, 40, 0, "03400935955838"),
    ("MORPH10", "MORPHine 10 mg/1 mL", 400, 60, 1, "03400933816759"),
    ("IBU400", "IBUprofen 400 mg", 300, 40, 0, "03400930000014"),
    ("AMOX1G", "AMOXicilline 1 g", 500, 60, 0, "03400930000021"),
    ("KETA50", "KETAmine 50 mg", 350, 50, 0, "03400930000038"),
    ("OXY5", "OXYcodone 5 mg", 200, 30, 1, "03400930000045"),
    ("FURO40", "FUROsemide 40 mg", 220, 30, 0, "03400930000052"),
]
# drawer, pocket, item, quantity, lot, expiry
POCKETS = [
    (0, 0, "PARA500", 20, "L-PARA-1", "2027-06-30"),
    (0, 1, "MORPH10", 10, "L-MOR-1", "2027-03-31"),
    (0, 2, "IBU400", 10, "L-IBU-1", "2027-01-31"),
    (0, 3, "AMOX1G", 10, "L-AMX-1", "2027-05-31"),
    (1, 0, "KETA50", 5, "L-KET-OLD", "2026-10-31"),
    (1, 1, "OXY5", 8, "L-OXY-1", "2027-08-31"),
    (1, 2, "FURO40", 12, "L-FUR-1", "2027-09-30"),
]
EMPTY_POCKETS = [(1, 3)]
RETURN_BIN = (2, 0)
LAYOUT = {0: 4, 1: 4, 2: 1}
# The care unit whose salt the badge lookup tags use, as the central would send them.
SITE = "Cardiologie 3B"
USERS = [
    ("nurse1", "Alice Martin", "nurse", "B-NURSE1", "1111"),
    ("nurse2", "Bruno Petit", "nurse", "B-NURSE2", "2222"),
    ("pharm1", "Chloé Durand", "pharmacist", "B-PHARM1", "3333"),
    ("tech1", "David Leroy", "technician", "B-TECH1", "4444"),
    ("audit1", "Emma Moreau", "auditor", "B-AUDIT1", "5555"),
]
PATIENTS = [
    ("IPP001", "DUPONT Jean", "12", "A", ["pénicilline"]),
    ("IPP002", "MARTIN Lucie", "14", "B", []),
]
# id, patient, item, dose, kind, times, min interval, daily max, verified by
ORDERS = [
    ("O-PARA", "IPP001", "PARA500", 2, "scheduled", ["08:00", "14:00", "20:00"], 0, 8, "pharm1"),
    ("O-MORPH", "IPP001", "MORPH10", 1, "prn", [], 240, 3, "pharm1"),
    ("O-IBU", "IPP001", "IBU400", 1, "prn", [], 360, 3, None),
    ("O-KETA", "IPP002", "KETA50", 1, "prn", [], 60, 4, "pharm1"),
    ("O-AMOX", "IPP002", "AMOX1G", 1, "scheduled", ["12:00"], 0, None, "pharm1"),
    ("O-IBU2", "IPP002", "IBU400", 1, "prn", [], 0, 4, "pharm1"),
]
OVERRIDE_LIST = ["OXY5", "FURO40", "MORPH10"]


def seed(conn: sqlite3.Connection) -> None:
    """Write the ward's formulary, pockets, users, patients, orders and override list."""
    conn.execute("BEGIN IMMEDIATE")
    for code, name, unit, tol, controlled, gtin in ITEMS:
        conn.execute(
            "INSERT INTO items (code, name, unit_weight_cg, tolerance_cg, controlled) "
            "VALUES (?, ?, ?, ?, ?)",
            (code, name, unit, tol, controlled),
        )
        conn.execute("INSERT INTO item_gtins (gtin, item_code) VALUES (?, ?)", (gtin, code))
    for drawer, pocket, code, *_ in POCKETS:
        conn.execute(
            "INSERT INTO pockets (drawer, pocket, item_code, par, max) VALUES (?, ?, ?, 4, 30)",
            (drawer, pocket, code),
        )
    for drawer, pocket in EMPTY_POCKETS:
        conn.execute("INSERT INTO pockets (drawer, pocket) VALUES (?, ?)", (drawer, pocket))
    conn.execute("INSERT INTO pockets (drawer, pocket, return_bin) VALUES (?, ?, 1)", RETURN_BIN)
    for uid, name, roles, badge, pin in USERS:
        conn.execute(
            "INSERT INTO users (id, name, roles, badge_hash, badge_tag, pin_hash) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                uid,
                name,
                roles,
                hash_secret(badge, FAST_PARAMS),
                badge_tag(badge, SITE, FAST_PARAMS),
                hash_secret(pin, FAST_PARAMS),
            ),
        )
    for pid, name, room, bed, allergies in PATIENTS:
        conn.execute(
            "INSERT INTO patients (id, name, room, bed, allergies) VALUES (?, ?, ?, ?, ?)",
            (pid, name, room, bed, json.dumps(allergies)),
        )
    for oid, pid, code, dose, kind, times, interval, daily_max, verified in ORDERS:
        conn.execute(
            "INSERT INTO orders (id, patient_id, item_code, dose, kind, times, window_minutes, "
            "min_interval_minutes, daily_max, start_at, status, verified_by, prescriber) "
            "VALUES (?, ?, ?, ?, ?, ?, 60, ?, ?, ?, 'active', ?, 'Dr House')",
            (
                oid,
                pid,
                code,
                dose,
                kind,
                json.dumps(times),
                interval,
                daily_max,
                (START - dt.timedelta(days=1)).isoformat(),
                verified,
            ),
        )
    for code in OVERRIDE_LIST:
        conn.execute("INSERT INTO override_list (item_code) VALUES (?)", (code,))
    conn.execute("COMMIT")


def initial_stock(store: Store) -> None:
    """Load the opening stock through the movement API (so the ledger explains every unit)."""
    for drawer, pocket, _code, qty, lot, expiry in POCKETS:
        store.move(
            Movement(
                kind=MovementKind.RESTOCK,
                drawer=drawer,
                pocket=pocket,
                delta=qty,
                actor="commissioning",
                lot=lot,
                expiry=expiry,
            )
        )


def unit_of(code: str) -> int:
    """An item's unit weight in centigrams."""
    return next(unit for c, _n, unit, *_ in ITEMS if c == code)


class World:
    """The ward, the fake metal, the coordinator and the workflows, driven by a test."""

    def __init__(
        self, root: Path, *, settings: Settings | None = None, sim: RunningSimulator | None = None
    ) -> None:
        """Keep what the object needs; nothing starts here."""
        self.root = root
        self.clock: DrivenClock | SteppedClock = (
            DrivenClock(START) if sim is None else (SteppedClock(START))
        )
        self.db = root / "cabinet.db"
        fresh = not self.db.exists()
        self.store = Store(self.db, self.clock)
        if fresh:
            seed(self.store.conn)
            initial_stock(self.store)
        self.metal: Any = (
            FakeCabinet(self.clock, drawers=LAYOUT, settle_s=0.5) if sim is None else SimMetal(sim)
        )
        if fresh or sim is None:
            # A restarted ward on the simulator finds its metal as it was left.
            for drawer, pocket, code, qty, *_ in POCKETS:
                self.metal.load(drawer, pocket, count=qty, unit_cg=unit_of(code), tare_cg=1000)
            # The bin counts in paracetamol units: the returns of these tests are paracetamol.
            self.metal.load(*RETURN_BIN, count=0, unit_cg=unit_of("PARA500"), tare_cg=1000)
        self.settings = settings or Settings(settle_timeout_s=5.0, release_expiry_s=30.0)
        self.coordinator: HardwareCoordinator | None = None
        self.cabinet: Cabinet | None = None
        self.events: asyncio.Queue[Any] | None = None

    async def start(self) -> Cabinet:
        """Start the coordinator and the workflows."""
        self.coordinator = HardwareCoordinator(
            self.metal.board,
            self.metal.scales,
            self.clock,
            lock_pulse_ms=8000,
            open_drawer_hz=200,
            idle_poll_s=0.5,
            settle_s=0.2,
            settle_timeout_s=5.0,
        )
        await self.coordinator.start()
        coordinator = self.coordinator

        # A change before the first settled reading has nothing to be compared with.
        def settled() -> bool:
            """Every shut drawer whose scale answers has a first settled reading."""
            snap = coordinator.snapshot()
            return all(
                d.settled or d.closed is False or not snap.devices[f"scale{i}"].available
                for i, d in snap.drawers.items()
            )

        await self.until(settled)
        self.cabinet = Cabinet(self.store, self.coordinator, self.clock, self.settings, tick_s=0.05)
        self.events = self.cabinet.subscribe()
        await self.cabinet.start()
        return self.cabinet

    async def stop(self) -> None:
        """Stop everything started."""
        if self.cabinet is not None:
            await self.cabinet.stop()
        if self.coordinator is not None:
            await self.coordinator.stop()
        if isinstance(self.metal, SimMetal):
            await self.metal.hardware.link.close()
        self.store.close()

    @property
    def cab(self) -> Cabinet:
        """The workflow API."""
        assert self.cabinet is not None
        return self.cabinet

    async def until(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        """Let the pollers run (real time) until the condition holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        pause = 0.005 if isinstance(self.clock, DrivenClock) else 0.03
        while not condition():
            if loop.time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(pause)

    async def advance(self, seconds: float, step: float = 0.1) -> None:
        """Move the driven clock forward in small steps, letting the pollers see each step.

        Against the simulator time is real: short waits are slept, long ones are jumped.
        """
        if not isinstance(self.clock, DrivenClock):
            if seconds <= 3.0:
                await asyncio.sleep(seconds)
            else:
                self.clock.advance(seconds)
                await asyncio.sleep(0.2)
            return
        moved = 0.0
        while moved < seconds - 1e-9:
            delta = min(step, seconds - moved)
            self.clock.advance(delta)
            moved += delta
            await asyncio.sleep(0.012)

    async def sign_in(self, user: str, pin: str | None = None) -> None:
        """Sign a user in by id and PIN."""
        pins = {u: p for u, *_r, p in USERS}
        await self.cab.sign_in_pin(pin or pins[user], user_id=user)

    async def open_take_close(
        self, drawer: int, takes: dict[int, int] | None = None, puts: dict[int, int] | None = None
    ) -> None:
        """The nurse opens the released drawer, takes or puts, and pushes it shut."""
        await self.until(lambda: self.metal.released(drawer))
        self.metal.open(drawer)
        await self.until(lambda: self.cab.ticket() is None or self.cab.ticket().step != "released")
        for pocket, n in (takes or {}).items():
            self.metal.take(drawer, pocket, n)
        for pocket, n in (puts or {}).items():
            self.metal.put(drawer, pocket, n)
        await self.advance(0.6)
        self.metal.close(drawer)
        await self.advance(1.0)
        await self.until(
            lambda: self.cab.ticket() is None or self.cab.ticket().step in ("awaiting_entry",)
        )

    def kinds(self) -> list[str]:
        """The ledger's event kinds, in order."""
        return [r[0] for r in self.store.conn.execute("SELECT kind FROM ledger ORDER BY seq")]

    def stock(self, drawer: int, pocket: int) -> int:
        """The recorded quantity of a pocket."""
        row = self.store.conn.execute(
            "SELECT quantity FROM pockets WHERE drawer = ? AND pocket = ?", (drawer, pocket)
        ).fetchone()
        return int(row[0])


def check_invariants(conn: sqlite3.Connection) -> None:
    """Stock never negative and explained by the ledger; one outbox row per event; chain intact."""
    stocks = {(d, p): q for d, p, q in conn.execute("SELECT drawer, pocket, quantity FROM pockets")}
    assert all(q >= 0 for q in stocks.values()), stocks
    sums = dict.fromkeys(stocks, 0)
    for d, p, q in conn.execute(
        "SELECT drawer, pocket, SUM(quantity) FROM ledger WHERE drawer IS NOT NULL "
        "GROUP BY drawer, pocket"
    ):
        sums[(d, p)] = int(q)
    assert sums == stocks, (sums, stocks)
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM ledger l LEFT JOIN outbox o ON o.seq = l.seq WHERE o.seq IS NULL"
        ).fetchone()[0]
        == 0
    )
    assert (
        conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        == conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
    )
    previous, expected_seq = GENESIS_HASH, 1
    for row in conn.execute(f"SELECT {', '.join(HASHED_FIELDS)}, hash FROM ledger ORDER BY seq"):
        fields = dict(zip((*HASHED_FIELDS, "hash"), row, strict=True))
        assert fields["seq"] == expected_seq
        assert fields["prev_hash"] == previous
        assert event_hash(fields) == fields["hash"]
        previous, expected_seq = fields["hash"], expected_seq + 1
