"""Confirm and cancel, and the timers: inactivity, unused releases, omissions, overrides."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3

from cabinet.domain import dosing
from cabinet.domain.refusals import RefusalCode
from cabinet.hardware.errors import HardwareUnavailable
from cabinet.store import LedgerEvent, NewEvent
from cabinet.store.movements import TxHook
from cabinet.workflows import drawer, endings, recovery, repo, screens, session
from cabinet.workflows.core import Core
from cabinet.workflows.drawer import settle_task
from cabinet.workflows.events import Cancelled, OmissionAlert
from cabinet.workflows.machines import HARDWARE_STATES, advance, save
from cabinet.workflows.views import DispenseTicket
from cabinet.workflows.waste import commit_waste

log = logging.getLogger("cabinet.workflows")

OMISSION_EVERY = dt.timedelta(seconds=30)
PRE_RELEASE = frozenset({"prepared", "counting", "ready", "witnessed"})


async def confirm(core: Core) -> DispenseTicket:
    """Release the drawer of the task in progress, or write a waste."""
    core.signed_in()
    task = core.task
    if task is None:
        core.refuse(RefusalCode.NO_TASK)
    if task.kind == "waste":
        screen = screens.ticket(core, task)
        commit_waste(core, task)
        return screen
    if task.state == "counting":
        core.refuse(RefusalCode.BLIND_COUNT_REQUIRED)
    if task.state != "ready":
        core.refuse(RefusalCode.WRONG_STEP, step=task.state)
    await drawer.release(core, task)
    return screens.ticket(core, task)


async def cancel(core: Core) -> DispenseTicket | None:
    """Cancel before the release (nothing happened) or after it (count back by weight)."""
    core.signed_in()
    task = core.task
    if task is None:
        return None
    if task.state in PRE_RELEASE:
        advance(task, "cancel")
        with core.store.transaction() as conn:
            save(conn, task, core.now_iso())
        core.hub.publish(Cancelled(task_id=task.id, kind=task.kind, seq=None))
        core.task = None
        if core.session is not None:
            core.session.witness = None
        core.witness_badge = None
        return screens.ticket(core, task)
    if task.state in HARDWARE_STATES:
        task.cancel_requested = True
        drawer.step(core, task, "cancel")
        if not task.drawer_open:
            await _count_back(core)
    settle_task(core)
    return screens.ticket(core, task)


async def _count_back(core: Core) -> None:
    """Weigh the (closed) drawer of the task now and end it."""
    task = core.task
    if task is None or task.drawer is None:
        return
    try:
        weights = await core.weigh(task.drawer)
    except HardwareUnavailable:
        weights = None
    await drawer.finish(core, task, weights)
    settle_task(core)


async def enter_count(core: Core, counted: int) -> DispenseTicket | None:
    """The blind count of an inventory task; judged now if the drawer has already settled."""
    core.signed_in()
    task = core.task
    if task is None or task.kind != "count":
        core.refuse(RefusalCode.NO_TASK)
    if counted < 0:
        core.refuse(RefusalCode.BAD_QUANTITY)
    if task.state not in ("released", "open", "settling", "awaiting_entry"):
        core.refuse(RefusalCode.WRONG_STEP, step=task.state)
    task.counted = counted
    drawer.persist(core, task)
    if task.state == "awaiting_entry":
        endings.count_or_mismatch(core, task)
    screen = screens.ticket(core, task)
    settle_task(core)
    return screen


def end_session(core: Core, reason: str) -> None:
    """Sign out; a task not yet released is cancelled, a released one carries on to its end."""
    task = core.task
    if task is not None and task.state in PRE_RELEASE:
        advance(task, "cancel")
        with core.store.transaction() as conn:
            save(conn, task, core.now_iso())
        core.hub.publish(Cancelled(task_id=task.id, kind=task.kind, seq=None))
        core.task = None
    session.sign_out(core, reason)


async def tick(core: Core) -> None:
    """Every timer of the workflows, on the injected clock."""
    mono = core.clock.monotonic()
    task = core.task
    if task is not None and task.extra.get("recovering"):
        # Left open by a previous run: its pulse times mean nothing here; judge it by weight
        # as soon as its drawer is shut and its scale answers.
        await recovery.judge(core)
        task = None
    if (
        task is not None
        and task.state == "released"
        and not task.drawer_open
        and (mono - task.released_at >= core.settings.release_expiry_s)
    ):
        # The lock pulse is long over and nobody opened: close the task by weighing.
        task.cancel_requested = True
        drawer.step(core, task, "cancel")
        await _count_back(core)
    task = core.task
    closed_at = float(task.extra.get("closed_at", 0.0)) if task else 0.0
    if task is not None and task.extra.get("recovering"):
        closed_at = 0.0
    if (
        task is not None
        and task.state in ("settling", "cancelling")
        and closed_at
        and (mono - closed_at >= core.settings.settle_timeout_s)
    ):
        await drawer.finish(core, task, None)
        settle_task(core)
    task = core.task
    if session.inactive(core) and task is not None and task.state == "awaiting_entry":
        # The drawer is shut and nothing moved; the count was never typed: nothing to record
        # but the abandoned count, so the next user is not locked out by it.
        drawer.step(core, task, "cancel")
        await endings.close_cancelled(core, task)
        settle_task(core)
    if session.inactive(core) and (core.task is None or core.task.state in PRE_RELEASE):
        end_session(core, "inactivity")
    check_omissions(core)
    link_overrides(core)


def start_watching(core: Core) -> None:
    """Omissions are watched from the cabinet's first start on (kept across restarts)."""
    with core.store.transaction() as tx:
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('omissions_checked_at', ?) "
            "ON CONFLICT (key) DO NOTHING",
            (core.now().isoformat(),),
        )


