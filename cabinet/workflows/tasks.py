"""Starting drawer tasks: dispense, override, return, restock and count, each checked first."""

from __future__ import annotations

import datetime as dt
import uuid

import hal
from cabinet.domain import dosing, search
from cabinet.domain.gs1 import gtin_valid
from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.domain.roles import Action, may
from cabinet.domain.stock import pick_pocket
from cabinet.workflows import repo
from cabinet.workflows.core import Core, Session
from cabinet.workflows.drawer import persist, step
from cabinet.workflows.machines import Task


def authorised(core: Core, action: Action) -> Session:
    """The signed-in session if its roles allow the action; no other task may be running."""
    session = core.signed_in()
    if not may(session.roles, action):
        core.refuse(RefusalCode.NOT_AUTHORISED, action=action.value)
    if core.task is not None:
        core.refuse(RefusalCode.TASK_IN_PROGRESS)
    if core.degraded:
        core.refuse(RefusalCode.DEGRADED, reason=core.degraded)
    return session


def new_id(kind: str) -> str:
    """A fresh task id."""
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def begin(core: Core, task: Task) -> Task:
    """Make the task current, move it to its first step and persist it."""
    core.task = task
    step(
        core,
        task,
        "need_count"
        if task.kind in ("dispense", "override") and task.controlled
        else "prepare_done",
    )
    return task


def check_order(
    core: Core, session: Session, order_id: str, quantity: int | None
) -> dosing.OrderRule:
    """The order, if it belongs to the selected patient and may be dispensed now."""
    if session.patient_id is None:
        core.refuse(RefusalCode.NO_PATIENT)
    conn = core.store.conn
    rule = repo.order(conn, order_id)
    if rule is None:
        core.refuse(RefusalCode.UNKNOWN_ORDER)
    if rule.patient_id != session.patient_id:
        core.refuse(RefusalCode.WRONG_PATIENT)
    try:
        dosing.check_dispensable(rule, core.now(), repo.given(conn, rule, core.now()), quantity)
    except Refused as refusal:
        core.refuse(refusal.code, **refusal.params)
    return rule


def start_dispense(core: Core, order_id: str, quantity: int | None = None) -> Task:
    """A dose of a verified order of the selected patient, from the FEFO pocket."""
    session = authorised(core, Action.DISPENSE)
    rule = check_order(core, session, order_id, quantity)
    units = rule.dose if quantity is None else quantity
    return _take(core, session, "dispense", rule.item_code, units, order_id=rule.order_id)


def _take(
    core: Core, session: Session, kind: str, item_code: str, units: int, **fields: str | None
) -> Task:
    """A task that takes units of an item from the pocket chosen first-expiry-first."""
    conn = core.store.conn
    item = repo.item(conn, item_code)
    if item is None:
        core.refuse(RefusalCode.UNKNOWN_ITEM)
    try:
        pick = pick_pocket(repo.pockets_of(conn, item_code), units, core.now().date())
    except Refused as refusal:
        core.refuse(refusal.code, **refusal.params)
    task = Task(
        id=new_id(kind),
        kind=kind,
        actor=session.user_id,
        patient_id=session.patient_id,
        item_code=item_code,
        quantity=units,
        drawer=pick.drawer,
        pocket=pick.pocket,
        lot=pick.lot,
        controlled=item.controlled,
        order_id=fields.get("order_id"),
        reason_code=fields.get("reason_code"),
        prescriber=fields.get("prescriber"),
    )
    return begin(core, task)


def override_search(core: Core, text: str) -> list[repo.Item]:
    """Items of the unit's override list matching the text (5 letters, or a single match)."""
    session = core.signed_in()
    if not may(session.roles, Action.OVERRIDE):
        core.refuse(RefusalCode.NOT_AUTHORISED)
    entries = [(f"{i.name} {i.code}", i) for i in repo.override_items(core.store.conn)]
    try:
        return search.search(text, entries)
    except Refused as refusal:
        core.refuse(refusal.code, **refusal.params)


def start_override(
    core: Core, item_code: str, reason_code: str, prescriber: str, quantity: int = 1
) -> Task:
    """Take an item of the override list for the selected patient, before an order exists."""
    session = authorised(core, Action.OVERRIDE)
    if session.patient_id is None:
        core.refuse(RefusalCode.NO_PATIENT)
    listed = {i.code for i in repo.override_items(core.store.conn)}
    if item_code not in listed:
        core.refuse(RefusalCode.NOT_ON_OVERRIDE_LIST)
    try:
        reason = search.reason(reason_code)
    except Refused as refusal:
        core.refuse(refusal.code, **refusal.params)
    if not prescriber.strip():
        core.refuse(RefusalCode.PRESCRIBER_REQUIRED)
    if quantity <= 0:
        core.refuse(RefusalCode.BAD_QUANTITY)
    return _take(
        core,
        session,
        "override",
        item_code,
        quantity,
        reason_code=reason.value,
        prescriber=prescriber.strip(),
    )


