"""Building what the screens show: sessions, patients, orders, tickets, alarms, status."""

from __future__ import annotations

import datetime as dt

from cabinet.domain import dosing
from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.domain.search import fold
from cabinet.domain.stock import pick_pocket
from cabinet.workflows import repo, session
from cabinet.workflows.core import Core
from cabinet.workflows.machines import Task
from cabinet.workflows.views import (
    AlarmView,
    CabinetStatus,
    DiscrepancyView,
    DispenseTicket,
    OrderView,
    PatientRow,
    PendingBadge,
    SessionView,
)


async def badge(core: Core, code: str) -> PendingBadge:
    """Recognise a badge; the PIN comes next."""
    if core.session is not None:
        core.refuse(RefusalCode.TASK_IN_PROGRESS)
    user = await session.find_by_badge(core, code)
    if user is None:
        core.refuse(RefusalCode.UNKNOWN_BADGE)
    core.hold_badge(user.id)
    return PendingBadge(user_id=user.id, name=user.name)


def session_view(core: Core) -> SessionView:
    """The signed-in session as the screen shows it (looking is not activity)."""
    s = core.session
    if s is None:
        core.refuse(RefusalCode.NOT_SIGNED_IN)
    left = core.settings.inactivity_s - (core.clock.monotonic() - s.last_activity)
    return SessionView(
        user_id=s.user_id,
        name=s.name,
        roles=tuple(sorted(r.value for r in s.roles)),
        patient_id=s.patient_id,
        expires_in_s=max(0.0, left),
    )


def _row(core: Core, p: repo.Patient) -> PatientRow:
    """One patient's line with due and overdue doses."""
    conn = core.store.conn
    now = core.now()
    due = overdue = 0
    for rule in repo.orders_of(conn, p.id):
        if rule.status != "active" or not rule.verified_by:
            continue
        d, o = dosing.due_counts(rule, now, repo.given(conn, rule, now))
        due, overdue = due + d, overdue + o
    return PatientRow(
        patient_id=p.id,
        name=p.name,
        room=p.room,
        bed=p.bed,
        allergies=p.allergies,
        due=due,
        overdue=overdue,
    )


def patient_list(core: Core) -> list[PatientRow]:
    """Every patient of the unit."""
    return [_row(core, p) for p in repo.patients(core.store.conn)]


def select_patient(core: Core, patient_id: str) -> PatientRow:
    """One patient at a time: switching is refused while a task runs."""
    s = core.signed_in()
    if core.task is not None:
        core.refuse(RefusalCode.PATIENT_ALREADY_SELECTED)
    p = repo.patient(core.store.conn, patient_id)
    if p is None:
        core.refuse(RefusalCode.UNKNOWN_PATIENT)
    s.patient_id = p.id
    return _row(core, p)


def clear_patient(core: Core) -> None:
    """Deselect the patient between tasks."""
    s = core.signed_in()
    if core.task is not None:
        core.refuse(RefusalCode.TASK_IN_PROGRESS)
    s.patient_id = None


def orders_for(core: Core, patient_id: str | None) -> list[OrderView]:
    """The patient's orders, each dispensable now or with its refusal."""
    s = core.signed_in()
    pid = patient_id or s.patient_id
    if pid is None:
        core.refuse(RefusalCode.NO_PATIENT)
    conn = core.store.conn
    p = repo.patient(conn, pid)
    if p is None:
        core.refuse(RefusalCode.UNKNOWN_PATIENT)
    now = core.now()
    views: list[OrderView] = []
    for rule in repo.orders_of(conn, pid):
        item = repo.item(conn, rule.item_code)
        if item is None:
            continue
        history = repo.given(conn, rule, now)
        refusal: Refused | None = None
        try:
            dosing.check_dispensable(rule, now, history)
            pick_pocket(repo.pockets_of(conn, rule.item_code), rule.dose, now.date())
        except Refused as exc:
            refusal = exc
        upcoming = dosing.next_allowed(rule, now, history) if rule.status == "active" else None
        due: list[dt.datetime] = []
        overdue: list[dt.datetime] = []
        if rule.verified_by:  # as in the patient list: an unverified order is not yet due
            due, overdue = dosing.dose_status(rule, now, history)
        views.append(
            OrderView(
                order_id=rule.order_id,
                item_code=item.code,
                item_name=item.name,
                strength=item.strength,
                form=item.form,
                dose=rule.dose,
                kind=rule.kind,
                controlled=item.controlled,
                high_alert=item.high_alert,
                allergies=p.allergies,
                warnings=_warnings(item, p.allergies),
                next_allowed_at=upcoming.isoformat() if upcoming else None,
                dispensable=refusal is None,
                refusal=refusal.code if refusal else None,
                refusal_params=dict(refusal.params) if refusal else {},
                due_at=due[0].isoformat() if due else None,
                overdue_at=tuple(t.isoformat() for t in overdue),
            )
        )
    # What the nurse must act on first comes first: missed doses, then those due now.
    views.sort(key=lambda v: (not v.overdue_at, v.due_at is None))
    return views