def check_omissions(core: Core) -> None:
    """Record each scheduled dose whose window ended without a dispense, once."""
    conn = core.store.conn
    now = core.now()
    row = conn.execute("SELECT value FROM settings WHERE key = 'omissions_checked_at'").fetchone()
    # A new cabinet watches from its first tick; after downtime the gap is checked too.
    since = dt.datetime.fromisoformat(str(row[0])) if row else now
    if row is not None and now - since < OMISSION_EVERY:
        return  # a window ends on the minute at most: no need to check (and fsync) every tick
    for rule in repo.active_orders(conn):
        for slot in dosing.missed_slots(rule, since, now, repo.given(conn, rule, now)):
            key = f"omission:{rule.order_id}:{slot.isoformat()}"
            if conn.execute("SELECT 1 FROM workflow_state WHERE id = ?", (key,)).fetchone():
                continue
            event = core.store.record(
                NewEvent(
                    kind="omission",
                    patient_id=rule.patient_id,
                    order_id=rule.order_id,
                    item_code=rule.item_code,
                    payload={"due_at": slot.isoformat()},
                ),
                hook=_remember(key, "omission", "alerted", core.now_iso()),
            )
            core.hub.publish(
                OmissionAlert(
                    patient_id=rule.patient_id,
                    order_id=rule.order_id,
                    due_at=slot.isoformat(),
                    seq=event.seq,
                )
            )
    with core.store.transaction() as tx:
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('omissions_checked_at', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (now.isoformat(),),
        )


def _remember(key: str, machine: str, state: str, at: str, data: str = "{}") -> TxHook:
    """A hook writing a small workflow_state row with the event."""

    def hook(conn: sqlite3.Connection, _event: LedgerEvent) -> None:
        """Upsert the small state row with the event."""
        conn.execute(
            "INSERT INTO workflow_state (id, machine, state, data, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
            "data = excluded.data, updated_at = excluded.updated_at",
            (key, machine, state, data, at),
        )

    return hook


def pending_overrides(core: Core) -> list[dict[str, object]]:
    """Overrides awaiting review (state 'pending' or 'linked')."""
    rows = core.store.conn.execute(
        "SELECT id, state, data FROM workflow_state WHERE machine = 'override_review' ORDER BY id"
    ).fetchall()
    return [{"id": r[0], "state": r[1], **json.loads(str(r[2]))} for r in rows]


def link_overrides(core: Core) -> None:
    """Link each override to the verified order of the same patient and item once it arrives."""
    for review in pending_overrides(core):
        if review.get("order_id"):
            continue
        row = core.store.conn.execute(
            "SELECT id FROM orders WHERE patient_id = ? AND item_code = ? AND status = 'active' "
            "AND verified_by IS NOT NULL ORDER BY start_at LIMIT 1",
            (review["patient_id"], review["item_code"]),
        ).fetchone()
        if row is None:
            continue
        data = {k: v for k, v in review.items() if k not in ("id", "state")}
        data["order_id"] = str(row[0])
        core.store.record(
            NewEvent(
                kind="override_linked",
                patient_id=str(review["patient_id"]),
                order_id=str(row[0]),
                item_code=str(review["item_code"]),
                payload={"override_seq": review["seq"]},
            ),
            hook=_remember(
                str(review["id"]),
                "override_review",
                "linked",
                core.now_iso(),
                json.dumps(data, sort_keys=True),
            ),
        )


def review_override(core: Core, seq: int, note: str) -> int:
    """The pharmacist has reviewed an override: record it and clear the flag."""
    key = f"override:{seq}"
    row = core.store.conn.execute(
        "SELECT data FROM workflow_state WHERE id = ? AND machine = 'override_review'", (key,)
    ).fetchone()
    if row is None:
        core.refuse(RefusalCode.UNKNOWN_ORDER)
    data = json.loads(str(row[0]))
    reviewer = core.signed_in().user_id

    def clear(conn: sqlite3.Connection, _event: LedgerEvent) -> None:
        """Remove the review flag with the event."""
        conn.execute("DELETE FROM workflow_state WHERE id = ?", (key,))

    event = core.store.record(
        NewEvent(
            kind="override_reviewed",
            actor=reviewer,
            patient_id=data.get("patient_id"),
            order_id=data.get("order_id"),
            item_code=data.get("item_code"),
            payload={"override_seq": seq, "note": note},
        ),
        hook=clear,
    )
    return event.seq
