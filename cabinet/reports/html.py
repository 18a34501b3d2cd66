"""The HTML form of a report: one self-contained file, charts inline, printable on A4."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from cabinet.reports.model import Cell, Report
from cabinet.reports.svg import render_chart

# Rows shown per table in HTML; the CSV and JSON forms always hold every row.
MAX_HTML_ROWS = 20000

_CSS = """
body{font:10pt/1.35 "DejaVu Sans",Arial,sans-serif;color:#111;margin:16px;}
h1{font-size:15pt;margin:0 0 4px}h2{font-size:12pt;margin:18px 0 4px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{border:1px solid #bbb;padding:2px 4px;text-align:left;vertical-align:top}
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dl.summary dt{font-weight:bold}dl.summary dd{margin:0}
figure{margin:8px 0;break-inside:avoid}figcaption{font-weight:bold}
svg .axis{stroke:#444}svg .tick,svg .lbl{font-size:9px;fill:#333}
svg .marker{stroke:#900;stroke-dasharray:4 3}
.legend .key{margin-right:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.meta,.note{color:#444;font-size:9pt}.wrap{overflow-x:auto}
@page{size:A4 landscape;margin:10mm}
@media print{body{margin:0;font-size:8pt}thead{display:table-header-group}
th,td{padding:1px 2px;word-break:break-word}
tr{break-inside:avoid}h2{break-after:avoid}}
"""


def _cell(value: Cell) -> str:
    """One <td>, numbers right-aligned."""
    if value is None:
        return "<td></td>"
    kind = type(value)
    if kind is str:
        text = str(value)
        # Most cells (codes, times, names) hold nothing to escape: skip the five replaces.
        if _PLAIN.fullmatch(text):
            return f"<td>{text}</td>"
        return f"<td>{escape(text)}</td>"
    if kind is int or isinstance(value, int | float):
        return f'<td class="n">{value}</td>'
    return f"<td>{escape(str(value))}</td>"


_PLAIN = re.compile(r"[^&<>\"']*")


def to_html(report: Report) -> str:
    """A complete HTML document with no external asset."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">Generated {escape(report.params.now.isoformat(timespec="seconds"))}</p>',
        '<dl class="summary">',
        *(
            f"<dt>{escape(k)}</dt><dd>{escape('' if v is None else str(v))}</dd>"
            for k, v in report.summary.items()
        ),
        "</dl>",
        *(render_chart(chart) for chart in report.charts),
    ]
    for table in report.tables:
        shown = table.rows[:MAX_HTML_ROWS]
        parts.append(
            f'<h2 id="{escape(table.name)}">{escape(table.title)} ({len(table.rows)})</h2>'
        )
        if len(shown) < len(table.rows):
            parts.append(
                f'<p class="note">First {len(shown)} rows shown; '
                "the CSV and JSON forms hold all.</p>"
            )
        parts.append(f'<div class="wrap"><table data-name="{escape(table.name)}"><thead><tr>')
        parts.extend(f"<th>{escape(c)}</th>" for c in table.columns)
        parts.append("</tr></thead><tbody>")
        parts.extend("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in shown)
        parts.append("</tbody></table></div>")
    parts.extend(f'<p class="note">{escape(n)}</p>' for n in report.notes)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class _TableReader(HTMLParser):
    """Collects the rows of every `<table data-name>` of a report page."""

    def __init__(self) -> None:
        """No table, row or cell open yet."""
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._name: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a table, a row or a cell."""
        if tag == "table":
            self._name = dict(attrs).get("data-name") or ""
            self.tables[self._name] = []
        elif tag == "tr" and self._name is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        """Close a cell, a row or a table."""
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._name is not None and self._row is not None:
            self.tables[self._name].append(self._row)
            self._row = None
        elif tag == "table":
            self._name = None

    def handle_data(self, data: str) -> None:
        """Text inside a cell."""
        if self._cell is not None:
            self._cell.append(data)


def parse_html_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Read the tables of a report page back: name -> rows keyed by the header."""
    reader = _TableReader()
    reader.feed(text)
    result: dict[str, list[dict[str, str]]] = {}
    for name, rows in reader.tables.items():
        header, *body = rows
        result[name] = [dict(zip(header, row, strict=True)) for row in body]
    return result
