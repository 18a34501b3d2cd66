"""Random users, scans, drawer moves, weights and faults; every safety invariant after each step."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import hal
from cabinet.domain.refusals import Refused
from cabinet.workflows.machines import HARDWARE_STATES
from drivers.barcode.decode import decode
from tests.workflows.world import ORDERS, OVERRIDE_LIST, USERS, World, check_invariants

PINS = {uid: pin for uid, *_rest, pin in USERS}
BADGE_PINS = {badge: pin for _uid, _name, _roles, badge, pin in USERS}
ORDER_IDS = [o[0] for o in ORDERS]
DRAWERS = [0, 1, 2]
MAX_ON_MS = 10_000
CONTROLLED = {"MORPH10", "OXY5"}
PACKS = [
    "]d2" + "0103400935955838" + "17280131" + "10LOT-N\x1d" + "21S1",  # paracetamol, good
    "]d2" + "0103400930000014" + "17280131" + "10LOT-I\x1d" + "21S2",  # ibuprofen
    "]d2" + "0103400935955839" + "17280131" + "10LOT-X\x1d" + "21S3",  # bad check digit
]


class CabinetStory(RuleBasedStateMachine):
    """One ward, driven at random by nurses, pharmacists, technicians and failing hardware."""

    def __init__(self) -> None:
        """Keep what the object needs; nothing starts here."""
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="wf-story-"))
        self.world = World(self.tmp)
        self.run(self.world.start())
        self.confirms = 0  # releases the workflows asked for and the coordinator accepted
        self.board_fault = False
        self.scale_fault: set[int] = set()

    def teardown(self) -> None:
        """Stop everything and remove the ward."""
        try:
            self.run(self.world.stop())
        finally:
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on this story's loop."""
        return self.loop.run_until_complete(coro)

    def attempt(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a command; a refusal is a normal answer (and must have changed nothing)."""
        try:
            return self.run(coro)
        except Refused:
            return None

    def pause(self, seconds: float = 0.2) -> None:
        """Let time pass for the pollers and the workflows."""
        self.run(self.world.advance(seconds))
        self.run(asyncio.sleep(0.02))

    @property
    def cab(self) -> Any:
        """The workflow API."""
        return self.world.cab

    # -- people ------------------------------------------------------------------------------

    @rule(user=st.sampled_from(sorted(PINS)), right=st.sampled_from([True, True, True, False]))
    def sign_in(self, user: str, right: bool) -> None:
        """Someone types a PIN, right or wrong."""
        self.attempt(self.cab.sign_in_pin(PINS[user] if right else "0000", user_id=user))

    @rule()
    def sign_out(self) -> None:
        """Whoever is signed in signs out."""
        self.run(self.cab.sign_out())

    @rule(patient=st.sampled_from(["IPP001", "IPP002", "IPP404"]))
    def select_patient(self, patient: str) -> None:
        """A patient is chosen (or an unknown one)."""
        self.attempt(self.cab.select_patient(patient))

    @rule(order=st.sampled_from(ORDER_IDS), quantity=st.one_of(st.none(), st.integers(1, 3)))
    def start_dispense(self, order: str, quantity: int | None) -> None:
        """An order is picked, with or without a quantity."""
        self.attempt(self.cab.start_dispense(order, quantity))

    @rule(
        item=st.sampled_from([*OVERRIDE_LIST, "AMOX1G"]),
        reason=st.sampled_from(["emergency", "verbal_order", "nonsense"]),
    )
    def start_override(self, item: str, reason: str) -> None:
        """An override is asked for, listed or not."""
        self.attempt(self.cab.start_override(item, reason, "Dr House"))

    @rule(right=st.booleans())
    def blind_count(self, right: bool) -> None:
        """The blind count is typed, right or one off."""
        task = self.cab.core.task
        if task is not None and task.drawer is not None and task.pocket is not None:
            recorded = self.world.stock(task.drawer, task.pocket)
            self.attempt(self.cab.enter_blind_count(recorded if right else recorded + 1))

    @rule()
    def confirm(self) -> None:
        """Confirm is pressed; count the releases the coordinator wrote."""
        before = len(self.world.metal.board.releases)
        self.attempt(self.cab.confirm())
        self.confirms += len(self.world.metal.board.releases) - before

    @rule()
    def cancel(self) -> None:
        """Cancel is pressed."""
        self.attempt(self.cab.cancel())
        self.pause(0.1)

    @rule(
        item=st.sampled_from(["MORPH10", "PARA500"]),
        witness=st.sampled_from([None, "nurse1", "nurse2", "pharm1", "tech1"]),
    )
    def waste(self, item: str, witness: str | None) -> None:
        """A waste is declared, with or without a witness."""
        if self.attempt(self.cab.start_waste(item, 1)) is None:
            return
        if witness is not None:
            self.attempt(self.cab.witness_sign_in(PINS[witness], user_id=witness))
        self.attempt(self.cab.confirm())
        self.attempt(self.cab.cancel())

    @rule(drawer=st.sampled_from([0, 1]), pocket=st.integers(0, 3), pack=st.sampled_from(PACKS))
    def restock(self, drawer: int, pocket: int, pack: str) -> None:
        """A restock with a good, wrong or corrupt pack."""
        if self.attempt(self.cab.start_restock(drawer, pocket)) is None:
            return
        self.attempt(self.cab.scan_pack(decode(pack), 5))

    @rule(drawer=st.sampled_from([0, 1]), pocket=st.integers(0, 3))
    def start_count(self, drawer: int, pocket: int) -> None:
        """An inventory count starts."""
        self.attempt(self.cab.start_count(drawer, pocket))

    @rule(n=st.integers(0, 25))
    def enter_count(self, n: int) -> None:
        """A count is typed."""
        self.attempt(self.cab.enter_count(n))

    @rule(reason=st.sampled_from(["recount", ""]))
    def resolve(self, reason: str) -> None:
        """The signed-in user tries to resolve the oldest discrepancy."""
        found = self.cab.discrepancies() if self.cab.core.session else []
        if found:
            self.attempt(self.cab.resolve_discrepancy(found[0].discrepancy_id, reason))

    @rule(
        user=st.sampled_from(["nurse1", "nurse2", "pharm1"]),
        order=st.sampled_from(ORDER_IDS),
        own_patient=st.sampled_from([True, True, True, False]),
        count_right=st.sampled_from([True, True, False]),
        then=st.sampled_from(["right", "right", "right", "other", "none", "later"]),
        off=st.sampled_from([0, 0, 0, 1, -1]),
    )
    def nurse_gives_a_dose(
        self, user: str, order: str, own_patient: bool, count_right: bool, then: str, off: int
    ) -> None:
        """The common path: sign in, patient, order, blind count if asked, confirm, take."""
        if self.cab.core.session is not None and self.cab.core.session.user_id != user:
            self.run(self.cab.sign_out())
        if self.cab.core.session is None:
            self.attempt(self.cab.sign_in_pin(PINS[user], user_id=user))
        patient = next(o[1] for o in ORDERS if o[0] == order)
        self.attempt(self.cab.select_patient(patient if own_patient else "IPP002"))
        self.attempt(self.cab.start_dispense(order))
        self.blind_count(count_right)
        self.confirm()
        if then != "later":
            self.nurse_takes(then, off)

    @rule(where=st.sampled_from(["right", "right", "other", "none"]), off=st.integers(-1, 1))
    def nurse_takes(self, where: str, off: int) -> None:
        """At the released drawer: take the dose (or one more or less, or elsewhere), close."""
        task, metal = self.cab.core.task, self.world.metal
        if task is None or task.drawer is None or task.pocket is None:
            return
        drawer = task.drawer
        if not (metal.released(drawer) and metal.is_closed(drawer)):
            return
        metal.open(drawer)
        self.pause(0.1)
        pocket = (
            task.pocket
            if where == "right"
            else (task.pocket + 1) % len(metal.drawers[drawer].pockets)
        )
        n = max(0, task.quantity + off)
        if where != "none" and task.kind in ("dispense", "override", "count"):
            metal.take(drawer, pocket, min(n, metal.count(drawer, pocket)))
        elif where != "none":
            metal.put(drawer, pocket, n)
        self.pause(0.6)
        metal.close(drawer)
        self.pause(1.0)

    @rule(pack=st.sampled_from(PACKS), pocket=st.integers(0, 3))
    def technician_restocks(self, pack: str, pocket: int) -> None:
        """A technician signs in, scans a pack, confirms."""
        self.run(self.cab.sign_out())
        self.attempt(self.cab.sign_in_pin(PINS["tech1"], user_id="tech1"))
        self.restock(0, pocket, pack)
        self.confirm()

    @rule(witness=st.sampled_from(["nurse2", "pharm1", None]))
    def pharmacist_resolves(self, witness: str | None) -> None:
        """A pharmacist resolves the oldest discrepancy (a witness signs in first)."""
        if self.cab.core.task is not None:
            return
        self.run(self.cab.sign_out())
        self.attempt(self.cab.sign_in_pin(PINS["pharm1"], user_id="pharm1"))
        if witness is not None:
            self.attempt(self.cab.witness_sign_in(PINS[witness], user_id=witness))
        self.resolve("recount")

    @rule(
        badge=st.sampled_from(["B-NURSE1", "B-PHARM1", "B-TECH1", "B-NOBODY"]), right=st.booleans()
    )
    def badge_scan(self, badge: str, right: bool) -> None:
        """A badge is read by the scanner, then a PIN is typed."""
        scan = hal.Scan(raw=badge, symbology="]C0", kind=hal.ScanKind.STAFF_BADGE,
                        meaning=hal.StaffBadge(code=badge))  # fmt: skip
        self.run(self.cab.handle_scan(scan))
        pin = BADGE_PINS.get(badge, "0000") if right else "0000"
        self.attempt(self.cab.sign_in_pin(pin))

    @rule(patient=st.sampled_from(["IPP001", "IPP002", "IPP404"]))
    def wristband_scan(self, patient: str) -> None:
        """A wristband is read: it selects the patient if someone is signed in."""
        scan = hal.Scan(raw=patient, symbology="]C0", kind=hal.ScanKind.PATIENT_WRISTBAND,
                        meaning=hal.PatientWristband(patient_id=patient))  # fmt: skip
        self.run(self.cab.handle_scan(scan))

    @rule(
        drawer=st.sampled_from([0, 1]),
        pocket=st.integers(0, 3),
        centigrams=st.sampled_from([6, -9, 320, -275]),
    )
    def weight_drifts(self, drawer: int, pocket: int, centigrams: int) -> None:
        """A cell creeps (noise) or something is laid on or lifted from a pocket."""
        self.world.metal.drift(drawer, pocket, centigrams)
        self.pause(1.0)

    # -- hands on the metal ------------------------------------------------------------------

    @rule(drawer=st.sampled_from(DRAWERS))
    def open_drawer(self, drawer: int) -> None:
        """A hand pulls a drawer (only a released one opens)."""
        metal = self.world.metal
        if metal.is_closed(drawer) and metal.released(drawer):
            metal.open(drawer)
        self.pause(0.1)

    @rule(
        drawer=st.sampled_from(DRAWERS),
        pocket=st.integers(0, 3),
        n=st.integers(1, 3),
        out=st.booleans(),
    )
    def hand(self, drawer: int, pocket: int, n: int, out: bool) -> None:
        """A hand takes from or puts into a pocket of an open drawer."""
        metal = self.world.metal
        if metal.is_closed(drawer) or pocket >= len(metal.drawers[drawer].pockets):
            return
        if out and metal.count(drawer, pocket) >= n:
            metal.take(drawer, pocket, n)
        elif not out:
            metal.put(drawer, pocket, n)

    @rule(drawer=st.sampled_from(DRAWERS))
    def close_drawer(self, drawer: int) -> None:
        """A drawer is pushed shut and left to settle."""
        if not self.world.metal.is_closed(drawer):
            self.pause(0.6)
            self.world.metal.close(drawer)
            self.pause(1.0)

    @rule(seconds=st.sampled_from([0.5, 2.0, 35.0, 65.0, 3 * 3600.0]))
    def time_passes(self, seconds: float) -> None:
        """Time passes: seconds, a minute, or hours."""
        if seconds > 100:
            self.world.clock.advance(seconds)
            self.pause(0.2)
        else:
            self.pause(seconds) if seconds < 5 else self.run(self.world.advance(seconds, 5.0))

    @rule(
        trouble=st.sampled_from(["force", "board", "scale0", "scale1", "repair", "repair"]),
        drawer=st.sampled_from(DRAWERS),
        taken=st.integers(0, 2),
    )
    def hardware_trouble(self, trouble: str, drawer: int, taken: int) -> None:
        """A drawer forced (and pushed back), a device down, or a technician's repair."""
        metal = self.world.metal
        if trouble == "force" and not self.board_fault and metal.is_closed(drawer):
            metal.force(drawer)
            self.pause(0.2)
            if metal.count(drawer, 0) >= taken:
                metal.take(drawer, 0, taken)
            self.pause(0.6)
            metal.close(drawer)
            self.pause(1.0)
        elif trouble in ("board", "scale0", "scale1"):
            self.fault(trouble)
        elif trouble == "repair":
            metal.clear()
            self.board_fault = False
            self.scale_fault.clear()
            self.pause(0.5)
            self.run(self.cab.sign_out())
            self.attempt(self.cab.sign_in_pin(PINS["pharm1"], user_id="pharm1"))
            self.attempt(self.cab.acknowledge_tamper())
            self.pause(0.3)

    def fault(self, fault: str) -> None:
        """Make a device stop answering; an alarm must be recorded."""
        metal = self.world.metal
        if fault == "board":
            metal.fail_board("down")
            self.board_fault = True
        else:
            metal.fail_scale(int(fault[-1]), "down")
            self.scale_fault.add(int(fault[-1]))
        # Fail closed: an alarm is recorded (idle scale modules are polled every half second:
        # three misses make a device down), and no release may be written while it lasts.
        for _ in range(20):
            self.pause(0.5)
            if self.world.store.conn.execute(
                "SELECT COUNT(*) FROM alarms WHERE cleared_at IS NULL "
                "AND kind IN ('device_down', 'protocol_error')"
            ).fetchone()[0]:
                break
        else:
            raise AssertionError("a device went down without an alarm")

    # -- invariants (design, section 5) ------------------------------------------------------

    @invariant()
    def locks_only_for_live_authorisations(self) -> None:
        """Invariant 1: locks only for live tasks, bounded pulses."""
        metal, task = self.world.metal, self.cab.core.task
        for drawer in DRAWERS:
            if not metal.released(drawer):
                continue
            live = task is not None and task.drawer == drawer and task.state in HARDWARE_STATES
            # A board that cannot be told to relock still ends its own bounded pulse.
            bounded = metal.drawers[drawer].release_until - self.world.clock.monotonic()
            assert live or (self.board_fault and bounded <= MAX_ON_MS / 1000), (drawer, task)
        writes = metal.board.releases
        assert all(0 < ms <= MAX_ON_MS for _d, ms in writes)
        assert len(writes) == self.confirms  # nobody but a confirmed task released a lock

    @invariant()
    def stock_ledger_outbox_consistent(self) -> None:
        """Invariants 2 and 3: stock, ledger, outbox, hash chain."""
        check_invariants(self.world.store.conn)

    @invariant()
    def dispenses_follow_their_orders(self) -> None:
        """Invariant 4: dose, interval and daily maximum respected."""
        conn = self.world.store.conn
        orders = {o[0]: o for o in ORDERS}
        rows = conn.execute(
            "SELECT at, patient_id, order_id, item_code, quantity, payload FROM ledger "
            "WHERE kind = 'dispense' ORDER BY seq"
        ).fetchall()
        for at, patient, order_id, item, quantity, payload in rows:
            facts = json.loads(payload)
            if order_id is None:
                assert facts.get("override") and item in OVERRIDE_LIST, facts
                continue
            _oid, o_patient, o_item, dose, kind, _t, interval, daily_max, verified = orders[
                order_id
            ]
            assert (patient, item) == (o_patient, o_item) and verified
            assert 0 < -quantity <= dose
            moment = dt.datetime.fromisoformat(at)
            if daily_max is not None:
                window = [
                    r
                    for r in rows
                    if r[2] == order_id
                    and moment - dt.timedelta(hours=24) < dt.datetime.fromisoformat(r[0]) <= moment
                ]
                assert sum(-r[4] for r in window) <= daily_max
            if kind == "prn":
                earlier = [
                    dt.datetime.fromisoformat(r[0]) for r in rows if r[2] == order_id and r[0] < at
                ]
                assert all(moment - e >= dt.timedelta(minutes=interval) for e in earlier)

    @invariant()
    def controlled_items_counted_and_witnessed(self) -> None:
        """Invariant 5: blind count and a different witness."""
        conn = self.world.store.conn
        for kind, actor, witness, item, payload in conn.execute(
            "SELECT kind, actor, witness, item_code, payload FROM ledger "
            "WHERE kind IN ('dispense', 'waste')"
        ):
            if item not in CONTROLLED:
                continue
            if kind == "dispense":
                assert "blind_count" in json.loads(payload)
            else:
                assert witness is not None and witness != actor


CabinetStory.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestCabinetStory = pytest.mark.slow(CabinetStory.TestCase)
