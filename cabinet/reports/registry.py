"""Every report by name, and `render`: the one entry point of the command line and the UI."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from cabinet.reports.activity import build_activity, build_anomalies
from cabinet.reports.audit import build_discrepancies, build_overrides
from cabinet.reports.formats import to_csv, to_json, to_table
from cabinet.reports.html import to_html
from cabinet.reports.ledger_summary import build_ledger
from cabinet.reports.model import Params, Report, ReportError
from cabinet.reports.register import build_controlled
from cabinet.reports.stock import build_expiry, build_stock

Builder = Callable[[sqlite3.Connection, Params], Report]

REPORTS: dict[str, Builder] = {
    "stock": build_stock,
    "expiry": build_expiry,
    "discrepancies": build_discrepancies,
    "overrides": build_overrides,
    "controlled": build_controlled,
    "activity": build_activity,
    "anomalies": build_anomalies,
    "ledger": build_ledger,
}

FORMATS: dict[str, Callable[[Report], str]] = {
    "table": to_table,
    "csv": to_csv,
    "json": to_json,
    "html": to_html,
}

# Who may pull which report on the UI: auditors and pharmacists answer for every unit.
ROLES = frozenset({"auditor", "pharmacist", "admin"})


def build(name: str, conn: sqlite3.Connection, params: Params) -> Report:
    """Build one report from a read-only connection."""
    builder = REPORTS.get(name)
    if builder is None:
        raise ReportError(f"no report {name!r}; the reports are: {', '.join(REPORTS)}")
    try:
        return builder(conn, params)
    except sqlite3.Error as exc:
        # An unmigrated or damaged store: one clear line, never a half report.
        raise ReportError(f"cannot read the store for the {name} report: {exc}") from exc


def render(name: str, conn: sqlite3.Connection, params: Params, fmt: str) -> str:
    """A report in one format (table, csv, json or html), from a read-only connection."""
    formatter = FORMATS.get(fmt)
    if formatter is None:
        raise ReportError(f"no format {fmt!r}; the formats are: {', '.join(FORMATS)}")
    return formatter(build(name, conn, params))


def media_type(fmt: str) -> str:
    """The HTTP media type of a format, for the UI."""
    return {
        "table": "text/plain; charset=utf-8",
        "csv": "text/csv; charset=utf-8",
        "json": "application/json",
        "html": "text/html; charset=utf-8",
    }[fmt]
