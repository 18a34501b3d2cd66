"""Reports read a live cabinet: a dispense loop in another process is never held up by them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.gen_history import generate
from cabinet.reports import REPORTS, Params, render
from cabinet.store import open_read_only

ROOT = Path(__file__).resolve().parents[2]
MAX_DELAY_S = 0.050
# The machine is shared: a stall of the whole box can hit any one run. A report that held
# a lock would delay commits in every run; noise does not repeat three times.
ATTEMPTS = 3


@pytest.fixture(scope="module")
def live_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 10,000-event store on tmpfs when there is one: the test is about locks, not fsync."""
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("live")
    db = base / "cabinet.db"
    generate(db, 10_000, days=30)
    yield db
    for path in base.iterdir():
        path.unlink()
    base.rmdir()


def commits_during(db: Path, read: Callable[[], None], seconds: float) -> list[float]:
    """Run the dispense loop in its own process while `read` runs over and over here; the
    durations of the commits that started while a `read` was running."""
    stop = db.with_name(f"stop-{time.monotonic_ns()}")
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.reports.dispense_loop", str(db), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    windows: list[tuple[float, float]] = []
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            start = time.monotonic()
            read()
            windows.append((start, time.monotonic()))
        stop.touch()
        output, _ = writer.communicate(timeout=30)
    finally:
        stop.touch()
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        stop.unlink(missing_ok=True)
    assert writer.returncode == 0
    commits = json.loads(output.strip().splitlines()[-1])
    return [float(d) for s, d in commits if any(a <= float(s) <= b for a, b in windows)]


@pytest.mark.slow
def test_reports_do_not_delay_commits(live_db: Path) -> None:
    """Every report in every heavy format, over and over: no commit takes over 50 ms."""
    conn = open_read_only(live_db)

    def every_report() -> None:
        """One round of all the reports, as JSON and as HTML."""
        for name in REPORTS:
            for fmt in ("json", "html"):
                render(name, conn, Params(), fmt)

    try:
        for _ in range(ATTEMPTS):
            during = commits_during(live_db, every_report, 2.0)
            assert len(during) >= 50, f"only {len(during)} commits overlapped a report"
            if max(during) <= MAX_DELAY_S:
                break
        worst = max(during)
    finally:
        conn.close()
    assert worst <= MAX_DELAY_S, f"a commit took {worst * 1000:.1f} ms while a report ran"


@pytest.mark.slow
def test_the_measure_sees_a_reader_that_holds_a_lock(live_db: Path) -> None:
    """Control: a 'report' that takes the write lock for 150 ms does delay commits."""
    conn = sqlite3.connect(live_db, isolation_level=None, timeout=5.0)

    def hog() -> None:
        """Hold the write lock as no report may."""
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(0.15)
        conn.execute("COMMIT")
        time.sleep(0.05)

    try:
        during = commits_during(live_db, hog, 1.0)
    finally:
        conn.close()
    assert max(during) > 0.1
