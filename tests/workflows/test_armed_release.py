"""A task saved ready with its drawer's baseline is released without a commit before the wire."""

from __future__ import annotations

import json
import sqlite3

import pytest

from cabinet.domain.refusals import RefusalCode, Refused
from cabinet.workflows.machines import Task
from tests.workflows.world import World, check_invariants


@pytest.fixture(autouse=True)
async def nurse_at_patient(ward: World) -> None:
    """Every test here starts with nurse 1 signed in at patient IPP001 (the ward on fakes)."""
    await ward.sign_in("nurse1")
    await ward.cab.select_patient("IPP001")


def on_disk(world: World, task_id: str) -> tuple[str, dict[str, int]] | None:
    """The task's state and baseline as committed (a second connection sees only commits)."""
    conn = sqlite3.connect(f"file:{world.db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT state, data FROM workflow_state WHERE id = ?", (task_id,))
        found = row.fetchone()
    finally:
        conn.close()
    return None if found is None else (str(found[0]), json.loads(found[1])["baseline"])


def watch_release(world: World) -> list[tuple[str, dict[str, int]] | None]:
    """What was on disk at the moment the release reached the board."""
    seen: list[tuple[str, dict[str, int]] | None] = []

    def hook(point: str, task: Task) -> None:
        """Read the committed state at the after_release point."""
        if point == "after_release":
            seen.append(on_disk(world, task.id))

    world.cab.core.checkpoints.append(hook)
    return seen


async def test_the_baseline_is_on_disk_from_the_ready_step(ward: World) -> None:
    ticket = await ward.cab.start_dispense("O-PARA")
    state, baseline = on_disk(ward, ticket.task_id) or ("", {})
    assert state == "ready"
    assert baseline == {"0": 1000 + 20 * 250, "1": 1000 + 10 * 400, "2": 1000 + 10 * 300,
                        "3": 1000 + 10 * 500}  # fmt: skip


async def test_an_unchanged_drawer_is_released_on_the_saved_baseline(ward: World) -> None:
    seen = watch_release(ward)
    ticket = await ward.cab.start_dispense("O-PARA")
    saved = on_disk(ward, ticket.task_id)
    await ward.cab.confirm()
    # When the lock moved, the disk held the ready step and its baseline: nothing newer.
    assert seen == [saved] and saved is not None and saved[0] == "ready"
    # Then it is saved as released, with the same baseline.
    assert on_disk(ward, ticket.task_id) == ("released", saved[1])
    await ward.open_take_close(0, takes={0: 2})
    assert ward.stock(0, 0) == 18
    check_invariants(ward.store.conn)


async def test_a_stale_ready_step_commits_the_baseline_before_the_release(ward: World) -> None:
    seen = watch_release(ward)
    await ward.cab.start_dispense("O-PARA")
    ward.clock.advance(ward.settings.armed_baseline_s + 1)
    await ward.advance(0.5)
    await ward.cab.confirm()
    assert len(seen) == 1 and seen[0] is not None and seen[0][0] == "released"
    assert ward.metal.board.releases != []
    await ward.open_take_close(0, takes={0: 2})
    assert ward.stock(0, 0) == 18


async def test_a_drawer_that_was_not_settled_at_ready_commits_first(ward: World) -> None:
    seen = watch_release(ward)
    ward.metal.unstable_cell(0, 3)  # a cell still moving when the task is prepared
    await ward.advance(1.0)
    assert ward.cab.core.settled_view(0) is None
    ticket = await ward.cab.start_dispense("O-PARA")
    assert on_disk(ward, ticket.task_id) == ("ready", {})
    ward.metal.clear()
    await ward.advance(1.0)
    await ward.cab.confirm()
    assert len(seen) == 1 and seen[0] is not None and seen[0][0] == "released"
    assert seen[0][1] != {}


async def test_a_failing_disk_found_by_that_commit_keeps_the_drawer_locked(ward: World) -> None:
    await ward.cab.start_dispense("O-PARA")
    ward.clock.advance(ward.settings.armed_baseline_s + 1)  # the nurse was called away
    await ward.advance(0.5)  # fresh polls after the jump
    ward.store.conn.execute("PRAGMA query_only = ON")  # the disk failed meanwhile, silently
    try:
        with pytest.raises(Refused) as caught:
            await ward.cab.confirm()
        assert caught.value.code is RefusalCode.STORAGE_FAILED
    finally:
        ward.store.conn.execute("PRAGMA query_only = OFF")
    assert ward.metal.board.releases == []
    assert ward.cab.ticket() is not None and ward.cab.ticket().step == "ready"
