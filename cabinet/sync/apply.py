"""Applying the central's changes to the store: one transaction per batch, with the cursor.

A batch is applied whole or not at all, and the cursor (settings 'sync.change_version') moves
in the same transaction, so a crash can neither skip nor half-apply a change.
"""

from __future__ import annotations

import json
import sqlite3

from cabinet.clock import iso
from cabinet.security.credentials import valid_tag
from cabinet.store import NewEvent, Store, ledger
from cabinet.store.movements import insert_alarm
from proto.cabinet.v1 import sync_pb2

CURSOR_KEY = "sync.change_version"

ROLE_NAMES: dict[int, str] = {
    sync_pb2.ROLE_NURSE: "nurse",
    sync_pb2.ROLE_PHARMACIST: "pharmacist",
    sync_pb2.ROLE_TECHNICIAN: "technician",
    sync_pb2.ROLE_AUDITOR: "auditor",
    sync_pb2.ROLE_ADMIN: "admin",
}
STATUS_NAMES: dict[int, str] = {
    sync_pb2.ORDER_STATUS_ACTIVE: "active",
    sync_pb2.ORDER_STATUS_ON_HOLD: "on_hold",
    sync_pb2.ORDER_STATUS_CANCELLED: "cancelled",
    sync_pb2.ORDER_STATUS_COMPLETED: "completed",
}
KIND_NAMES: dict[int, str] = {
    sync_pb2.ORDER_KIND_SCHEDULED: "scheduled",
    sync_pb2.ORDER_KIND_PRN: "prn",
}


class ChangeRefused(Exception):
    """A change the cabinet cannot apply (unknown enum, impossible value); nothing was applied."""


def cursor(conn: sqlite3.Connection) -> int:
    """The last change version applied (0 when none)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (CURSOR_KEY,)).fetchone()
    return 0 if row is None else int(row[0])


def apply_batch(store: Store, changes: list[sync_pb2.Change]) -> int:
    """Apply changes in version order in one transaction; return the new cursor."""
    with store.transaction() as conn:
        current = cursor(conn)
        for change in changes:
            if change.version <= current:
                continue  # already applied before a reconnection: harmless to skip
            _apply(conn, store, change)
            current = change.version
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (CURSOR_KEY, str(current)),
        )
    return current


def _apply(conn: sqlite3.Connection, store: Store, change: sync_pb2.Change) -> None:
    """One change, by kind."""
    body = change.WhichOneof("body")
    version = change.version
    if body == "item":
        _item(conn, change.item, version)
    elif body == "patient":
        _patient(conn, change.patient, version)
    elif body == "order":
        _order(conn, change.order, version)
    elif body == "user":
        _user(conn, change.user, version)
    elif body == "pocket":
        _pocket(conn, store, change.pocket)
    elif body == "override_list":
        conn.execute("DELETE FROM override_list")
        conn.executemany(
            "INSERT INTO override_list (item_code) VALUES (?)",
            [(code,) for code in dict.fromkeys(change.override_list.item_codes)],
        )
    else:
        raise ChangeRefused(f"change {version} carries nothing this cabinet knows")


def _item(conn: sqlite3.Connection, item: sync_pb2.Item, version: int) -> None:
    """Upsert a formulary item and replace its GTINs."""
    if item.unit_weight_cg <= 0 or item.tolerance_cg < 0:
        raise ChangeRefused(f"item {item.code}: unit weight and tolerance must be positive")
    conn.execute(
        "INSERT INTO items (code, name, strength, form, unit_weight_cg, tolerance_cg, "
        "controlled, high_alert, refrigerated, lookalike_group, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET "
        "name = excluded.name, strength = excluded.strength, form = excluded.form, "
        "unit_weight_cg = excluded.unit_weight_cg, tolerance_cg = excluded.tolerance_cg, "
        "controlled = excluded.controlled, high_alert = excluded.high_alert, "
        "refrigerated = excluded.refrigerated, lookalike_group = excluded.lookalike_group, "
        "version = excluded.version",
        (
            item.code, item.name, item.strength, item.form, item.unit_weight_cg,
            item.tolerance_cg, int(item.controlled), int(item.high_alert),
            int(item.refrigerated), item.lookalike_group or None, version,
        ),
    )  # fmt: skip
    conn.execute("DELETE FROM item_gtins WHERE item_code = ?", (item.code,))
    for gtin in item.gtins:
        # A GTIN moves with its pack: the latest item naming it owns it.
        conn.execute(
            "INSERT INTO item_gtins (gtin, item_code) VALUES (?, ?) "
            "ON CONFLICT (gtin) DO UPDATE SET item_code = excluded.item_code",
            (gtin, item.code),
        )


def _patient(conn: sqlite3.Connection, patient: sync_pb2.Patient, version: int) -> None:
    """Upsert a patient."""
    conn.execute(
        "INSERT INTO patients (id, name, birth_date, room, bed, allergies, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "birth_date = excluded.birth_date, room = excluded.room, bed = excluded.bed, "
        "allergies = excluded.allergies, version = excluded.version",
        (
            patient.ipp, patient.name, patient.birth_date or None, patient.room or None,
            patient.bed or None, json.dumps(list(patient.allergies), ensure_ascii=False),
            version,
        ),
    )  # fmt: skip


def _order(conn: sqlite3.Connection, order: sync_pb2.Order, version: int) -> None:
    """Upsert an order; an unknown status or kind refuses the whole batch."""
    status = STATUS_NAMES.get(order.status)
    kind = KIND_NAMES.get(order.kind)
    if status is None or kind is None or order.dose <= 0:
        raise ChangeRefused(f"order {order.id}: status, kind or dose not understood")
    conn.execute(
        "INSERT INTO orders (id, patient_id, item_code, dose, kind, times, window_minutes, "
        "min_interval_minutes, daily_max, start_at, stop_at, status, verified_by, prescriber, "
        "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id, "
        "item_code = excluded.item_code, dose = excluded.dose, kind = excluded.kind, "
        "times = excluded.times, window_minutes = excluded.window_minutes, "
        "min_interval_minutes = excluded.min_interval_minutes, daily_max = excluded.daily_max, "
        "start_at = excluded.start_at, stop_at = excluded.stop_at, status = excluded.status, "
        "verified_by = excluded.verified_by, prescriber = excluded.prescriber, "
        "version = excluded.version",
        (
            order.id, order.patient_ipp, order.item_code, order.dose, kind,
            json.dumps(list(order.times)), order.window_minutes, order.min_interval_minutes,
            order.daily_max if order.HasField("daily_max") else None, order.start_at,
            order.stop_at if order.HasField("stop_at") else None, status,
            order.verified_by or None, order.prescriber, version,
        ),
    )  # fmt: skip


def _user(conn: sqlite3.Connection, user: sync_pb2.User, version: int) -> None:
    """Upsert a user; lockout counters are the cabinet's own and are kept."""
    roles = [ROLE_NAMES[r] for r in user.roles if r in ROLE_NAMES]
    if not roles:
        raise ChangeRefused(f"user {user.id}: no role this cabinet knows")
    for secret in (user.badge_hash, user.pin_hash):
        if secret and not secret.startswith("scrypt$"):
            raise ChangeRefused(f"user {user.id}: credentials must arrive hashed (scrypt)")
    # The badge lookup tag goes with the badge hash: a tag alone would find a user no hash
    # can confirm, and a malformed one could name an absurd cost for every scan.
    if user.badge_tag and not (user.badge_hash and valid_tag(user.badge_tag)):
        raise ChangeRefused(f"user {user.id}: badge tag malformed or without a badge hash")
    conn.execute(
        "INSERT INTO users (id, name, roles, badge_hash, badge_tag, pin_hash, active, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
        "roles = excluded.roles, badge_hash = excluded.badge_hash, "
        "badge_tag = excluded.badge_tag, pin_hash = excluded.pin_hash, "
        "active = excluded.active, version = excluded.version",
        (
            user.id, user.name, ",".join(roles), user.badge_hash or None,
            user.badge_tag or None, user.pin_hash or None, int(user.active), version,
        ),
    )  # fmt: skip


