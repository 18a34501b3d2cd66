"""The task state machines (python-statemachine) and their persisted model in workflow_state."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from statemachine import State, StateMachine

# States in which a drawer may be unlocked or open: a restart must reconcile these by weight.
HARDWARE_STATES = frozenset({"released", "open", "settling", "cancelling", "awaiting_entry"})
FINAL_STATES = frozenset({"committed", "discrepancy", "cancelled", "interrupted"})


@dataclass
class Task:
    """Everything a running task knows; saved as JSON in workflow_state after each step."""

    id: str
    kind: str  # dispense, override, restock, return, count, waste
    actor: str
    state: str = "prepared"
    patient_id: str | None = None
    order_id: str | None = None
    item_code: str | None = None
    quantity: int = 0  # units to move (positive)
    drawer: int | None = None
    pocket: int | None = None
    lot: str | None = None
    expiry: str | None = None
    controlled: bool = False
    blind_count: int | None = None
    counted: int | None = None  # inventory count entered by the user
    witness: str | None = None
    reason_code: str | None = None
    prescriber: str | None = None
    baseline: dict[str, int] = field(default_factory=dict)  # pocket -> settled cg before release
    drawer_open: bool = False
    cancel_requested: bool = False
    released_at: float = 0.0  # monotonic time of the release
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The persisted form."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Task:
        """Rebuild a task from its persisted form."""
        data = json.loads(text)
        return cls(**data)

    def expected_moves(self) -> dict[int, int]:
        """Signed units each pocket of the drawer should change by when this task ends well."""
        if self.pocket is None or self.kind in ("count", "waste") or self.cancel_requested:
            return {}
        sign = 1 if self.kind in ("restock", "return") else -1
        return {self.pocket: sign * self.quantity}


class DrawerTaskMachine(StateMachine):
    """A task that opens one drawer: dispense, override, restock, return and count."""

    prepared = State(initial=True)
    counting = State()  # controlled item: blind count before the release
    ready = State()
    released = State()
    open = State()
    settling = State()
    cancelling = State()  # cancelled after the release: waiting to count back by weight
    awaiting_entry = State()  # inventory count: drawer closed, count not yet entered
    committed = State(final=True)
    discrepancy = State(final=True)
    cancelled = State(final=True)
    interrupted = State(final=True)

    need_count = prepared.to(counting)
    prepare_done = prepared.to(ready)
    counted = counting.to(ready)
    release = ready.to(released)
    opened = released.to(open) | cancelling.to(cancelling)
    closed = open.to(settling) | cancelling.to(cancelling)
    await_entry = settling.to(awaiting_entry)
    commit = settling.to(committed) | awaiting_entry.to(committed) | released.to(committed)
    mismatch = (
        settling.to(discrepancy)
        | awaiting_entry.to(discrepancy)
        | cancelling.to(discrepancy)
        | released.to(discrepancy)
    )
    cancel = (
        prepared.to(cancelled)
        | counting.to(cancelled)
        | ready.to(cancelled)
        | released.to(cancelling)
        | open.to(cancelling)
        | settling.to(cancelling)
        | awaiting_entry.to(cancelling)
    )
    nothing_taken = cancelling.to(cancelled) | released.to(cancelled)
    interrupt = (
        prepared.to(interrupted)
        | counting.to(interrupted)
        | ready.to(interrupted)
        | released.to(interrupted)
        | open.to(interrupted)
        | settling.to(interrupted)
        | cancelling.to(interrupted)
        | awaiting_entry.to(interrupted)
    )


class WasteMachine(StateMachine):
    """A waste: prepared, witnessed when the item is controlled, then committed."""

    prepared = State(initial=True)
    witnessed = State()
    committed = State(final=True)
    cancelled = State(final=True)
    interrupted = State(final=True)

    witness_signed = prepared.to(witnessed)
    commit = prepared.to(committed) | witnessed.to(committed)
    cancel = prepared.to(cancelled) | witnessed.to(cancelled)
    interrupt = prepared.to(interrupted) | witnessed.to(interrupted)


def machine_for(task: Task) -> StateMachine:
    """The machine bound to this task; it resumes at the task's persisted state."""
    if task.kind == "waste":
        return WasteMachine(model=task, state_field="state")
    return DrawerTaskMachine(model=task, state_field="state")


def save(conn: sqlite3.Connection, task: Task, at: str) -> None:
    """Write the task's current state inside the caller's transaction; final tasks are removed."""
    if task.state in FINAL_STATES:
        conn.execute("DELETE FROM workflow_state WHERE id = ?", (task.id,))
        return
    conn.execute(
        "INSERT INTO workflow_state (id, machine, state, data, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET state = excluded.state, data = excluded.data, "
        "updated_at = excluded.updated_at",
        (task.id, f"task:{task.kind}", task.state, task.to_json(), at),
    )


def load_open(conn: sqlite3.Connection) -> list[Task]:
    """Every task a previous run left unfinished."""
    rows = conn.execute(
        "SELECT data FROM workflow_state WHERE machine LIKE 'task:%' ORDER BY updated_at, id"
    ).fetchall()
    return [Task.from_json(str(row[0])) for row in rows]
