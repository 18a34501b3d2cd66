"""SIGKILL at 50 random points of 1,000 random movements: the store stays whole every time."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cabinet import cli
from cabinet.clock import SystemClock
from cabinet.store.db import open_read_only
from tests.foundation.helpers import open_store, seed

ROOT = Path(__file__).resolve().parents[2]
KILLS = 50
MOVEMENTS = 1000


def check_invariants(db: Path, initial: dict[tuple[int, int], int]) -> int:
    """Integrity, stock = initial + ledger movements, one outbox row per event, chain OK."""
    conn = open_read_only(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sums = dict(
            ((d, p), int(q))
            for d, p, q in conn.execute(
                "SELECT drawer, pocket, sum(quantity) FROM ledger "
                "WHERE drawer IS NOT NULL GROUP BY drawer, pocket"
            )
        )
        for d, p, quantity in conn.execute("SELECT drawer, pocket, quantity FROM pockets"):
            assert quantity == initial[(d, p)] + sums.get((d, p), 0), (d, p)
            assert quantity >= 0
        lots = conn.execute(
            "SELECT count(*) FROM lots l JOIN pockets p USING (drawer, pocket) "
            "GROUP BY drawer, pocket HAVING sum(l.quantity) > max(p.quantity)"
        ).fetchall()
        assert lots == [], "a pocket's lots hold more than the pocket"
        orphans = conn.execute(
            "SELECT count(*) FROM ledger l LEFT JOIN outbox o USING (seq) WHERE o.seq IS NULL"
        ).fetchone()[0]
        strays = conn.execute(
            "SELECT count(*) FROM outbox o LEFT JOIN ledger l USING (seq) WHERE l.seq IS NULL"
        ).fetchone()[0]
        assert (orphans, strays) == (0, 0)
        # `cabinet ledger verify`, as an auditor runs it (the key's public half beside the db).
        assert cli.main(["ledger", "verify", "--db", str(db)]) == 0
        return int(
            conn.execute("SELECT count(*) FROM ledger WHERE drawer IS NOT NULL").fetchone()[0]
        )
    finally:
        conn.close()


def run_worker(state: Path, seed_value: int, target: int | None, jitter: float) -> bool:
    """Start a worker; SIGKILL it once it reports `target` movements (plus a jitter).

    A negative target kills it `jitter` seconds after it was started, while it opens the
    store. With no target the worker runs to the end; True when it finished.
    """
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.foundation.crash_worker",
            str(state),
            str(seed_value),
            str(MOVEMENTS),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        if target is None:
            return proc.wait(timeout=90) == 0
        if target < 0:
            time.sleep(jitter)
        else:
            for line in proc.stdout:
                if line.strip().isdigit() and int(line) >= target:
                    break
            # The worker goes on with its next movement meanwhile: the kill lands inside it.
            time.sleep(jitter)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.slow
def test_sigkill_at_random_points_never_breaks_the_store(tmp_path: Path) -> None:
    """50 kills among 1,000 movements; after each restart every invariant holds."""
    state = tmp_path / "state"
    store = open_store(state, SystemClock(), checkpoint_every=7)
    with store.transaction() as conn:
        initial = seed(conn)
    store.close()
    rng = random.Random(20261130)
    targets = sorted(rng.sample(range(1, MOVEMENTS), KILLS))
    done_before = 0
    for kill, target in enumerate(targets):
        early = kill % 10 == 3  # one kill in ten while the store is being opened
        jitter = rng.uniform(0.02, 0.12) if early else rng.uniform(0.0, 0.003)
        run_worker(state, rng.randrange(1 << 30), -1 if early else target, jitter)
        done = check_invariants(state / "cabinet.db", initial)
        assert done >= done_before
        done_before = done
    assert done_before < MOVEMENTS, "the kills must land among the 1,000 movements"
    assert run_worker(state, rng.randrange(1 << 30), None, 0.0), "the last run must finish"
    assert check_invariants(state / "cabinet.db", initial) == MOVEMENTS
    conn = sqlite3.connect(state / "cabinet.db")
    starts = conn.execute("SELECT count(*) FROM ledger WHERE kind = 'start'").fetchone()[0]
    conn.close()
    assert starts >= KILLS - KILLS // 10  # nearly every run got as far as recording its start
