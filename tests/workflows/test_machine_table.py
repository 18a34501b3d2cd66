"""The compiled transition tables agree with the python-statemachine engine, step for step."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from cabinet.workflows.machines import (
    DrawerTaskMachine,
    Task,
    WasteMachine,
    WrongStep,
    advance,
    compile_table,
    machine_for,
)


def _events(machine: type[StateMachine]) -> set[str]:
    """Every event name the machine declares."""
    return {str(e.id) for s in machine.states for t in s.transitions for e in t.events}


@pytest.mark.parametrize(
    ("machine", "kind"), [(DrawerTaskMachine, "dispense"), (WasteMachine, "waste")]
)
def test_every_state_and_event_moves_as_the_engine_does(
    machine: type[StateMachine], kind: str
) -> None:
    events = _events(machine) | {"no_such_event"}
    checked = 0
    for state in machine.states:
        for event in sorted(events):
            by_engine = Task(id="T-1", kind=kind, actor="IDE-001", state=state.id)
            by_table = Task(id="T-1", kind=kind, actor="IDE-001", state=state.id)
            try:
                machine_for(by_engine).send(event)
                engine: str | None = by_engine.state
            except TransitionNotAllowed:
                engine = None
            except AttributeError:
                engine = None  # an event this machine does not have at all
            try:
                advance(by_table, event)
                table: str | None = by_table.state
            except WrongStep:
                table = None
                assert by_table.state == state.id, "a refused step must change nothing"
            assert table == engine, (state.id, event)
            checked += 1
    assert checked == len(list(machine.states)) * len(events)


def test_a_machine_with_a_guard_is_not_compiled() -> None:
    class Guarded(StateMachine):
        idle = State(initial=True)
        done = State(final=True)
        go = idle.to(done, cond="allowed")

        def allowed(self) -> bool:
            return False

    with pytest.raises(TypeError, match="allowed"):
        compile_table(Guarded)


def test_a_machine_with_an_action_by_convention_is_not_compiled() -> None:
    class Acting(StateMachine):
        idle = State(initial=True)
        done = State(final=True)
        go = idle.to(done)

        def on_enter_done(self) -> None:
            pass

    with pytest.raises(TypeError, match="on_enter_done"):
        compile_table(Acting)


def test_a_refused_step_names_the_task_and_changes_nothing() -> None:
    task = Task(id="T-9", kind="dispense", actor="IDE-001", state="committed")
    with pytest.raises(WrongStep, match="can't release when in committed"):
        advance(task, "release")
    assert task.state == "committed"


def test_the_persisted_form_is_every_field_and_reads_back() -> None:
    task = Task(
        id="T-3", kind="restock", actor="TECH-01", state="released", drawer=2, pocket=5,
        baseline={"0": 1200, "5": 0}, extra={"declared": False, "closed_at": 12.5},
    )  # fmt: skip
    text = task.to_json()
    assert json.loads(text) == asdict(task)
    assert Task.from_json(text) == task