def enter_blind_count(core: Core, counted: int) -> Task:
    """The nurse's count of a controlled pocket before it opens; a mismatch is recorded."""
    from cabinet.domain.weighing import PocketChange
    from cabinet.workflows.discrepancy import open_discrepancies

    core.signed_in()
    task = current(core, "counting")
    if counted < 0:
        core.refuse(RefusalCode.BAD_QUANTITY)
    assert task.drawer is not None and task.pocket is not None
    _item, recorded, _bin = repo.pocket_row(core.store.conn, task.drawer, task.pocket)
    task.blind_count = counted
    if counted != recorded:
        change = PocketChange(
            pocket=task.pocket,
            item_code=task.item_code,
            expected=recorded,
            counted=counted,
            readable=True,
            delta_cg=0,
        )
        # The discrepancy is recorded; the dose may still be given (the count is a check).
        open_discrepancies(core, task=task, drawer=task.drawer, changes=[(change, "blind_count")])
    step(core, task, "counted")
    return task


def start_return(core: Core, item_code: str, quantity: int) -> Task:
    """An unused dose goes into the return bin, never back into a pocket."""
    session = authorised(core, Action.RETURN)
    conn = core.store.conn
    item = repo.item(conn, item_code)
    if item is None:
        core.refuse(RefusalCode.UNKNOWN_ITEM)
    if quantity <= 0:
        core.refuse(RefusalCode.BAD_QUANTITY)
    where = repo.return_bin(conn)
    if where is None:
        core.refuse(RefusalCode.NO_RETURN_BIN)
    task = Task(
        id=new_id("return"),
        kind="return",
        actor=session.user_id,
        patient_id=session.patient_id,
        item_code=item_code,
        quantity=quantity,
        drawer=where[0],
        pocket=where[1],
        controlled=item.controlled,
    )
    return begin(core, task)


def start_restock(core: Core, drawer: int, pocket: int) -> Task:
    """A technician loads a pocket; the pack is scanned next."""
    session = authorised(core, Action.RESTOCK)
    try:
        item_code, _qty, is_bin = repo.pocket_row(core.store.conn, drawer, pocket)
    except KeyError:
        core.refuse(RefusalCode.NO_POCKET)
    if item_code is None or is_bin:
        core.refuse(RefusalCode.NO_POCKET)
    item = repo.item(core.store.conn, item_code)
    task = Task(
        id=new_id("restock"),
        kind="restock",
        actor=session.user_id,
        item_code=item_code,
        drawer=drawer,
        pocket=pocket,
        controlled=bool(item and item.controlled),
    )
    core.task = task
    persist(core, task)
    return task


def scan_pack(core: Core, scan: hal.Scan, quantity: int | None = None) -> Task:
    """The pack loaded: its GTIN must be the pocket's item, its expiry in the future."""
    core.signed_in()
    task = current(core, "prepared")
    if task.kind != "restock":
        core.refuse(RefusalCode.WRONG_STEP)
    pack = scan.meaning
    if scan.kind is not hal.ScanKind.DRUG_PACK or not isinstance(pack, hal.DrugPack):
        core.refuse(RefusalCode.BAD_BARCODE)
    if not gtin_valid(pack.gtin) or not pack.lot:
        core.refuse(RefusalCode.BAD_BARCODE)
    if repo.item_of_gtin(core.store.conn, pack.gtin) != task.item_code:
        core.refuse(RefusalCode.WRONG_PACK)
    if pack.expiry <= core.now().date():
        core.refuse(RefusalCode.EXPIRED_PACK, expiry=pack.expiry.isoformat())
    if quantity is not None and quantity <= 0:
        core.refuse(RefusalCode.BAD_QUANTITY)
    task.lot, task.expiry, task.quantity = pack.lot, pack.expiry.isoformat(), quantity or 0
    # Without a declared quantity the weight counts what was loaded.
    task.extra.update({"gtin": pack.gtin, "serial": pack.serial, "declared": quantity is not None})
    step(core, task, "prepare_done")
    return task


def start_count(core: Core, drawer: int, pocket: int) -> Task:
    """A blind inventory count of one pocket: the recorded quantity is never shown."""
    session = authorised(core, Action.COUNT)
    try:
        item_code, _qty, is_bin = repo.pocket_row(core.store.conn, drawer, pocket)
    except KeyError:
        core.refuse(RefusalCode.NO_POCKET)
    if is_bin:
        core.refuse(RefusalCode.NO_POCKET)
    task = Task(
        id=new_id("count"),
        kind="count",
        actor=session.user_id,
        item_code=item_code,
        drawer=drawer,
        pocket=pocket,
    )
    return begin(core, task)


def current(core: Core, *states: str) -> Task:
    """The task in progress, if it is in one of these states."""
    task = core.task
    if task is None:
        core.refuse(RefusalCode.NO_TASK)
    if states and task.state not in states:
        core.refuse(RefusalCode.WRONG_STEP, step=task.state)
    return task


def today(core: Core) -> dt.date:
    """The store's calendar day."""
    return core.now().date()
