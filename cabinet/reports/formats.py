"""Plain formats of a report: a text table, CSV and JSON, and reading CSV and JSON back."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from cabinet.reports.model import Cell, Report, ReportError

_SECTION = "#section"
_MAX_WIDTH = 40
# Rows shown per table on a terminal; the CSV and JSON forms always hold every row.
MAX_TABLE_ROWS = 20000


def _text(value: Cell) -> str:
    """A cell as text: empty for nothing, numbers as written."""
    return "" if value is None else str(value)


def to_table(report: Report) -> str:
    """Aligned columns for a terminal, one block per table."""
    out = [report.title, "=" * len(report.title)]
    out.extend(f"{key}: {_text(value)}" for key, value in report.summary.items())
    for table in report.tables:
        out.extend(["", f"{table.title} ({len(table.rows)})", "-" * len(table.title)])
        if not table.rows:
            out.append("(none)")
            continue
        cells = [[_text(v) for v in row] for row in table.rows[:MAX_TABLE_ROWS]]
        if len(cells) < len(table.rows):
            out.append(f"(first {len(cells)} rows; the csv and json formats hold all)")
        widths = [
            min(_MAX_WIDTH, max(len(col), *(len(r[i]) for r in cells)))
            for i, col in enumerate(table.columns)
        ]
        out.append("  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)))
        out.extend(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells
        )
    out.extend(["", *report.notes] if report.notes else [])
    return "\n".join(out) + "\n"


def to_csv(report: Report) -> str:
    """Every table in one CSV file: a `#section,NAME` line, the header, the rows, a blank line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_SECTION, "summary"])
    writer.writerow(["key", "value"])
    writer.writerows([key, _text(value)] for key, value in report.summary.items())
    for table in report.tables:
        writer.writerow([])
        writer.writerow([_SECTION, table.name])
        writer.writerow(table.columns)
        writer.writerows([_text(v) for v in row] for row in table.rows)
    return buffer.getvalue()


def parse_csv(text: str) -> dict[str, list[dict[str, str]]]:
    """Read a report's CSV back: section name -> rows keyed by column (values as text)."""
    sections: dict[str, list[dict[str, str]]] = {}
    current: str | None = None
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            current, header = None, None
        elif row[0] == _SECTION and len(row) == 2:
            current, header = row[1], None
            sections[current] = []
        elif current is None:
            raise ReportError("CSV row outside any section")
        elif header is None:
            header = row
        else:
            sections[current].append(dict(zip(header, row, strict=True)))
    return sections


def to_data(report: Report) -> dict[str, Any]:
    """The report as plain data: what the JSON form holds."""
    return {
        "report": report.name,
        "title": report.title,
        "generated_at": report.params.now.isoformat(),
        "period": {
            "from": report.params.date_from.isoformat() if report.params.date_from else None,
            "to": report.params.date_to.isoformat() if report.params.date_to else None,
        },
        "summary": report.summary,
        # Rows as lists under their columns: a long register encodes twice as fast.
        "tables": {
            t.name: {"title": t.title, "columns": list(t.columns), "rows": t.rows}
            for t in report.tables
        },
        "notes": report.notes,
    }


def to_json(report: Report) -> str:
    """Compact JSON with sorted keys: the same report gives the same bytes.

    Not indented: the indenting encoder is pure Python, ten times slower on a long register.
    """
    return (
        json.dumps(to_data(report), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        + "\n"
    )


def parse_json(text: str) -> dict[str, list[dict[str, Any]]]:
    """Read a report's JSON back: table name -> rows keyed by column."""
    data = json.loads(text)
    return {
        name: [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
        for name, table in data["tables"].items()
    }
