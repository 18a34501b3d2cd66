"""What the central publishes: demo data as change messages, and the pharmacist's operations.

Every operation appends a versioned change to the central's log; cabinets watching the change
stream receive it within one poll of the log (a fraction of a second).
"""

from __future__ import annotations

from proto.cabinet.v1 import sync_pb2
from sim import demo_data
from sim.central.credentials import DEFAULT_COST, TAG_COST, badge_tag, hash_secret
from sim.central.db import CentralDb

ROLES: dict[str, sync_pb2.Role.ValueType] = {
    "nurse": sync_pb2.ROLE_NURSE,
    "pharmacist": sync_pb2.ROLE_PHARMACIST,
    "technician": sync_pb2.ROLE_TECHNICIAN,
    "auditor": sync_pb2.ROLE_AUDITOR,
    "admin": sync_pb2.ROLE_ADMIN,
}
ORDER_KINDS: dict[str, sync_pb2.OrderKind.ValueType] = {
    "scheduled": sync_pb2.ORDER_KIND_SCHEDULED,
    "prn": sync_pb2.ORDER_KIND_PRN,
}
ORDER_STATUSES: dict[str, sync_pb2.OrderStatus.ValueType] = {
    "active": sync_pb2.ORDER_STATUS_ACTIVE,
    "on_hold": sync_pb2.ORDER_STATUS_ON_HOLD,
    "cancelled": sync_pb2.ORDER_STATUS_CANCELLED,
    "completed": sync_pb2.ORDER_STATUS_COMPLETED,
}


class CatalogError(Exception):
    """An operation names something the central does not know, or a bad value."""


def item_message(item: demo_data.DemoItem) -> sync_pb2.Item:
    """A formulary item as the contract carries it."""
    return sync_pb2.Item(
        code=item.code,
        name=item.name,
        strength=item.strength,
        form=item.form,
        gtins=list(item.gtins),
        unit_weight_cg=item.unit_weight_cg,
        tolerance_cg=item.tolerance_cg,
        controlled=item.controlled,
        high_alert=item.high_alert,
        refrigerated=item.refrigerated,
        lookalike_group=item.lookalike_group or "",
    )


def patient_message(patient: demo_data.DemoPatient) -> sync_pb2.Patient:
    """A patient as the contract carries it."""
    return sync_pb2.Patient(
        ipp=patient.ipp,
        name=patient.name,
        birth_date=patient.birth_date,
        room=patient.room,
        bed=patient.bed,
        allergies=list(patient.allergies),
    )


def order_message(order: demo_data.DemoOrder) -> sync_pb2.Order:
    """An order as the contract carries it."""
    if order.kind not in ORDER_KINDS:
        raise CatalogError(f"order kind {order.kind!r}: must be one of {', '.join(ORDER_KINDS)}")
    if order.status not in ORDER_STATUSES:
        raise CatalogError(f"order status {order.status!r}: unknown")
    if order.dose <= 0:
        raise CatalogError(f"order dose {order.dose}: must be at least 1 unit")
    message = sync_pb2.Order(
        id=order.id,
        patient_ipp=order.patient_ipp,
        item_code=order.item_code,
        dose=order.dose,
        kind=ORDER_KINDS[order.kind],
        times=list(order.times),
        window_minutes=order.window_minutes,
        min_interval_minutes=order.min_interval_minutes,
        start_at=order.start_at,
        status=ORDER_STATUSES[order.status],
        verified_by=order.verified_by or "",
        prescriber=order.prescriber,
    )
    if order.daily_max is not None:
        message.daily_max = order.daily_max
    if order.stop_at is not None:
        message.stop_at = order.stop_at
    return message


def user_message(user: demo_data.DemoUser, cost: tuple[int, int, int]) -> sync_pb2.User:
    """A user with badge and PIN hashed and the badge's lookup tag: the clear values stay here."""
    unknown = [r for r in user.roles if r not in ROLES]
    if unknown or not user.roles:
        raise CatalogError(f"roles {unknown or '(none)'}: allowed roles are {', '.join(ROLES)}")
    return sync_pb2.User(
        id=user.id,
        name=user.name,
        roles=[ROLES[r] for r in user.roles],
        badge_hash=hash_secret(user.badge, cost),
        # A cheaper test cost makes cheap tags too; the production cost gets the tag's own.
        badge_tag=badge_tag(
            user.badge, demo_data.CARE_UNIT, TAG_COST if cost == DEFAULT_COST else cost
        ),
        pin_hash=hash_secret(user.pin, cost),
        active=True,
    )


