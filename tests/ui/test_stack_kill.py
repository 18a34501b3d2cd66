"""SIGKILL of the whole `cabinetd` in the middle of a dispense, then a restart: one event."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.stack import Stack
from tests.workflows.world import check_invariants

MARTIN, ORDER = "8001234567", "ORD-0003"  # PRN paracetamol, as make demo seeds it


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Central, hardware simulator and daemon as separate processes; all stopped at the end."""
    s = Stack(tmp_path)
    try:
        s.start()
        yield s
    finally:
        s.stop()


def read(stack: Stack, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of the daemon's store, read from outside (committed data only)."""
    conn = sqlite3.connect(f"file:{stack.demo.state / 'cabinet' / 'cabinet.db'}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def released_dispense(stack: Stack) -> tuple[httpx.Client, int, int]:
    """Marie DUBOIS signs in, prepares the PRN dose and unlocks: (client, drawer, pocket)."""
    client = httpx.Client(base_url=stack.url, timeout=10)
    deadline = time.monotonic() + 30
    while True:  # the users come down from the central within seconds of the start
        signed = client.post("/api/signin", json={"pin": "1234", "user_id": "IDE-001"})
        if signed.status_code == 200:
            break
        assert signed.json()["detail"]["code"] == "unknown_user", signed.text
        assert time.monotonic() < deadline, "the demo users never reached the cabinet"
        time.sleep(0.3)
    while True:  # the orders come down from the central within seconds
        detail = client.post(f"/api/patients/{MARTIN}/select").json()
        if any(o["order_id"] == ORDER and o["dispensable"] for o in detail.get("orders", [])):
            break
        assert time.monotonic() < deadline, "the demo orders never reached the cabinet"
        time.sleep(0.3)
    task = client.post("/api/dispense", json={"patient_id": MARTIN, "order_id": ORDER}).json()
    confirmed = client.post("/api/task/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["step"] == "released"
    return client, int(task["drawer"]), int(task["pocket"])


def kill_and_restart(stack: Stack) -> None:
    """SIGKILL the daemon (no shutdown of any kind), then start it again on the same state."""
    part = stack.part("cabinet daemon")
    assert part.process is not None
    part.process.send_signal(signal.SIGKILL)
    assert part.process.wait(timeout=10) == -signal.SIGKILL
    stack.demo.parts.remove(part)
    (stack.demo.state / "cabinet" / "ui-address").unlink()
    url = stack.demo.daemon(stack.demo.state / "cabinet.toml")
    assert url, "\n".join(stack.demo.missing)


def settled_after_restart(stack: Stack, within_s: float = 30) -> None:
    """Until the restarted daemon has closed the task it found (no open task left)."""
    deadline = time.monotonic() + within_s
    while read(stack, "SELECT id FROM workflow_state"):
        assert time.monotonic() < deadline, "the interrupted task was never closed"
        time.sleep(0.2)


def stock(stack: Stack, drawer: int, pocket: int) -> int:
    """The recorded quantity of a pocket."""
    return int(read(stack, "SELECT quantity FROM pockets WHERE drawer = ? AND pocket = ?",
                    drawer, pocket)[0][0])  # fmt: skip


def lock_released(stack: Stack, drawer: int) -> bool:
    """Whether the simulated board holds the drawer's lock energised now."""
    found = next(d for d in stack.sim("status")["drawers"] if d["drawer"] == drawer)
    return bool(found["released"])


def task_events(stack: Stack) -> list[str]:
    """Ledger events that end the dispense of ORDER."""
    rows = read(stack, "SELECT kind FROM ledger WHERE order_id = ? ORDER BY seq", ORDER)
    return [r[0] for r in rows if r[0] in ("dispense", "interrupted", "discrepancy", "cancelled")]


def test_killed_while_the_drawer_is_open_the_take_is_recorded_once(stack: Stack) -> None:
    _client, drawer, pocket = released_dispense(stack)
    before = stock(stack, drawer, pocket)
    stack.sim(f"open {drawer}")
    deadline = time.monotonic() + 10
    while read(stack, "SELECT state FROM workflow_state") != [("open",)]:
        assert time.monotonic() < deadline, "the daemon never saw the drawer open"
        time.sleep(0.05)
    stack.sim(f"take {drawer} {pocket} 1")
    kill_and_restart(stack)
    stack.sim(f"close {drawer}")  # the nurse shuts it while the daemon is coming back
    settled_after_restart(stack)
    assert task_events(stack) == ["dispense"]
    assert stock(stack, drawer, pocket) == before - 1
    assert lock_released(stack, drawer) is False
    conn = sqlite3.connect(stack.demo.state / "cabinet" / "cabinet.db")
    try:
        check_invariants(conn)
    finally:
        conn.close()


def test_killed_right_after_the_release_nothing_taken_is_one_interrupted_event(
    stack: Stack,
) -> None:
    _client, drawer, pocket = released_dispense(stack)
    before = stock(stack, drawer, pocket)
    kill_and_restart(stack)
    settled_after_restart(stack)
    assert task_events(stack) == ["interrupted"]
    assert stock(stack, drawer, pocket) == before
    assert lock_released(stack, drawer) is False
