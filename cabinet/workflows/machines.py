"""The task state machines (python-statemachine) and their persisted model in workflow_state."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, fields
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
        # Every field holds JSON values already: a shallow dict serialises the same as
        # asdict(), without its deep copy (a tenth of a millisecond before each release).
        data = {name: getattr(self, name) for name in _TASK_FIELDS}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

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


_TASK_FIELDS = tuple(f.name for f in fields(Task))


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


class WrongStep(RuntimeError):
    """An event the task's machine does not allow in its current state."""

    # A programming error: the workflows check the step before they move a task.

    def __init__(self, task: Task, event: str) -> None:
        """Name the event, the state and the task."""
        super().__init__(f"can't {event} when in {task.state} ({task.kind} {task.id})")


def _callback_names(machine: type[StateMachine]) -> list[object]:
    """Every callback spec the machine's states and transitions declare, by convention or not."""
    specs: list[object] = []
    for state in machine.states:
        specs += [*state.enter, *state.exit]
        for transition in state.transitions:
            for group in ("cond", "validators", "before", "on", "after"):
                specs += list(getattr(transition, group))
    return specs


def compile_table(machine: type[StateMachine]) -> dict[tuple[str, str], str]:
    """(state, event) -> next state, read from the machine's own definition.

    The engine's processing loop costs about as much as the durable commit on the path from a
    nurse's confirmation to the lock release, for machines that only move a state field: these
    have no guard and no action. Should one ever gain one (declared, or named by convention on
    the machine or on Task), this refuses to compile it, and `machine_for` is the way again.
    """
    for spec in _callback_names(machine):
        name = str(getattr(spec, "func", ""))
        explicit = not getattr(spec, "is_convention", False)
        if explicit or hasattr(machine, name) or hasattr(Task, name):
            raise TypeError(f"{machine.__name__} has callback {name!r}: it cannot be compiled")
    table: dict[tuple[str, str], str] = {}
    for state in machine.states:
        for transition in state.transitions:
            for event in transition.events:
                # The first declared transition for an event wins, as in the engine.
                table.setdefault((state.id, str(event.id)), transition.target.id)
    return table


_TABLES = {
    "drawer": compile_table(DrawerTaskMachine),
    "waste": compile_table(WasteMachine),
}


def advance(task: Task, event: str) -> None:
    """Move the task's state by one event of its machine, or raise WrongStep (no change)."""
    table = _TABLES["waste" if task.kind == "waste" else "drawer"]
    target = table.get((task.state, event))
    if target is None:
        raise WrongStep(task, event)
    task.state = target


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
