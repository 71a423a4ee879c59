"""The charts of the reports and the widget apps, drawn with plotly, offline.

One module builds every chart as a plotly figure; :func:`chart_html` writes
one as an HTML fragment for the reports (a static page, Voilà) and
:func:`figure_bundle` as the plotly mime bundle the widget apps display in
an ``Output`` (JupyterLab and Voilà draw it with plotly's own extension).
plotly.js is never fetched from a CDN: a page inlines it once
(``include_js=True`` on its first chart). Every chart sits in a ``<div>``
with a class (``segnb-size-history``, ``segnb-insights-chart``,
``segnb-sizes-chart``) and ``data-`` attributes so pages and tests can find
it. The size history of the report and the sparkline of the browser's card
plot the same points: :func:`history_points`, one per as-of date.

Examples
--------
>>> fig = size_history_figure([("2025-03-30", 1802), ("2025-03-31", 1835)])
>>> [int(y) for y in fig.data[0].y]
[1802, 1835]
>>> 'class="segnb-chart segnb-size-history"' in chart_html(fig, "size-history")
True
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import uuid
from collections.abc import Sequence
from typing import Any

__all__ = [
    "FONT",
    "PALETTE",
    "chart_html",
    "figure_bundle",
    "history_points",
    "insights_chart",
    "insights_figure",
    "size_history_chart",
    "size_history_figure",
    "sizes_chart",
    "sizes_figure",
]

PALETTE = {
    "segment": "#2f6fdf",
    "population": "#9aa7b4",
    "line": "#2f6fdf",
    "grid": "rgba(128,128,128,0.25)",
    "text": "#333a44",
    "muted": "#6b7785",
    "high": "#1e7b34",
    "low": "#b3261e",
}
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"
_CONFIG = {"displayModeBar": False, "responsive": True}
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12}


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def history_points(history: Any) -> list[tuple[Any, int]]:
    """``(as_of, size)`` of a size history, one per as-of date (its newest version), by date.

    ``history`` is a :meth:`segnb.Segment.history` frame (or a Segment). The
    report's history chart and the browser's card sparkline both plot these.
    """
    frame = history.history() if hasattr(history, "history") else history
    if frame is None or len(frame) == 0:
        return []
    if "version" not in frame.columns:  # the version is the frame's index
        frame = frame.reset_index()
    daily = frame.dropna(subset=["as_of"]).sort_values(["as_of", "version"])
    daily = daily.drop_duplicates("as_of", keep="last")
    return [
        (_as_date(r.as_of) or r.as_of, int(r.size))
        for r in daily.itertuples()
        if r.size is not None and r.size == r.size
    ]


def _layout(fig: Any, height: int, **extra: Any) -> Any:
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={**_FONT, "color": PALETTE["muted"]},
        showlegend=False,
        **extra,
    )
    fig.update_xaxes(gridcolor=PALETTE["grid"], zeroline=False, automargin=True)
    fig.update_yaxes(gridcolor=PALETTE["grid"], zeroline=False, automargin=True)
    return fig


def size_history_figure(
    points: Sequence[tuple[Any, Any]], *, unit: str = "", small: bool = False, height: int = 240
):
    """A line of ``(as_of, size)`` points by date (a missing day is a gap in time).

    Sizes are whole numbers: the axis shows them in full (``1,802``), never
    rounded to the same label. ``small`` is the sparkline of a card: no axes.
    """
    import plotly.graph_objects as go

    pts = [(_as_date(x) or x, float(y)) for x, y in points if y is not None]
    fig = go.Figure(
        go.Scatter(
            x=[x for x, _ in pts],
            y=[y for _, y in pts],
            mode="lines+markers",
            line={"color": PALETTE["line"], "width": 2},
            marker={"size": 4 if small else 7, "color": PALETTE["line"]},
            hovertemplate="%{x|%Y-%m-%d}: %{y:,.0f}"
            + (f" {unit}" if unit else "")
            + "<extra></extra>",
        )
    )
    if small:
        _layout(fig, 60, width=200)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    _layout(fig, height)
    dates = all(isinstance(x, dt.date) for x, _ in pts)
    fig.update_xaxes(tickformat="%m-%d", type="date" if dates else "-")
    fig.update_yaxes(tickformat=",d", rangemode="normal")
    if pts and dates:
        first, last = min(x for x, _ in pts), max(x for x, _ in pts)
        if (last - first).days < 7:  # whole days only, never hours that repeat a day's label
            day = dt.timedelta(days=1)
            fig.update_xaxes(dtick=86_400_000, range=[first - day, last + day])
    if pts:
        low, high = min(y for _, y in pts), max(y for _, y in pts)
        if high - low < 8:  # whole sizes only, never fractions rounded to the same label
            fig.update_yaxes(dtick=1 if high - low < 4 else 2, range=[low - 2, high + 2])
    if pts:
        fig.add_annotation(x=pts[-1][0], y=pts[-1][1], text=f"{pts[-1][1]:,.0f}", showarrow=False,
                           yshift=12, font={"color": PALETTE["line"], "size": 12})  # fmt: skip
    else:
        fig.add_annotation(text="no versions yet", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5)  # fmt: skip
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def insights_figure(field: str, buckets: Sequence[dict[str, Any]], *, label: str | None = None):
    """Bars per value of one tag: segment share over population share, the TGI at the end."""
    import plotly.graph_objects as go

    names = [str(b["bucket"]) for b in buckets][::-1]
    seg = [float(b["segment_share"]) for b in buckets][::-1]
    pop = [float(b["population_share"]) for b in buckets][::-1]
    tgis = [b.get("tgi") for b in buckets][::-1]
    shown = [
        "—" if t is None or (isinstance(t, float) and math.isnan(t)) else f"{t:.0f}" for t in tgis
    ]
    fig = go.Figure()
    fig.add_bar(y=names, x=pop, orientation="h", name="population", marker_color=PALETTE["population"],
                hovertemplate="%{y}: population %{x:.1%}<extra></extra>")  # fmt: skip
    fig.add_bar(y=names, x=seg, orientation="h", name="segment", marker_color=PALETTE["segment"],
                text=[f"TGI {s}" for s in shown], textposition="outside", cliponaxis=False,
                hovertemplate="%{y}: segment %{x:.1%}, %{text}<extra></extra>")  # fmt: skip
    _layout(fig, 60 + 26 * len(names), barmode="group", bargap=0.25,
            title={"text": label or field, "x": 0, "font": {"size": 13}},
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right",
                    "font": {"size": 11}})  # fmt: skip
    fig.update_layout(showlegend=True, margin={"l": 8, "r": 48, "t": 44, "b": 8})
    fig.update_xaxes(tickformat=".0%")
    return fig


def sizes_figure(rows: Sequence[tuple[str, Any, str]]):
    """Horizontal bars of segment sizes: ``(name, size, status)`` rows."""
    import plotly.graph_objects as go

    colors = {"active": PALETTE["segment"], "failed": PALETTE["low"]}
    rows = list(rows)[::-1]
    fig = go.Figure(
        go.Bar(
            y=[n for n, _, _ in rows],
            x=[0 if s is None else s for _, s, _ in rows],
            orientation="h",
            marker_color=[colors.get(st, PALETTE["population"]) for _, _, st in rows],
            text=[f"{0 if s is None else s:,} ({st})" for _, s, st in rows],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    _layout(fig, 40 + 26 * len(rows))
    fig.update_xaxes(tickformat=",d")
    return fig


def chart_html(
    fig: Any, kind: str, *, include_js: bool = False, label: str = "", **data: Any
) -> str:
    """One figure as an HTML fragment in ``<div class="segnb-chart segnb-KIND">``.

    ``include_js`` inlines plotly.js (once per page: the page works offline);
    ``data`` become ``data-`` attributes of the div.
    """
    body = fig.to_html(full_html=False, include_plotlyjs=bool(include_js), config=_CONFIG,
                       div_id=f"segnb-plot-{uuid.uuid4().hex[:12]}")  # fmt: skip
    attrs = "".join(f' data-{k.replace("_", "-")}="{_esc(v)}"' for k, v in data.items())
    aria = f' role="img" aria-label="{_esc(label)}"' if label else ""
    return f'<div class="segnb-chart segnb-{kind}"{attrs}{aria} style="width:100%">{body}</div>'


def figure_bundle(fig: Any) -> dict[str, Any]:
    """The mime bundle of a figure (plotly JSON and a text fallback) for an ``Output`` widget."""
    spec = json.loads(fig.to_json())
    spec["config"] = _CONFIG
    return {"application/vnd.plotly.v1+json": spec, "text/plain": "<plotly chart>"}


def size_history_chart(
    points: Sequence[tuple[Any, Any]], *, unit: str = "", include_js: bool = False
) -> str:
    """The size-history chart as HTML (see :func:`size_history_figure`)."""
    fig = size_history_figure(points, unit=unit)
    return chart_html(fig, "size-history", include_js=include_js, label="Size history",
                      points=len([p for p in points if p[1] is not None]))  # fmt: skip


def insights_chart(field: str, buckets: Sequence[dict[str, Any]], *, label: str | None = None,
                   include_js: bool = False) -> str:  # fmt: skip
    """One tag's insights chart as HTML (see :func:`insights_figure`)."""
    fig = insights_figure(field, buckets, label=label)
    return chart_html(fig, "insights-chart", include_js=include_js, label=f"Insights: {label or field}",
                      field=field)  # fmt: skip


def sizes_chart(rows: Sequence[tuple[str, Any, str]], *, include_js: bool = False) -> str:
    """Segment sizes as HTML (see :func:`sizes_figure`)."""
    return chart_html(
        sizes_figure(rows), "sizes-chart", include_js=include_js, label="Segment sizes"
    )