def pocket_message(pocket: demo_data.DemoPocket) -> sync_pb2.PocketAssignment:
    """A pocket assignment as the contract carries it."""
    return sync_pb2.PocketAssignment(
        drawer=pocket.drawer,
        pocket=pocket.pocket,
        item_code=pocket.item_code or "",
        par=pocket.par,
        max=pocket.max,
    )


def seed_demo(db: CentralDb, cost: tuple[int, int, int] = DEFAULT_COST) -> bool:
    """Publish the demo data once per central file; True when it was published now."""
    if db.meta("demo_seeded") == "yes":
        return False
    for item in demo_data.FORMULARY:
        db.add_change("item", item.code, item_message(item).SerializeToString())
    for patient in demo_data.PATIENTS:
        db.add_change("patient", patient.ipp, patient_message(patient).SerializeToString())
    for user in demo_data.USERS:
        db.add_change("user", user.id, user_message(user, cost).SerializeToString())
    for pocket in demo_data.POCKET_PLAN:
        if pocket.return_bin:
            continue  # the return bin is the cabinet's own: never assigned an item
        key = f"{pocket.drawer}.{pocket.pocket}"
        db.add_change("pocket", key, pocket_message(pocket).SerializeToString())
    override = sync_pb2.OverrideList(item_codes=list(demo_data.OVERRIDE_LIST))
    db.add_change("override_list", "unit", override.SerializeToString())
    for order in demo_data.ORDERS:
        db.add_change("order", order.id, order_message(order).SerializeToString())
    db.set_meta("demo_seeded", "yes")
    return True


def _known(db: CentralDb, kind: str, key: str) -> bytes:
    """The current body of (kind, key), or a clear error."""
    body = db.current(kind, key)
    if body is None:
        raise CatalogError(f"no {kind} {key!r} at the central")
    return body


def add_order(db: CentralDb, order: demo_data.DemoOrder) -> int:
    """Publish a new order (or a new version of one); return the change version."""
    _known(db, "patient", order.patient_ipp)
    _known(db, "item", order.item_code)
    return db.add_change("order", order.id, order_message(order).SerializeToString())


def change_order(
    db: CentralDb,
    order_id: str,
    *,
    dose: int | None = None,
    status: str | None = None,
    daily_max: int | None = None,
) -> int:
    """Publish a changed order: new dose, status or daily maximum."""
    message = sync_pb2.Order.FromString(_known(db, "order", order_id))
    if dose is not None:
        if dose <= 0:
            raise CatalogError(f"dose {dose}: must be at least 1 unit")
        message.dose = dose
    if status is not None:
        if status not in ORDER_STATUSES:
            raise CatalogError(f"status {status!r}: allowed are {', '.join(ORDER_STATUSES)}")
        message.status = ORDER_STATUSES[status]
    if daily_max is not None:
        message.daily_max = daily_max
    return db.add_change("order", order_id, message.SerializeToString())


def cancel_order(db: CentralDb, order_id: str) -> int:
    """Publish an order's cancellation."""
    return change_order(db, order_id, status="cancelled")


def register_user(
    db: CentralDb, user: demo_data.DemoUser, cost: tuple[int, int, int] = DEFAULT_COST
) -> int:
    """Publish a new or changed user, badge and PIN hashed."""
    return db.add_change("user", user.id, user_message(user, cost).SerializeToString())


def set_pocket(db: CentralDb, pocket: demo_data.DemoPocket, cabinet: str = "*") -> int:
    """Publish a pocket assignment, for one cabinet or for every cabinet ('*')."""
    if pocket.item_code:
        _known(db, "item", pocket.item_code)
    if pocket.par < 0 or pocket.max < 0 or (pocket.max and pocket.par > pocket.max):
        raise CatalogError(f"par {pocket.par} / max {pocket.max}: need 0 <= par <= max")
    key = f"{pocket.drawer}.{pocket.pocket}"
    return db.add_change(
        "pocket", key, pocket_message(pocket).SerializeToString(), audience=cabinet
    )
