"""The fast, shared ledger check names the same first break as the one-row-at-a-time walk."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cabinet.clock import DrivenClock
from cabinet.store import NewEvent, Store, chain_scan, chain_workers, open_read_only
from cabinet.store.ledger import HASHED_FIELDS
from cabinet.store.verify import VerifyResult, verify
from tests.foundation.helpers import raw
from tests.foundation.test_ledger_tamper import TAMPERING, ledger_db  # noqa: F401


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 4 events and workers from the first event, so 35 events use every path."""
    monkeypatch.setattr(chain_scan, "BLOCK", 4)
    monkeypatch.setattr(chain_workers, "PARALLEL_MIN", 0)


def _check(db: Path, **kw: object) -> VerifyResult:
    """Verify the store at `db` on a read-only connection."""
    conn = open_read_only(db)
    try:
        return verify(conn, None, **kw)  # type: ignore[arg-type]
    finally:
        conn.close()


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [pytest.param(t, s, r, id=name) for name, t, s, r in TAMPERING],
)
def test_every_tampering_is_named_alike_by_blocks_and_workers(
    ledger_db: Path,  # noqa: F811
    small_blocks: None,
    tamper: Callable[[sqlite3.Connection], None],
    seq: int,
    reason: str,
    workers: int,
) -> None:
    """Each edit of the tamper table, found through blocks of 4 and up to 2 worker processes."""
    conn = raw(ledger_db)
    tamper(conn)
    conn.close()
    result = _check(ledger_db, workers=workers)
    assert not result.ok
    assert (result.seq, result.reason) == (seq, reason), result.line()


def test_workers_agree_on_an_intact_ledger(
    ledger_db: Path,  # noqa: F811
    small_blocks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three ranges, two of them answered by worker processes: the same OK as one process."""
    answers: list[tuple[bool, int | None]] = []
    real = chain_workers._Worker.answer

    def spy(self: chain_workers._Worker, wait: float) -> tuple[bool, int | None] | None:
        """Keep what each worker answered."""
        got = real(self, wait)
        if got is not None:
            answers.append(got)
        return got

    monkeypatch.setattr(chain_workers._Worker, "answer", spy)
    assert _check(ledger_db, workers=3).line() == _check(ledger_db, workers=1).line()
    assert answers and all(got == (True, None) for got in answers)
    assert _check(ledger_db, workers=3).line().startswith("OK: 35 events")


def test_a_worker_names_a_break_in_its_range(ledger_db: Path, small_blocks: None) -> None:  # noqa: F811
    """Event 30 edited: the last range's worker finds it, the walk here says why."""
    conn = raw(ledger_db)
    conn.execute("UPDATE ledger SET actor = 'x' WHERE seq = 30")
    conn.close()
    worker = chain_workers._start(str(ledger_db), HASHED_FIELDS, 1, "")
    assert worker is not None
    try:
        assert worker.send({"lo": 24, "hi": 36, "signed": {}})
        assert worker.answer(30.0) == (True, 30)
        assert worker.send({"lo": 1, "hi": 24, "signed": {}})
        assert worker.answer(30.0) == (True, 1)  # "" is not the genesis hash
    finally:
        worker.close()
    result = _check(ledger_db, workers=3)
    assert (result.seq, result.reason) == (30, "edited")


def test_a_worker_that_cannot_start_only_costs_time(
    ledger_db: Path,  # noqa: F811
    small_blocks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No interpreter for the workers: their ranges are scanned here, same verdict."""
    conn = raw(ledger_db)
    TAMPERING[0][1](conn)  # event 12 edited
    conn.close()
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    result = _check(ledger_db, workers=3)
    assert (result.seq, result.reason) == (12, "edited")


def test_text_the_two_json_writers_must_spell_alike(
    store: Store, state: Path, clock: DrivenClock, small_blocks: None
) -> None:
    """Quotes, backslashes, control characters, accents and line separators verify OK."""
    odd = ['a"b\\c', "\x00\x01\x1f\x7f", "\b\f\n\r\t", "é漢😀", "\u2028\u2029", "</script>"]
    for text in odd:
        clock.advance(1)
        store.record(NewEvent(kind="note", actor=text, lot=text, payload={"text": text}))
    store.checkpoint()
    store.close()
    result = _check(state / "cabinet.db", workers=2)
    assert result.ok, result.line()
    assert result.events == len(odd)


def test_a_period_is_checked_through_its_end_only(ledger_db: Path, small_blocks: None) -> None:  # noqa: F811
    """An edit after the period's last event is outside it; one inside is named."""
    conn = raw(ledger_db)
    conn.execute("UPDATE ledger SET quantity = -9 WHERE seq = 33")
    conn.close()
    through = _check(ledger_db, stop=25, workers=2)
    assert through.ok and through.last_seq == 25, through.line()
    assert "2 signed checkpoints" in through.line()
    whole = _check(ledger_db, workers=2)
    assert (whole.seq, whole.reason) == (33, "edited")


def test_a_worker_that_answers_nonsense_gives_its_range_back(
    ledger_db: Path,  # noqa: F811
    small_blocks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every worker answer unreadable: the ranges they held are scanned here, same verdict."""
    conn = raw(ledger_db)
    conn.execute("UPDATE ledger SET actor = 'x' WHERE seq = 30")
    conn.close()
    real = chain_workers._Worker.answer
    lost: list[int | None] = []

    def garbled(self: chain_workers._Worker, wait: float) -> tuple[bool, int | None] | None:
        """The worker's line arrives but cannot be read."""
        got = real(self, wait)
        if got is None:
            return None
        lost.append(self.busy)
        return False, None

    monkeypatch.setattr(chain_workers._Worker, "answer", garbled)
    result = _check(ledger_db, workers=3)
    assert (result.seq, result.reason) == (30, "edited")
    assert lost, "no worker answered: the test did not exercise the fallback"