def _pocket(conn: sqlite3.Connection, store: Store, plan: sync_pb2.PocketAssignment) -> None:
    """Assign a pocket; a pocket still holding another item keeps it until emptied (alarm)."""
    if plan.par < 0 or plan.max < 0 or (plan.max and plan.par > plan.max):
        raise ChangeRefused(f"pocket {plan.drawer}.{plan.pocket}: need 0 <= par <= max")
    item = plan.item_code or None
    row = conn.execute(
        "SELECT item_code, quantity, return_bin FROM pockets WHERE drawer = ? AND pocket = ?",
        (plan.drawer, plan.pocket),
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO pockets (drawer, pocket, item_code, par, max) VALUES (?, ?, ?, ?, ?)",
            (plan.drawer, plan.pocket, item, plan.par, plan.max),
        )
        return
    held, quantity, return_bin = row[0], int(row[1]), bool(row[2])
    if return_bin:
        return  # the return bin is never assigned an item
    if held != item and quantity > 0:
        # Never relabel stock: the pocket keeps its item until a technician empties it.
        conn.execute(
            "UPDATE pockets SET par = ?, max = ? WHERE drawer = ? AND pocket = ?",
            (plan.par, plan.max, plan.drawer, plan.pocket),
        )
        message = (
            f"pocket {plan.drawer}.{plan.pocket} still holds {quantity} of {held}: "
            f"reassignment to {item or 'nothing'} waits until it is emptied"
        )
        stored = ledger.append(
            conn,
            NewEvent(
                kind="alarm",
                item_code=held,
                drawer=plan.drawer,
                pocket=plan.pocket,
                payload={
                    "alarm": "pocket_reassignment_deferred",
                    "severity": "warning",
                    "message": message,
                },
            ),
            iso(store.clock.now()),
        )
        insert_alarm(conn, stored, "pocket_reassignment_deferred", "warning", message, stored.at)
        return
    conn.execute(
        "UPDATE pockets SET item_code = ?, par = ?, max = ? WHERE drawer = ? AND pocket = ?",
        (item, plan.par, plan.max, plan.drawer, plan.pocket),
    )
