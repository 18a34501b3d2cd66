"""Discrepancies (opened when weights or counts disagree) and alarms, recorded with their event."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from cabinet.domain.refusals import RefusalCode
from cabinet.domain.roles import Action, require
from cabinet.domain.weighing import PocketChange
from cabinet.errors import MovementRefused
from cabinet.store import LedgerEvent, Movement, MovementKind, NewEvent
from cabinet.workflows import machines
from cabinet.workflows.core import Core
from cabinet.workflows.events import AlarmRaised, DiscrepancyOpened, DiscrepancyResolved
from cabinet.workflows.machines import Task

# Causes whose `counted` is a signed stock movement the record never applied: the correction
# is the movement itself. Count causes compare a stock with the record instead.
WEIGHT_CAUSES = frozenset(
    {
        "too_many",
        "too_few",
        "wrong_pocket",
        "unexpected_change",
        "cancel_taken",
        "unauthorised_change",
    }
)


def correction_for(cause: str, expected: int, counted: int, readable: bool) -> int:
    """Signed units that bring the stock of record to what is really in the pocket."""
    if not readable:
        return 0  # a weight that cannot be counted corrects nothing: a recount will
    if cause in WEIGHT_CAUSES:
        return counted
    if cause == "count_mismatch":
        return counted - expected
    return 0  # a blind count only flags; the pocket is recounted if needed


def open_discrepancies(
    core: Core,
    *,
    task: Task | None,
    drawer: int,
    changes: Sequence[tuple[PocketChange, str]],
    extra: dict[str, object] | None = None,
) -> list[int]:
    """Record one discrepancy event and one row per pocket; the task state goes with them."""
    return_bin = _return_bin_pockets(core)
    rows = []
    taken = 0
    for change, cause in changes:
        correction = correction_for(cause, change.expected, change.counted, change.readable)
        if (drawer, change.pocket) in return_bin:
            correction = 0  # the return bin is emptied by the pharmacy, never corrected here
        if task is not None and change.item_code == task.item_code and change.counted < 0:
            taken += -change.counted
        rows.append(
            {
                "pocket": change.pocket,
                "item": change.item_code,
                "expected": change.expected,
                "counted": change.counted,
                "cause": cause,
                "correction": correction,
                "readable": change.readable,
                "delta_cg": change.delta_cg,
            }
        )
    payload: dict[str, object] = {"changes": rows, "taken": taken, **(extra or {})}
    if task is not None:
        payload.update({"task": task.id, "task_kind": task.kind})
        if task.lot:
            payload.update({"lot": task.lot, "expiry": task.expiry})
    ids: list[int] = []
    at = core.now_iso()

    def write(conn: sqlite3.Connection, event: LedgerEvent) -> None:
        """Write the rows that commit with the event."""
        for row in rows:
            cursor = conn.execute(
                "INSERT INTO discrepancies (ledger_seq, opened_at, opened_by, drawer, pocket, "
                "item_code, expected, counted, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.seq,
                    at,
                    task.actor if task else None,
                    drawer,
                    row["pocket"],
                    row["item"],
                    row["expected"],
                    row["counted"],
                    row["cause"],
                ),
            )
            ids.append(int(cursor.lastrowid or 0))
        if task is not None:
            machines.save(conn, task, at)

    first = changes[0][0] if changes else None
    core.store.record(
        NewEvent(
            kind="discrepancy",
            actor=task.actor if task else None,
            patient_id=task.patient_id if task else None,
            order_id=task.order_id if task else None,
            item_code=(task.item_code if task else None) or (first.item_code if first else None),
            drawer=drawer,
            pocket=task.pocket
            if task and task.pocket is not None
            else (first.pocket if first else None),
            payload=payload,
        ),
        hook=write,
    )
    for (change, cause), disc_id in zip(changes, ids, strict=True):
        core.hub.publish(
            DiscrepancyOpened(
                discrepancy_id=disc_id,
                task_id=task.id if task else None,
                cause=cause,
                drawer=drawer,
                pocket=change.pocket,
                expected=change.expected,
                counted=change.counted,
            )
        )
    return ids


def _return_bin_pockets(core: Core) -> set[tuple[int, int]]:
    """Every (drawer, pocket) that is a return bin."""
    rows = core.store.conn.execute("SELECT drawer, pocket FROM pockets WHERE return_bin = 1")
    return {(int(d), int(p)) for d, p in rows.fetchall()}


def resolve(core: Core, discrepancy_id: int, reason: str) -> int:
    """A pharmacist resolves a discrepancy with a reason (and a witness for controlled items)."""
    session = core.signed_in()
    try:
        require(session.roles, Action.RESOLVE)
    except Exception:
        core.refuse(RefusalCode.NOT_AUTHORISED)
    conn = core.store.conn
    row = conn.execute(
        "SELECT d.status, d.drawer, d.pocket, d.item_code, d.expected, d.counted, d.cause, "
        "l.payload, COALESCE(i.controlled, 0) FROM discrepancies d "
        "JOIN ledger l ON l.seq = d.ledger_seq LEFT JOIN items i ON i.code = d.item_code "
        "WHERE d.id = ?",
        (discrepancy_id,),
    ).fetchone()
    if row is None:
        core.refuse(RefusalCode.UNKNOWN_DISCREPANCY)
    status, drawer, pocket, item_code, expected, counted, cause, payload_text, controlled = row
    if status != "open":
        core.refuse(RefusalCode.ALREADY_RESOLVED)
    if not reason.strip():
        core.refuse(RefusalCode.BAD_REASON)
    witness = session.witness
    if controlled and witness is None:
        core.refuse(RefusalCode.WITNESS_REQUIRED)
    if witness is not None and witness == session.user_id:
        core.refuse(RefusalCode.WITNESS_SAME_AS_ACTOR)
    payload = json.loads(str(payload_text))
    correction = next(
        (int(c["correction"]) for c in payload.get("changes", []) if c["pocket"] == pocket), 0
    )
    at = core.now_iso()

    def write(conn: sqlite3.Connection, event: LedgerEvent) -> None:
        """Write the rows that commit with the event."""
        conn.execute(
            "UPDATE discrepancies SET status = 'resolved', reason = ?, resolved_by = ?, "
            "witness = ?, resolved_at = ?, resolved_seq = ? WHERE id = ?",
            (reason, session.user_id, witness, at, event.seq, discrepancy_id),
        )

    facts = {
        "discrepancy": discrepancy_id,
        "reason": reason,
        "cause": cause,
        "expected": expected,
        "counted": counted,
    }
    try:
        if correction:
            event = core.store.move(
                Movement(
                    kind=MovementKind.COUNT_CORRECTION,
                    drawer=int(drawer),
                    pocket=int(pocket),
                    delta=correction,
                    actor=session.user_id,
                    witness=witness,
                    item_code=item_code,
                    lot=payload.get("lot") if correction > 0 else None,
                    expiry=payload.get("expiry") if correction > 0 else None,
                    payload=facts,
                ),
                hook=write,
            )
        else:
            event = core.store.record(
                NewEvent(
                    kind="discrepancy_resolved",
                    actor=session.user_id,
                    witness=witness,
                    item_code=item_code,
                    drawer=int(drawer),
                    pocket=int(pocket),
                    payload=facts,
                ),
                hook=write,
            )
    except MovementRefused as exc:
        core.refuse(RefusalCode.BAD_QUANTITY, detail=str(exc))
    session.witness = None
    core.witness_badge = None
    core.hub.publish(DiscrepancyResolved(discrepancy_id=discrepancy_id, seq=event.seq))
    return event.seq


def record_alarm(core: Core, kind: str, severity: str, message: str, **facts: object) -> int:
    """Record an alarm in the ledger and the alarms table in one transaction; show it."""
    ids: list[int] = []
    at = core.now_iso()

    def write(conn: sqlite3.Connection, event: LedgerEvent) -> None:
        """Write the rows that commit with the event."""
        cursor = conn.execute(
            "INSERT INTO alarms (ledger_seq, raised_at, kind, severity, message) "
            "VALUES (?, ?, ?, ?, ?)",
            (event.seq, at, kind, severity, message),
        )
        ids.append(int(cursor.lastrowid or 0))

    core.store.record(
        NewEvent(
            kind="alarm", payload={"alarm": kind, "severity": severity, "message": message, **facts}
        ),
        hook=write,
    )
    core.hub.publish(AlarmRaised(alarm_id=ids[0], kind=kind, severity=severity, message=message))
    return ids[0]


def clear_alarm(core: Core, kind: str, subject: str) -> None:
    """Mark the open alarms of this kind and subject cleared, with a ledger event."""
    at = core.now_iso()

    def write(conn: sqlite3.Connection, _event: LedgerEvent) -> None:
        """Write the rows that commit with the event."""
        conn.execute(
            "UPDATE alarms SET cleared_at = ? WHERE kind = ? AND cleared_at IS NULL "
            "AND message LIKE ?",
            (at, kind, f"{subject}:%"),
        )

    core.store.record(
        NewEvent(kind="alarm_cleared", payload={"alarm": kind, "subject": subject}), hook=write
    )
