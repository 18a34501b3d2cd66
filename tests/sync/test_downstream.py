"""Changes made at the central reach the cabinet's store, in order, within 2 seconds online."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cabinet.domain.dosing import check_dispensable
from cabinet.domain.refusals import Refused
from cabinet.security.credentials import verify_secret
from cabinet.sync import SyncService
from cabinet.workflows.repo import orders_of
from proto.cabinet.v1 import sync_pb2
from sim import demo_data
from sim.central import catalog
from sim.central.credentials import FAST_COST
from sim.central.db import CentralDb
from tests.sync.conftest import CABINET_A, Cabinet, CentralHarness, cabinet_config, eventually


def order_row(cabinet: Cabinet, order_id: str) -> tuple[str, int, str | None] | None:
    """(status, dose, verified_by) of an order in the cabinet's store."""
    row = cabinet.store.conn.execute(
        "SELECT status, dose, verified_by FROM orders WHERE id = ?", (order_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), row[2])


def may_dispense(cabinet: Cabinet, order_id: str, units: int) -> str:
    """'yes', or the refusal code the cabinet's dosing rules give for `units` of the order now."""
    patient = cabinet.store.conn.execute(
        "SELECT patient_id FROM orders WHERE id = ?", (order_id,)
    ).fetchone()[0]
    rule = next(r for r in orders_of(cabinet.store.conn, patient) if r.order_id == order_id)
    try:
        check_dispensable(rule, cabinet.clock.now(), [], units)
    except Refused as refusal:
        return refusal.code.name
    return "yes"


async def test_demo_data_then_an_order_added_changed_and_cancelled(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The whole catalog arrives; each later order change lands within 2 s."""
    catalog.seed_demo(central.db, FAST_COST)
    cabinet = cabinet_factory()
    central.db.register_cabinet(CABINET_A, cabinet.public_pem)
    await central.start()
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, cabinet.clock
    )
    await service.start()
    # The pharmacist works on the central's file from another connection, as the CLI does.
    pharmacy = CentralDb(central.db.path)
    try:
        latest = central.db.latest_version()
        await eventually(lambda: service.state().applied_version == latest, 10, "the catalog")
        conn = cabinet.store.conn
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == len(demo_data.FORMULARY)
        assert conn.execute("SELECT count(*) FROM item_gtins").fetchone()[0] == len(
            demo_data.FORMULARY
        )
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == len(demo_data.ORDERS)
        assert conn.execute("SELECT count(*) FROM override_list").fetchone()[0] == len(
            demo_data.OVERRIDE_LIST
        )
        nurse = demo_data.USERS[0]
        roles, badge_hash, pin_hash = conn.execute(
            "SELECT roles, badge_hash, pin_hash FROM users WHERE id = ?", (nurse.id,)
        ).fetchone()
        assert roles == "nurse" and nurse.pin not in pin_hash
        assert verify_secret(nurse.pin, pin_hash) and verify_secret(nurse.badge, badge_hash)
        assert not verify_secret("0000", pin_hash)
        assert conn.execute(
            "SELECT item_code, par, max FROM pockets WHERE drawer = 0 AND pocket = 7"
        ).fetchone() == ("3400899136519", 4, 10)

        new = demo_data.DemoOrder(
            id="ORD-NEW", patient_ipp=demo_data.PATIENTS[1].ipp, item_code="3400893678534",
            dose=1, kind="prn", min_interval_minutes=360, daily_max=3, prescriber="Dr MOREAU",
        )  # fmt: skip
        steps: list[tuple[Callable[[], int], tuple[str, int, str | None]]] = [
            (lambda: catalog.add_order(pharmacy, new), ("active", 1, "PHA-001")),
            (lambda: catalog.change_order(pharmacy, "ORD-NEW", dose=2), ("active", 2, "PHA-001")),
            (lambda: catalog.cancel_order(pharmacy, "ORD-NEW"), ("cancelled", 2, "PHA-001")),
        ]
        # What the cabinet's own dosing rules then allow for two units of it, now.
        allows_two: list[str] = []
        for act, expected in steps:
            started = time.monotonic()
            act()
            await eventually(
                lambda e=expected: order_row(cabinet, "ORD-NEW") == e, 2.0, str(expected)
            )
            assert time.monotonic() - started < 2.0
            allows_two.append(may_dispense(cabinet, "ORD-NEW", 2))
        assert allows_two == ["DOSE_ABOVE_ORDER", "yes", "ORDER_NOT_ACTIVE"]
        # Applied once: the cursor is in the store, with the same transaction as the rows.
        cursor = conn.execute(
            "SELECT value FROM settings WHERE key = 'sync.change_version'"
        ).fetchone()
        assert int(cursor[0]) == central.db.latest_version()
    finally:
        pharmacy.close()
        await service.stop()


async def test_pocket_holding_stock_is_not_relabelled(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """A plan moving a stocked pocket to another item waits, and an alarm says why."""
    catalog.seed_demo(central.db, FAST_COST)
    cabinet = cabinet_factory()
    await central.start()
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, cabinet.clock
    )
    await service.start()
    try:
        latest = central.db.latest_version()
        await eventually(lambda: service.state().applied_version == latest, 10, "the catalog")
        cabinet.store.conn.execute(
            "UPDATE pockets SET quantity = 5 WHERE drawer = 0 AND pocket = 0"
        )
        plan = demo_data.DemoPocket(drawer=0, pocket=0, item_code="3400898239853", par=2, max=9)
        version = catalog.set_pocket(central.db, plan, CABINET_A)
        await eventually(lambda: service.state().applied_version == version, 5, "the plan")
        row = cabinet.store.conn.execute(
            "SELECT item_code, par, max FROM pockets WHERE drawer = 0 AND pocket = 0"
        ).fetchone()
        assert row == ("3400893678534", 2, 9)
        alarm = cabinet.store.conn.execute("SELECT kind, message FROM alarms").fetchone()
        assert alarm[0] == "pocket_reassignment_deferred" and "holds 5" in alarm[1]
    finally:
        await service.stop()


async def test_heartbeat_tells_the_central_about_a_degraded_cabinet(
    central: CentralHarness, cabinet_factory: Callable[..., Cabinet], site_pki: Path
) -> None:
    """After the daemon latches the cabinet locked, the next heartbeat says so."""
    cabinet = cabinet_factory()
    await central.start()
    service = SyncService(
        cabinet_config(cabinet.state, site_pki, central.port), cabinet.store, cabinet.clock
    )
    await service.start()

    def last_beat() -> sync_pb2.HeartbeatRequest | None:
        beat = central.db.heartbeat(CABINET_A)
        return None if beat is None else sync_pb2.HeartbeatRequest.FromString(beat[1])

    try:
        await eventually(lambda: last_beat() is not None, 5, "a first heartbeat")
        beat = last_beat()
        assert beat is not None and not beat.degraded
        service.lock_down("ledger broken at sequence 12")
        await eventually(lambda: bool(getattr(last_beat(), "degraded", False)), 5, "degraded")
    finally:
        await service.stop()
