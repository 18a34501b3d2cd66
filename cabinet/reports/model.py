"""What a report is made of: its parameters, tables, figures and charts, and the read snapshot."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from cabinet.errors import CabinetError

Cell = str | int | float | None


class ReportError(CabinetError):
    """A report was asked with bad parameters or cannot be produced; nothing was written."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Params:
    """What the reader asked for; every report reads only the fields it needs."""

    date_from: dt.date | None = None  # first day included
    date_to: dt.date | None = None  # last day included
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    days: int = 30  # expiry horizon
    unit: str = ""  # care unit of this cabinet, when the ledger does not say
    item: str | None = None  # one item only (controlled register)
    threshold: float = 3.5  # robust z-score above which a user is flagged
    min_peers: int = 3  # fewer users than this on a unit: nobody is compared
    min_excess: float = 2.0  # a user is flagged only this far above the median, at least

    def bounds(self) -> tuple[str, str]:
        """The period as a half-open range of ledger timestamps [low, high)."""
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ReportError(f"--from {self.date_from} is after --to {self.date_to}")
        low = self.date_from.isoformat() if self.date_from else ""
        # Timestamps are ISO strings in UTC: the day after --to bounds the period from above.
        high = (self.date_to + dt.timedelta(days=1)).isoformat() if self.date_to else "9999"
        return low, high

    def period_text(self) -> str:
        """The period in words, for titles."""
        start = self.date_from.isoformat() if self.date_from else "the beginning"
        end = self.date_to.isoformat() if self.date_to else "now"
        return f"{start} to {end}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Table:
    """One section of a report: named columns and rows of plain values."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]]

    def as_dicts(self) -> list[dict[str, Cell]]:
        """Rows keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True, kw_only=True, slots=True)
class Series:
    """One line or one set of bars of a chart."""

    label: str
    points: list[tuple[str, float]]  # (x label, value), in x order


@dataclass(frozen=True, kw_only=True, slots=True)
class Chart:
    """A figure for the HTML form: a line or bar chart of a few series."""

    title: str
    kind: str  # "line" or "bar"
    series: list[Series]
    y_label: str = ""
    marker: float | None = None  # a horizontal reference line (a median, a threshold)


@dataclass(kw_only=True, slots=True)
class Report:
    """A finished report: headline figures, tables and charts, ready for any format."""

    name: str
    title: str
    params: Params
    summary: dict[str, Cell] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        """The table of that name."""
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short read transaction: every query of a report sees the same committed state.

    In WAL mode a reader never blocks the writer; the transaction still ends as soon as the
    figures are read, so the WAL can be checkpointed past it.
    """
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def params_from(values: Mapping[str, str], *, now: dt.datetime, unit: str = "") -> Params:
    """Parameters from text fields (a UI query string): from, to, days, item, threshold.

    Anything malformed or unknown is refused with a ReportError naming it.
    """
    known = {"from", "to", "days", "item", "threshold"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ReportError(f"unknown report parameter {unknown[0]!r}; known: {sorted(known)}")

    def number(key: str, kind: type[int] | type[float], default: float) -> float:
        """A numeric field, or its default."""
        if not values.get(key):
            return default
        try:
            return kind(values[key])
        except ValueError:
            raise ReportError(f"{key} {values[key]!r} is not a number") from None

    return Params(
        date_from=parse_date(values["from"], "from") if values.get("from") else None,
        date_to=parse_date(values["to"], "to") if values.get("to") else None,
        now=now,
        days=int(number("days", int, 30)),
        unit=unit,
        item=values.get("item") or None,
        threshold=float(number("threshold", float, 3.5)),
    )


def parse_date(text: str, flag: str) -> dt.date:
    """An ISO date from the command line, or a clear error naming the flag."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{flag} {text!r} is not a date (expected YYYY-MM-DD)") from None
