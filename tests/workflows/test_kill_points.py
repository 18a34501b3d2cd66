"""SIGKILL at each named point of a dispense, then restart: consistent, locked, one event."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cabinet.clock import DrivenClock
from cabinet.store import Store
from sim.hardware.client import RunningSimulator
from tests.workflows.world import check_invariants

ROOT = Path(__file__).resolve().parents[2]

# point -> (the one event the interrupted dispense leaves, recorded paracetamol stock after)
OUTCOMES = {
    "after_release": ("interrupted", 20),
    "after_take": ("dispense", 18),
    "after_close": ("dispense", 18),
    "weights_read": ("dispense", 18),
    "before_commit": ("dispense", 18),
    "after_commit": ("dispense", 18),
}


def driver(
    state: Path, phase: str, kill_at: str = "", sim: RunningSimulator | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the driver script in its own process (on the simulator when one is given)."""
    env = {**os.environ, "CABINET_KILL_AT": kill_at, "PYTHONPATH": str(ROOT)}
    if sim is not None:
        env["CABINET_SIM_ENDPOINTS"] = json.dumps(sim.endpoints)
    return subprocess.run(
        [sys.executable, "-m", "tests.workflows.kill_driver", str(state), phase],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("metal", ["fake", "sim"])
@pytest.mark.parametrize("point", sorted(OUTCOMES))
def test_sigkill_at_each_point_then_restart(
    tmp_path: Path, point: str, metal: str, request: pytest.FixtureRequest
) -> None:
    sim: RunningSimulator | None = None
    if metal == "sim":
        sim = request.getfixturevalue("ward_sim")
        sim.ok("reset")
    died = driver(tmp_path, "run", point, sim)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    back = driver(tmp_path, "restart", sim=sim)
    assert back.returncode == 0, back.stderr[-2000:]
    report = json.loads(back.stdout.strip().splitlines()[-1])
    event, stock = OUTCOMES[point]
    assert report["task_events"] == [event], report
    assert report["stock"] == stock == report["metal"], report
    assert report["released_now"] is False and report["relocked_at_start"] is True
    assert report["open_tasks"] == 0
    store = Store(tmp_path / "cabinet.db", DrivenClock())
    try:
        check_invariants(store.conn)
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()


@pytest.mark.slow
def test_a_second_restart_adds_nothing(tmp_path: Path) -> None:
    assert driver(tmp_path, "run", "before_commit").returncode == -signal.SIGKILL
    first = json.loads(driver(tmp_path, "restart").stdout.strip().splitlines()[-1])
    second = json.loads(driver(tmp_path, "restart").stdout.strip().splitlines()[-1])
    assert first["task_events"] == second["task_events"] == ["dispense"]
    assert second["stock"] == 18
