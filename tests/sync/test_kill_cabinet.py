"""SIGKILL of the cabinet-side process at random points: still each event once, in order."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cabinet.security import keys
from cabinet.store.checkpoints import CheckpointSigner
from tests.sync.conftest import CABINET_A, CentralHarness

ROOT = Path(__file__).resolve().parents[2]
TARGET = 10_000
KILLS = 8


def start_cabinet(state: Path, folder: Path, port: int) -> subprocess.Popen[bytes]:
    """The cabinet process, recording and syncing towards TARGET events."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.cabinet_process", str(state), str(folder),
         str(port), str(TARGET)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def ledger_head(db: Path) -> int:
    """The cabinet's last recorded sequence, read beside the running writer (WAL)."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            row = conn.execute("SELECT max(seq) FROM ledger").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet: the process is still opening its store
    return int(row[0] or 0)


@pytest.mark.slow
async def test_cabinet_killed_at_random_points_loses_and_duplicates_nothing(
    central: CentralHarness, tmp_path: Path, site_pki: Path
) -> None:
    """Eight SIGKILLs while recording and sending; the central ends with 1..10,000 once each."""
    state = tmp_path / "cabinet"
    state.mkdir()
    signer = CheckpointSigner(keys.load_or_create(state / "cabinet.key"))
    central.db.register_cabinet(CABINET_A, signer.public_pem())
    await central.start()
    rng = random.Random(20261130)
    kills = 0
    for k in range(KILLS):
        # Kill on progress, not on time: a quiet machine records 10,000 events in about a
        # second, so a timed kill would often land after the process had already finished.
        threshold = rng.randint(k * 1200 + 100, (k + 1) * 1200)
        proc = start_cabinet(state, site_pki, central.port)
        try:
            # Another process's progress: there is nothing to await but its database.
            for _ in range(30_000):
                if proc.poll() is not None or ledger_head(state / "cabinet.db") >= threshold:
                    break
                await asyncio.sleep(0.002)
            if proc.poll() is None:
                proc.kill()
                kills += 1
        finally:
            proc.kill()
            proc.wait(timeout=10)
    proc = start_cabinet(state, site_pki, central.port)
    try:
        for _ in range(1200):
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert proc.poll() == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert kills >= KILLS // 2, "the process finished before most kills: test proves little"
    conn = sqlite3.connect(state / "cabinet.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ours = [
            (int(s), str(h)) for s, h in conn.execute("SELECT seq, hash FROM ledger ORDER BY seq")
        ]
        assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0] == 0
    finally:
        conn.close()
    assert len(ours) == TARGET
    assert central.db.events(CABINET_A) == ours
    assert central.db.head(CABINET_A)[2] == TARGET
