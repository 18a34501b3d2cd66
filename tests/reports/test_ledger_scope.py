"""The ledger report verifies what its period needs: from the checkpoint before it to its end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cabinet.clock import DrivenClock
from cabinet.reports import Params, build
from cabinet.store import open_read_only
from tests.foundation.helpers import dispense, open_store, raw, seed

DAY = dt.date(2026, 11, 30)  # the driven clock's first day


@pytest.fixture
def three_days(tmp_path: Path) -> Path:
    """15 dispenses on each of three days, a signed checkpoint every 10 events and at stop."""
    clock = DrivenClock()
    store = open_store(tmp_path, clock, checkpoint_every=10)
    with store.transaction() as conn:
        seed(conn)
    for day in range(3):
        for i in range(15):
            clock.advance(60)
            dispense(store, pocket=i % 3)
        clock.advance(86_400 - 15 * 60)
        assert clock.now().date() == DAY + dt.timedelta(days=day + 1)
    store.checkpoint()
    store.close()
    return tmp_path / "cabinet.db"


def _summary(db: Path, **period: dt.date) -> dict[str, object]:
    """The ledger report's summary over a period."""
    conn = open_read_only(db)
    try:
        now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
        return build("ledger", conn, Params(now=now, **period)).summary
    finally:
        conn.close()


def _edit(db: Path, seq: int) -> None:
    """An intruder changes one event's quantity in SQLite."""
    conn = raw(db)
    conn.execute("UPDATE ledger SET quantity = -7 WHERE seq = ?", (seq,))
    conn.close()


def test_a_day_is_verified_from_the_checkpoint_before_it(three_days: Path) -> None:
    """Day 2 (events 16-30): the walk starts after checkpoint 10 and stops at 30."""
    summary = _summary(
        three_days, date_from=DAY + dt.timedelta(days=1), date_to=DAY + dt.timedelta(days=1)
    )
    assert summary["ok"] == "yes"
    assert (summary["first_seq"], summary["last_seq"]) == (16, 30)
    assert (summary["verified_from"], summary["verified_to"]) == (11, 30)
    assert summary["verified_scope"] == (
        "hash chain re-computed from signed checkpoint 10 through sequence 30;"
        " signed checkpoints in it checked"
    )


def test_an_edit_after_the_period_is_outside_it_and_inside_the_next(three_days: Path) -> None:
    """Event 40 edited: day 2 still verifies, day 3 and the whole history name 40."""
    _edit(three_days, 40)
    day2 = DAY + dt.timedelta(days=1)
    assert _summary(three_days, date_from=day2, date_to=day2)["ok"] == "yes"
    day3 = _summary(three_days, date_from=DAY + dt.timedelta(days=2))
    assert (day3["ok"], day3["broken_at"], day3["reason"]) == ("no", 40, "edited")
    whole = _summary(three_days)
    assert (whole["broken_at"], whole["verified_from"]) == (40, 1)
    assert str(whole["verified_scope"]).startswith("hash chain re-computed from the genesis")


def test_an_edit_inside_the_period_is_named(three_days: Path) -> None:
    """Event 22 edited: the day-2 report is broken at 22."""
    _edit(three_days, 22)
    day2 = DAY + dt.timedelta(days=1)
    summary = _summary(three_days, date_from=day2, date_to=day2)
    assert (summary["ok"], summary["broken_at"], summary["reason"]) == ("no", 22, "edited")
