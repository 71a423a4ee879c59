"""Small HTML pieces of the rich results: badges, key-value tables, folded SQL, sparklines.

Everything that reaches the page goes through :func:`esc`; nothing here
runs a query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from segnb.html import CELL, badge, esc, kv_table, number

__all__ = [
    "ERROR",
    "GOOD",
    "MUTED",
    "badge",
    "esc",
    "fold",
    "kv_table",
    "number",
    "sparkline",
    "table",
]

# colours that read on light and dark JupyterLab themes: its CSS variables, with fallbacks
MUTED = "var(--jp-ui-font-color2, #666)"
ERROR = "var(--jp-error-color1, #b3261e)"
GOOD = "var(--jp-success-color1, #1e7b34)"
LINE = "var(--jp-brand-color1, #3b73b9)"

BOX = (
    "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;"
    "line-height:1.45;max-width:60em"
)
PRE = (
    "margin:2px 0;padding:6px 8px;background:var(--jp-layout-color2,#f6f6f6);"
    "white-space:pre-wrap;font-size:12px;border-radius:3px"
)


def fold(summary: str, text: str, open_: bool = False) -> str:
    """A ``<details>`` block holding ``text`` as preformatted code."""
    state = " open" if open_ else ""
    return (
        f'<details class="segnb-fold"{state}><summary style="cursor:pointer">{esc(summary)}'
        f'</summary><pre style="{PRE}">{esc(text)}</pre></details>'
    )


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "segnb-table") -> str:
    """A plain table of already-escaped cells."""
    head = "".join(f'<th style="{CELL};font-weight:600">{esc(c)}</th>' for c in columns)
    nowrap = f"{CELL};white-space:nowrap"
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{CELL if i == len(row) - 1 else nowrap}">{cell}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def sparkline(points: Sequence[Any], width: int = 120, height: int = 26) -> str:
    """An inline SVG line of a size history; empty for fewer than two points.

    ``points`` are ``(as_of, size)`` pairs, oldest first, as
    :func:`segnb.reports.charts.history_points` gives them (the report's
    history chart plots the same ones): x follows the dates, so a missing day
    is a wider step. Plain numbers are spaced evenly.

    Examples
    --------
    >>> import datetime as dt
    >>> sparkline([(dt.date(2025, 3, 1), 3), (dt.date(2025, 3, 3), 5)]).startswith("<svg")
    True
    >>> sparkline([3, 5, 4]).startswith("<svg"), sparkline([7])
    (True, '')
    """
    pairs = [p if isinstance(p, tuple) else (i, p) for i, p in enumerate(points)]
    pairs = [(x, float(v)) for x, v in pairs if v is not None]
    if len(pairs) < 2:
        return ""
    xs = [_ordinal(x, i) for i, (x, _) in enumerate(pairs)]
    values = [v for _, v in pairs]
    pad = 3
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / ((xs[-1] - xs[0]) or 1)

    def y(v: float) -> float:
        if high == low:
            return height / 2
        return height - pad - (v - low) / span * (height - 2 * pad)

    coords = [(pad + (x - xs[0]) * step, y(v)) for x, v in zip(xs, values, strict=True)]
    path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
    last_x, last_y = coords[-1]
    first, last = pairs[0][0], pairs[-1][0]
    dates = f" from {first} to {last}" if isinstance(first, dt.date) else ""
    title = (
        f"size history: {len(values)} points{dates}, min {low:,.0f}, max {high:,.0f}, "
        f"last {values[-1]:,.0f}"
    )
    return (
        f'<svg class="segnb-sparkline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'style="vertical-align:middle"><title>{esc(title)}</title>'
        f'<polyline style="fill:none;stroke:{LINE};stroke-width:1.5" points="{path}"/>'
        f'<circle style="fill:{LINE}" cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.2"/></svg>'
    )


def _ordinal(x: Any, index: int) -> float:
    """A point's place on the x axis: its day for a date, else its position."""
    if isinstance(x, dt.datetime):
        return x.timestamp() / 86400
    if isinstance(x, dt.date):
        return float(x.toordinal())
    return float(index)
