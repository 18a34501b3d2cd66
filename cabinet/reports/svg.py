"""Inline SVG charts for the HTML reports: lines and bars, no script, no external asset."""

from __future__ import annotations

import math
from html import escape

from cabinet.reports.model import Chart

_W, _H = 680, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 34, 24, 44
_CHAR_W = 5.4  # width of one tick-label character at 9 px
# Distinct in print and for the common colour-vision deficiencies (Okabe-Ito).
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _scale_max(values: list[float]) -> float:
    """A round top for the y axis."""
    top = max([*values, 1.0])
    for power in range(0, 10):
        for step in (1, 2, 5):
            if step * 10**power >= top:
                return float(step * 10**power)
    return top


def _axes(top: float, labels: list[str], y_label: str) -> list[str]:
    """The frame, y ticks and a few x labels."""
    plot_h = _H - _TOP - _BOTTOM
    parts = [
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_H - _BOTTOM}" class="axis"/>',
        f'<line x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}"'
        ' class="axis"/>',
        f'<text x="4" y="12" class="lbl">{escape(y_label)}</text>',
    ]
    for i in range(5):
        value = top * i / 4
        y = _H - _BOTTOM - plot_h * i / 4
        parts.append(
            f'<text x="{_LEFT - 4}" y="{y + 3:.1f}" class="tick" text-anchor="end">{value:g}</text>'
        )
    if labels:
        # Timestamps are shown as their day; as many labels as fit side by side.
        shown = [x[:10] if len(x) > 10 and x[4:5] == "-" else x[:12] for x in labels]
        plot_w = _W - _LEFT - _RIGHT
        fit = max(1, int(plot_w // (max(len(x) for x in shown) * _CHAR_W + 10)))
        stride = max(1, math.ceil(len(labels) / fit))
        width = plot_w / len(labels)
        previous = ""
        for i in range(0, len(labels), stride):
            if shown[i] == previous:
                continue
            previous = shown[i]
            x = _LEFT + width * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{_H - _BOTTOM + 14}" class="tick" text-anchor="middle">'
                f"{escape(shown[i])}</text>"
            )
    return parts


def render_chart(chart: Chart) -> str:
    """One chart as an <svg> element with a legend."""
    labels: list[str] = []
    for series in chart.series:
        for x, _ in series.points:
            if x not in labels:
                labels.append(x)
    index = {x: i for i, x in enumerate(labels)}
    values = [v for s in chart.series for _, v in s.points]
    if chart.marker is not None:
        values.append(chart.marker)
    top = _scale_max(values)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / max(1, len(labels))

    def y_of(value: float) -> float:
        """Pixel row of a value."""
        return _H - _BOTTOM - plot_h * value / top

    parts = _axes(top, labels, chart.y_label)
    count = max(1, len(chart.series))
    for n, series in enumerate(chart.series):
        colour = _COLOURS[n % len(_COLOURS)]
        if chart.kind == "bar":
            bar = slot * 0.8 / count
            for x, v in series.points:
                left = _LEFT + slot * index[x] + slot * 0.1 + bar * n
                parts.append(
                    f'<rect x="{left:.1f}" y="{y_of(v):.1f}" width="{bar:.1f}" '
                    f'height="{_H - _BOTTOM - y_of(v):.1f}" fill="{colour}">'
                    f"<title>{escape(series.label)} {escape(x)}: {v:g}</title></rect>"
                )
        else:
            path = " ".join(
                f"{_LEFT + slot * (index[x] + 0.5):.1f},{y_of(v):.1f}" for x, v in series.points
            )
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
            )
    if chart.marker is not None:
        y = y_of(chart.marker)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}" class="marker"/>'
        )
    legend = "".join(
        f'<span class="key"><i style="background:{_COLOURS[n % len(_COLOURS)]}"></i>'
        f"{escape(s.label)}</span>"
        for n, s in enumerate(chart.series)
    )
    return (
        f"<figure><figcaption>{escape(chart.title)}</figcaption>"
        f'<svg viewBox="0 0 {_W} {_H}" width="100%" role="img" aria-label="{escape(chart.title)}"'
        f' xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
        f'<div class="legend">{legend}</div></figure>'
    )