def _warnings(item: repo.Item, allergies: tuple[str, ...]) -> tuple[str, ...]:
    """What the nurse must see before taking: allergy match, high-alert, look-alike, controlled."""
    found: list[str] = []
    name = fold(item.name)
    for allergy in allergies:
        if fold(allergy) and fold(allergy) in name:
            found.append(f"allergy:{allergy}")
    if item.high_alert:
        found.append("high_alert")
    if item.controlled:
        found.append("controlled")
    if item.lookalike_group:
        found.append(f"lookalike:{item.lookalike_group}")
    return tuple(found)


def ticket(core: Core, task: Task) -> DispenseTicket:
    """The task as the screen shows it (never the recorded count of a blind count)."""
    item = repo.item(core.store.conn, task.item_code) if task.item_code else None
    return DispenseTicket(
        task_id=task.id,
        kind=task.kind,
        step=task.state,
        item_code=task.item_code,
        item_name=item.name if item else None,
        quantity=task.quantity,
        drawer=task.drawer,
        pocket=task.pocket,
        controlled=task.controlled,
        needs_blind_count=task.state == "counting",
        needs_witness=task.kind == "waste" and task.controlled and task.witness is None,
        patient_id=task.patient_id,
        order_id=task.order_id,
    )


def discrepancies(core: Core, *, open_only: bool) -> list[DiscrepancyView]:
    """Discrepancies for the pharmacist."""
    rows = core.store.conn.execute(
        "SELECT d.id, d.opened_at, d.opened_by, d.drawer, d.pocket, d.item_code, d.expected, "
        "d.counted, d.cause, d.status, d.reason, COALESCE(i.controlled, 0) FROM discrepancies d "
        "LEFT JOIN items i ON i.code = d.item_code "
        + ("WHERE d.status = 'open' " if open_only else "")
        + "ORDER BY d.id"
    ).fetchall()
    return [
        DiscrepancyView(
            discrepancy_id=r[0],
            opened_at=r[1],
            opened_by=r[2],
            drawer=r[3],
            pocket=r[4],
            item_code=r[5],
            expected=r[6],
            counted=r[7],
            cause=r[8],
            status=r[9],
            reason=r[10],
            controlled=bool(r[11]),
        )
        for r in rows
    ]


def alarms(core: Core, *, active_only: bool) -> list[AlarmView]:
    """Alarms as recorded."""
    rows = core.store.conn.execute(
        "SELECT id, raised_at, kind, severity, message, cleared_at FROM alarms "
        + ("WHERE cleared_at IS NULL " if active_only else "")
        + "ORDER BY id"
    ).fetchall()
    return [
        AlarmView(
            alarm_id=r[0], raised_at=r[1], kind=r[2], severity=r[3], message=r[4], cleared_at=r[5]
        )
        for r in rows
    ]


def status(core: Core) -> CabinetStatus:
    """The cabinet at a glance."""
    snap = core.hardware.snapshot()
    conn = core.store.conn
    open_alarms = int(
        conn.execute("SELECT COUNT(*) FROM alarms WHERE cleared_at IS NULL").fetchone()[0]
    )
    open_disc = int(
        conn.execute("SELECT COUNT(*) FROM discrepancies WHERE status = 'open'").fetchone()[0]
    )
    degraded = core.degraded or (snap.locked_down or "")
    hardware_ok = snap.healthy and not core.hardware_down
    return CabinetStatus(
        ready=not degraded and hardware_ok,
        degraded=bool(degraded),
        degraded_reason=degraded,
        hardware_ok=hardware_ok,
        open_alarms=open_alarms,
        open_discrepancies=open_disc,
        task=ticket(core, core.task) if core.task else None,
        signed_in=core.session.user_id if core.session else None,
    )
