"""Order timing rules: scheduled dose windows, PRN intervals, the daily maximum and omissions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cabinet.domain.refusals import RefusalCode, Refused

DAY = dt.timedelta(hours=24)


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderRule:
    """What an order allows: its dose, its schedule or PRN limits, its validity."""

    order_id: str
    patient_id: str
    item_code: str
    dose: int
    kind: str  # "scheduled" or "prn"
    times: tuple[dt.time, ...]  # scheduled times of day (UTC wall clock of the store)
    window: dt.timedelta  # a scheduled dose may be given this long either side of its time
    min_interval: dt.timedelta  # PRN: minimum time between two doses
    daily_max: int | None  # units per rolling 24 h
    start_at: dt.datetime
    stop_at: dt.datetime | None
    status: str
    verified_by: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Given:
    """Units that left the cabinet for an order at a moment (dispenses, and discrepancies)."""

    at: dt.datetime
    units: int


def parse_times(text: str) -> tuple[dt.time, ...]:
    """The order's JSON list of "HH:MM" as times, sorted; bad entries are refused."""
    values = json.loads(text or "[]")
    if not isinstance(values, list):
        raise ValueError(f"order times must be a list, not {values!r}")
    return tuple(sorted(dt.time.fromisoformat(str(v)) for v in values))


def dose_slots(rule: OrderRule, around: dt.datetime) -> list[dt.datetime]:
    """Every scheduled dose time from the day before to the day after `around`."""
    slots: list[dt.datetime] = []
    for offset in (-1, 0, 1):
        day = (around + dt.timedelta(days=offset)).date()
        for t in rule.times:
            moment = dt.datetime.combine(day, t, tzinfo=dt.UTC)
            if moment >= rule.start_at - rule.window and (
                rule.stop_at is None or moment <= rule.stop_at
            ):
                slots.append(moment)
    return sorted(slots)


def _given_in(history: Iterable[Given], start: dt.datetime, end: dt.datetime) -> int:
    """Units given in [start, end)."""
    return sum(g.units for g in history if start <= g.at < end)


def current_slot(rule: OrderRule, now: dt.datetime) -> dt.datetime | None:
    """The scheduled dose whose window holds `now`, or None."""
    for slot in dose_slots(rule, now):
        if slot - rule.window <= now <= slot + rule.window:
            return slot
    return None


def next_allowed(rule: OrderRule, now: dt.datetime, history: Sequence[Given]) -> dt.datetime | None:
    """The earliest moment from `now` on at which a dose may be given, or None if never again."""
    if rule.kind == "prn":
        last = max((g.at for g in history), default=None)
        earliest = now if last is None else max(now, last + rule.min_interval)
        if rule.daily_max is not None:
            # The dose fits once enough earlier doses have left the rolling 24 h window.
            candidates = sorted({earliest, *(g.at + DAY for g in history if g.at + DAY > earliest)})
            fitting = (
                t
                for t in candidates
                if _given_in(history, t - DAY + dt.timedelta(microseconds=1), t) + rule.dose
                <= rule.daily_max
            )
            found = next(fitting, None)
            if found is None:
                return None
            earliest = found
        return earliest if rule.stop_at is None or earliest <= rule.stop_at else None
    for slot in dose_slots(rule, now):
        if slot + rule.window < now:
            continue
        if _given_in(history, slot - rule.window, slot + rule.window + dt.timedelta(seconds=1)):
            continue
        return max(now, slot - rule.window)
    return None


def check_dispensable(
    rule: OrderRule, now: dt.datetime, history: Sequence[Given], quantity: int | None = None
) -> None:
    """Raise Refused unless a dose of this order may leave the cabinet now."""
    if rule.status != "active" or now < rule.start_at - rule.window:
        raise Refused(RefusalCode.ORDER_NOT_ACTIVE)
    if rule.stop_at is not None and now > rule.stop_at:
        raise Refused(RefusalCode.ORDER_NOT_ACTIVE)
    if not rule.verified_by:
        raise Refused(RefusalCode.NOT_VERIFIED)
    units = rule.dose if quantity is None else quantity
    if units <= 0:
        raise Refused(RefusalCode.BAD_QUANTITY)
    if units > rule.dose:
        raise Refused(RefusalCode.DOSE_ABOVE_ORDER, dose=rule.dose)
    if rule.daily_max is not None:
        given = _given_in(
            history, now - DAY + dt.timedelta(microseconds=1), now + dt.timedelta(seconds=1)
        )
        if given + units > rule.daily_max:
            raise Refused(RefusalCode.DAILY_MAX, given=given, daily_max=rule.daily_max)
    if rule.kind == "prn":
        last = max((g.at for g in history), default=None)
        if last is not None and now < last + rule.min_interval:
            raise Refused(RefusalCode.TOO_EARLY, next_at=_hhmm(last + rule.min_interval))
        return
    slot = current_slot(rule, now)
    if slot is None:
        upcoming = next_allowed(rule, now, history)
        raise Refused(RefusalCode.NOT_DUE, next_at=_hhmm(upcoming) if upcoming else "-")
    if _given_in(history, slot - rule.window, slot + rule.window + dt.timedelta(seconds=1)):
        upcoming = next_allowed(rule, now + rule.window * 2, history)
        raise Refused(RefusalCode.TOO_EARLY, next_at=_hhmm(upcoming) if upcoming else "-")


def missed_slots(
    rule: OrderRule, since: dt.datetime, now: dt.datetime, history: Sequence[Given]
) -> list[dt.datetime]:
    """Scheduled doses whose window ended in (since, now] with nothing given inside it."""
    if rule.kind != "scheduled" or rule.status != "active" or not rule.verified_by:
        return []
    missed: list[dt.datetime] = []
    for slot in dose_slots(rule, now):
        end = slot + rule.window
        given = _given_in(history, slot - rule.window, end + dt.timedelta(seconds=1))
        if since < end <= now and slot >= rule.start_at and not given:
            missed.append(slot)
    return missed


def dose_status(
    rule: OrderRule, now: dt.datetime, history: Sequence[Given]
) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """(due now, overdue today): the scheduled dose times of this order not yet given."""
    if rule.kind != "scheduled" or rule.status != "active":
        return [], []
    due: list[dt.datetime] = []
    overdue: list[dt.datetime] = []
    day_start = dt.datetime.combine(now.date(), dt.time(0), tzinfo=dt.UTC)
    for slot in dose_slots(rule, now):
        if slot < day_start or slot - rule.window > now:
            continue
        given = _given_in(history, slot - rule.window, slot + rule.window + dt.timedelta(seconds=1))
        if given:
            continue
        (due if now <= slot + rule.window else overdue).append(slot)
    return due, overdue


def due_counts(rule: OrderRule, now: dt.datetime, history: Sequence[Given]) -> tuple[int, int]:
    """(due now, overdue today) scheduled doses of this order that were not given."""
    due, overdue = dose_status(rule, now, history)
    return len(due), len(overdue)


def _hhmm(moment: dt.datetime) -> str:
    """A time for the screen: HH:MM, or the date too when it is not today."""
    return moment.strftime("%H:%M")
