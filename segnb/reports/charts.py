"""Charts of the reports as inline SVG: no plotting library, no JavaScript.

An SVG string renders the same in a notebook, in Voilà, in a static HTML
file and in most mail clients that show HTML. Every chart carries a class
(``segnb-size-history``, ``segnb-insights-chart``, ``segnb-sizes-chart``)
and an ``aria-label`` so pages and tests can find it.

Examples
--------
>>> svg = size_history_svg([("2025-03-30", 120), ("2025-03-31", 135)])
>>> svg.startswith("<svg") and "segnb-size-history" in svg
True
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = ["PALETTE", "history_points", "insights_svg", "size_history_svg", "sizes_svg"]

PALETTE = {
    "segment": "#2f6fdf",
    "population": "#b8c2cc",
    "line": "#2f6fdf",
    "grid": "#e6e9ed",
    "text": "#333a44",
    "muted": "#6b7785",
    "high": "#1e7b34",
    "low": "#b3261e",
}
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def history_points(history: Any) -> list[tuple[dt.date, int]]:
    """``(as_of, size)`` of a size history, one per as-of date (its newest version), by date.

    ``history`` is a :meth:`segnb.Segment.history` frame (or a Segment). The
    report's history chart and the browser's card sparkline both plot these.
    """
    frame = history.history() if hasattr(history, "history") else history
    if frame is None or len(frame) == 0:
        return []
    daily = frame.dropna(subset=["as_of"]).sort_values(["as_of", "version"])
    daily = daily.drop_duplicates("as_of", keep="last")
    return [
        (_as_date(r.as_of) or r.as_of, int(r.size)) for r in daily.itertuples() if r.size == r.size
    ]


def _nice_step(span: float, ticks: int = 4, whole: bool = False) -> float:
    """A round distance between axis ticks; at least 1 (and never 2.5) for whole numbers."""
    raw = span / max(ticks, 1)
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    step = 10 * power
    for factor in (1, 2, 2.5, 5, 10):
        if whole and factor == 2.5:
            continue
        if raw <= factor * power:
            step = factor * power
            break
    return max(1.0, step) if whole else step


def _short(value: float) -> str:
    value = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"


def size_history_svg(
    points: Sequence[tuple[Any, Any]],
    *,
    width: int = 640,
    height: int = 220,
    title: str = "Size history",
    unit: str = "",
    heading: bool = True,
) -> str:
    """A line chart of ``(as_of, size)`` points, oldest first (dates or text on x).

    Examples
    --------
    >>> "polyline" in size_history_svg([("2025-03-01", 10), ("2025-03-02", 12)])
    True
    """
    pts = [(str(x), None if y is None else float(y)) for x, y in points]
    pts = [(x, y) for x, y in pts if y is not None]
    left, right, top, bottom = 56, 16, (30 if heading else 12), 34
    inner_w, inner_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="segnb-chart segnb-size-history" '
        f'role="img" aria-label="{_esc(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT};max-width:100%;height:auto">',
        f"<title>{_esc(title)}</title>",
    ]
    if heading:
        parts.append(
            f'<text x="{left}" y="18" font-size="13" font-weight="600" fill="{PALETTE["text"]}">'
            f"{_esc(title)}</text>"
        )
    if not pts:
        parts.append(
            f'<text x="{left}" y="{top + inner_h / 2}" font-size="12" fill="{PALETTE["muted"]}">'
            "no versions yet</text></svg>"
        )
        return "".join(parts)
    ys = [y for _, y in pts]
    low, high = min(ys), max(ys)
    if high == low:
        low, high = max(0.0, low - 1), high + 1
    pad = (high - low) * 0.1
    low = max(0.0, low - pad) if min(ys) >= 0 else low - pad
    high += pad
    step = _nice_step(high - low, whole=all(float(y).is_integer() for y in ys))
    first_tick = math.ceil(low / step) * step

    def y_of(v: float) -> float:
        return top + inner_h - (v - low) / (high - low) * inner_h

    days = [_as_date(x) for x, _ in pts]
    if None in days or len(pts) == 1 or days[-1] <= days[0]:
        spots = [0.5 if len(pts) == 1 else i / (len(pts) - 1) for i in range(len(pts))]
    else:  # dates: a missing day leaves a gap
        span = (days[-1] - days[0]).days
        spots = [(d - days[0]).days / span for d in days]

    def x_of(i: int) -> float:
        return left + spots[i] * inner_w

    tick = first_tick
    while tick <= high + 1e-9:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + inner_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{PALETTE["grid"]}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{PALETTE["muted"]}">{_short(tick)}</text>'
        )
        tick += step
    labels = _label_indexes(len(pts), max(2, inner_w // 90))
    for i in labels:
        parts.append(
            f'<text x="{x_of(i):.1f}" y="{height - 12}" font-size="11" text-anchor="middle" '
            f'fill="{PALETTE["muted"]}">{_esc(_day(pts[i][0]))}</text>'
        )
    coords = " ".join(f"{x_of(i):.1f},{y_of(y):.1f}" for i, (_, y) in enumerate(pts))
    parts.append(
        f'<polyline points="{coords}" fill="none" stroke="{PALETTE["line"]}" stroke-width="2" '
        'stroke-linejoin="round"/>'
    )
    for i, (x, y) in enumerate(pts):
        parts.append(
            f'<circle cx="{x_of(i):.1f}" cy="{y_of(y):.1f}" r="3" fill="{PALETTE["line"]}">'
            f"<title>{_esc(x)}: {y:,.0f}{(' ' + _esc(unit)) if unit else ''}</title></circle>"
        )
    last_x, last_y = x_of(len(pts) - 1), y_of(pts[-1][1])
    parts.append(
        f'<text x="{min(last_x, left + inner_w - 4):.1f}" y="{max(last_y - 8, top + 10):.1f}" '
        f'font-size="11" text-anchor="end" font-weight="600" fill="{PALETTE["text"]}">'
        f"{pts[-1][1]:,.0f}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _label_indexes(n: int, most: int) -> list[int]:
    if n <= most:
        return list(range(n))
    step = math.ceil((n - 1) / (most - 1))
    out = list(range(0, n, step))
    if out[-1] != n - 1:
        if n - 1 - out[-1] < step / 2:
            out[-1] = n - 1
        else:
            out.append(n - 1)
    return out


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _day(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value:%m-%d}"
    text = str(value)
    return text[5:10] if len(text) >= 10 and text[4] == "-" else text


def insights_svg(
    field: str,
    buckets: Sequence[dict[str, Any]],
    *,
    width: int = 460,
    label: str | None = None,
) -> str:
    """Bars of one field's buckets: segment share over population share, with the TGI.

    ``buckets`` are rows of :meth:`segnb.Segment.insights` (``bucket``,
    ``segment_share``, ``population_share``, ``tgi``).
    """
    row_h, top, label_w, tgi_w = 22, 38, 176, 48
    height = top + row_h * len(buckets) + 10
    bar_w = width - label_w - tgi_w - 10
    most = max([b["segment_share"] for b in buckets] + [b["population_share"] for b in buckets]
               + [1e-9])  # fmt: skip
    title = label or field
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="segnb-chart segnb-insights-chart" '
        f'data-field="{_esc(field)}" role="img" aria-label="Insights: {_esc(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="{FONT};max-width:100%;height:auto">',
        f"<title>{_esc(title)}: segment vs population, TGI</title>",
        f'<text x="0" y="16" font-size="13" font-weight="600" fill="{PALETTE["text"]}">'
        f"{_esc(title)}</text>",
        f'<text x="{width}" y="16" font-size="11" text-anchor="end" fill="{PALETTE["muted"]}">'
        "TGI</text>",
        f'<rect x="{label_w}" y="24" width="10" height="8" fill="{PALETTE["segment"]}"/>'
        f'<text x="{label_w + 14}" y="32" font-size="10" fill="{PALETTE["muted"]}">segment</text>'
        f'<rect x="{label_w + 70}" y="24" width="10" height="8" fill="{PALETTE["population"]}"/>'
        f'<text x="{label_w + 84}" y="32" font-size="10" fill="{PALETTE["muted"]}">population'
        "</text>",
    ]
    for i, b in enumerate(buckets):
        y = top + i * row_h
        seg_w = b["segment_share"] / most * bar_w
        pop_w = b["population_share"] / most * bar_w
        tgi = b.get("tgi")
        tgi_ok = tgi is not None and not (isinstance(tgi, float) and math.isnan(tgi))
        color = PALETTE["text"]
        if tgi_ok and tgi >= 120:
            color = PALETTE["high"]
        elif tgi_ok and tgi <= 80:
            color = PALETTE["low"]
        name = str(b["bucket"])
        shown = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f'<g class="segnb-bucket"><title>{_esc(name)}: segment {b["segment_share"]:.1%} '
            f"({int(b.get('segment', 0)):,}), population {b['population_share']:.1%} "
            f"({int(b.get('population', 0)):,})"
            + (f", TGI {tgi:.0f}" if tgi_ok else "")
            + "</title>"
            f'<text x="{label_w - 8}" y="{y + 14}" font-size="11" text-anchor="end" '
            f'fill="{PALETTE["text"]}">{_esc(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(pop_w, 0.5):.1f}" height="16" '
            f'fill="{PALETTE["population"]}" rx="2"/>'
            f'<rect x="{label_w}" y="{y + 7}" width="{max(seg_w, 0.5):.1f}" height="8" '
            f'fill="{PALETTE["segment"]}" rx="2"/>'
            f'<text x="{width}" y="{y + 14}" font-size="11" text-anchor="end" '
            f'font-weight="600" fill="{color}">{f"{tgi:.0f}" if tgi_ok else "—"}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sizes_svg(rows: Sequence[tuple[str, Any, str]], *, width: int = 640) -> str:
    """Horizontal bars of segment sizes: ``(name, size, status)`` rows."""
    row_h, top, label_w = 22, 6, 170
    shown = [(n, 0 if s is None else float(s), st) for n, s, st in rows]
    height = top + row_h * len(shown) + 10
    bar_w = width - label_w - 70
    most = max([s for _, s, _ in shown] + [1.0])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="segnb-chart segnb-sizes-chart" '
        f'role="img" aria-label="Segment sizes" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT};max-width:100%;height:auto">',
        "<title>Segment sizes</title>",
    ]
    colors = {"active": PALETTE["segment"], "failed": PALETTE["low"]}
    for i, (name, size, status) in enumerate(shown):
        y = top + i * row_h
        w = size / most * bar_w
        label = name if len(name) <= 24 else name[:23] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" font-size="11" text-anchor="end" '
            f'fill="{PALETTE["text"]}">{_esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="16" rx="2" '
            f'fill="{colors.get(status, PALETTE["population"])}"><title>{_esc(name)}: '
            f"{size:,.0f} ({_esc(status)})</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="11" '
            f'fill="{PALETTE["muted"]}">{_short(size)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
