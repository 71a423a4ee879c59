"""Small HTML pieces of the rich results: badges, key-value tables, folded SQL, sparklines.

Everything that reaches the page goes through :func:`esc`; nothing here
runs a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from segnb.html import CELL, badge, esc, kv_table, number

__all__ = ["badge", "esc", "fold", "kv_table", "number", "sparkline", "table"]

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


def sparkline(values: Sequence[float], width: int = 120, height: int = 26) -> str:
    """An inline SVG line of ``values`` (oldest first); empty for fewer than two points.

    Examples
    --------
    >>> sparkline([3, 5, 4]).startswith("<svg")
    True
    >>> sparkline([7])
    ''
    """
    points = [float(v) for v in values if v is not None]
    if len(points) < 2:
        return ""
    pad = 3
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / (len(points) - 1)

    def y(v: float) -> float:
        if high == low:
            return height / 2
        return height - pad - (v - low) / span * (height - 2 * pad)

    coords = [(pad + i * step, y(v)) for i, v in enumerate(points)]
    path = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in coords)
    last_x, last_y = coords[-1]
    title = f"size history: {len(points)} versions, min {low:,.0f}, max {high:,.0f}, last {points[-1]:,.0f}"
    return (
        f'<svg class="segnb-sparkline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'style="vertical-align:middle"><title>{esc(title)}</title>'
        f'<polyline fill="none" stroke="#3b73b9" stroke-width="1.5" points="{path}"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.2" fill="#3b73b9"/></svg>'
    )
