"""The pure rules: dose timing, daily maximum, FEFO, counting from weight, search, messages."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet.domain import dosing
from cabinet.domain.gs1 import gtin_valid
from cabinet.domain.refusals import RefusalCode, Refused, message
from cabinet.domain.search import search
from cabinet.domain.stock import LotStock, PocketStock, pick_pocket
from cabinet.domain.weighing import PocketScale, compare_drawer, count_change

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def rule(**overrides: object) -> dosing.OrderRule:
    """A verified scheduled order, changed as asked."""
    base: dict[str, object] = {
        "order_id": "O", "patient_id": "P", "item_code": "I", "dose": 2, "kind": "scheduled",
        "times": (dt.time(8), dt.time(14), dt.time(20)), "window": dt.timedelta(minutes=60),
        "min_interval": dt.timedelta(0), "daily_max": None, "start_at": T0 - dt.timedelta(days=1),
        "stop_at": None, "status": "active", "verified_by": "pharm1",
    }  # fmt: skip
    base.update(overrides)
    return dosing.OrderRule(**base)  # type: ignore[arg-type]


def code_of(call: object) -> RefusalCode:
    """The refusal code a call raises."""
    with pytest.raises(Refused) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_scheduled_window() -> None:
    r = rule()
    dosing.check_dispensable(r, T0 + dt.timedelta(minutes=59), [])
    assert code_of(lambda: dosing.check_dispensable(r, T0 + dt.timedelta(hours=2), [])) is (
        RefusalCode.NOT_DUE
    )
    given_now = [dosing.Given(at=T0, units=2)]
    assert (
        code_of(lambda: dosing.check_dispensable(r, T0 + dt.timedelta(minutes=5), given_now))
        is RefusalCode.TOO_EARLY
    )
    assert dosing.next_allowed(r, T0 + dt.timedelta(minutes=5), given_now) == T0 + dt.timedelta(
        hours=5
    )


def test_prn_interval_and_daily_maximum() -> None:
    r = rule(kind="prn", times=(), dose=1, min_interval=dt.timedelta(hours=6), daily_max=2)
    history = [
        dosing.Given(at=T0 - dt.timedelta(hours=10), units=1),
        dosing.Given(at=T0 - dt.timedelta(hours=5), units=1),
    ]
    assert code_of(lambda: dosing.check_dispensable(r, T0, history)) is RefusalCode.DAILY_MAX
    # The first dose leaves the 24 h window 14 hours from now.
    assert dosing.next_allowed(r, T0, history) == T0 + dt.timedelta(hours=14)
    assert code_of(lambda: dosing.check_dispensable(r, T0, history[1:], 1)) is (
        RefusalCode.TOO_EARLY
    )


def test_order_status_and_verification() -> None:
    assert code_of(lambda: dosing.check_dispensable(rule(verified_by=None), T0, [])) is (
        RefusalCode.NOT_VERIFIED
    )
    assert code_of(lambda: dosing.check_dispensable(rule(status="on_hold"), T0, [])) is (
        RefusalCode.ORDER_NOT_ACTIVE
    )
    assert code_of(lambda: dosing.check_dispensable(rule(), T0, [], 3)) is (
        RefusalCode.DOSE_ABOVE_ORDER
    )


def test_missed_slots_and_due_counts() -> None:
    r = rule()
    assert dosing.missed_slots(r, T0, T0 + dt.timedelta(hours=2), []) == [T0]
    assert (
        dosing.missed_slots(r, T0, T0 + dt.timedelta(hours=2), [dosing.Given(at=T0, units=2)]) == []
    )
    assert dosing.due_counts(r, T0 + dt.timedelta(hours=7), []) == (1, 1)
    due, overdue = dosing.dose_status(r, T0 + dt.timedelta(hours=7), [])
    assert (due, overdue) == ([T0 + dt.timedelta(hours=6)], [T0])
    given = [dosing.Given(at=T0 + dt.timedelta(minutes=20), units=2)]
    assert dosing.dose_status(r, T0 + dt.timedelta(hours=7), given) == (due, [])
    assert dosing.dose_status(rule(kind="prn"), T0, []) == ([], [])


def test_fefo_skips_expired_and_picks_first_expiry() -> None:
    today = T0.date()
    old = PocketStock(
        drawer=0,
        pocket=0,
        quantity=5,
        lots=(LotStock(lot="OLD", expiry=dt.date(2026, 10, 31), quantity=5),),
    )
    later = PocketStock(
        drawer=1,
        pocket=0,
        quantity=5,
        lots=(LotStock(lot="LATE", expiry=dt.date(2027, 9, 30), quantity=5),),
    )
    sooner = PocketStock(
        drawer=2,
        pocket=0,
        quantity=5,
        lots=(LotStock(lot="SOON", expiry=dt.date(2027, 1, 31), quantity=5),),
    )
    pick = pick_pocket([old, later, sooner], 2, today)
    assert (pick.drawer, pick.lot) == (2, "SOON")
    assert code_of(lambda: pick_pocket([old], 1, today)) is RefusalCode.ONLY_EXPIRED
    assert code_of(lambda: pick_pocket([later], 6, today)) is RefusalCode.OUT_OF_STOCK
    assert code_of(lambda: pick_pocket([], 1, today)) is RefusalCode.NO_POCKET


def test_counting_from_weight() -> None:
    assert count_change(-500, 250, 40) == (-2, True)
    assert count_change(-620, 250, 40) == (-2, False)  # residual 120 > 2 x 40
    scales = {
        0: PocketScale(pocket=0, item_code="A", unit_cg=250, tolerance_cg=40),
        1: PocketScale(pocket=1, item_code="B", unit_cg=400, tolerance_cg=60),
    }
    before, after = {0: 5000, 1: 4000}, {0: 4500, 1: 3600}
    changes = compare_drawer(before, after, scales, {0: -2})
    assert [(c.pocket, c.expected, c.counted) for c in changes] == [(1, 0, -1)]


@given(units=st.integers(-50, 50), noise=st.integers(-39, 39))
def test_count_is_exact_within_tolerance(units: int, noise: int) -> None:
    assert count_change(units * 250 + noise, 250, 40) == (units, True)


def test_override_search_needs_five_letters_unless_single() -> None:
    entries = [("OXYcodone 5 mg", "OXY"), ("OXYbutynine", "OXB"), ("FUROsemide", "FUR")]
    assert search("furo", entries) == ["FUR"]
    assert code_of(lambda: search("oxy", entries)) is RefusalCode.SEARCH_TOO_SHORT
    assert search("oxyco", entries) == ["OXY"]
    assert search("oxycodone", entries) == ["OXY"]


def test_gtin_check_digit() -> None:
    assert gtin_valid("03400933816759") and not gtin_valid("03400933816758")
    assert not gtin_valid("0340093381675") and not gtin_valid("0340093381675X")


def test_every_refusal_has_both_languages() -> None:
    for code in RefusalCode:
        assert message(code, "fr") and message(code, "en")
    assert message(RefusalCode.TOO_EARLY, "fr", next_at="14:00").endswith("14:00.")
    assert message(RefusalCode.TOO_EARLY, "en") == "Too early."
