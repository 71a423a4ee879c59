"""Charts of the apps: plotly figures of :mod:`segnb.reports.charts` in ``Output`` widgets.

JupyterLab and Voilà draw them with plotly's own front-end extension (no
CDN). The card sparkline and the details' size history plot
:func:`history_points`, the same points as the segment's report.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from segnb.errors import SegnbError
from segnb.reports.charts import (
    figure_bundle,
    insights_figure,
    size_history_figure,
)
from segnb.reports.charts import history_points as _points

__all__ = [
    "chart",
    "curve_figure",
    "history_points",
    "importance_figure",
    "insights_charts",
    "sparkline",
]


def history_points(seg: Any) -> list[tuple[Any, int]]:
    """``(as_of, size)`` per day of ``seg`` (none for None or a segment without versions)."""
    if seg is None:
        return []
    try:
        return _points(seg)
    except (SegnbError, KeyError, AttributeError):
        return []


def chart(fig: Any, kind: str, width: str = "100%") -> w.Output:
    """An ``Output`` widget showing ``fig`` (class ``segnb-KIND``); ``.outputs`` holds its data."""
    out = w.Output(layout=w.Layout(width=width))
    out.add_class(f"segnb-{kind}")
    out.outputs = ({"output_type": "display_data", "data": figure_bundle(fig), "metadata": {}},)
    return out


def sparkline(points: list[tuple[Any, int]]) -> w.Output | None:
    """The small size-history line of a card (None below two points)."""
    if len(points) < 2:
        return None
    return chart(size_history_figure(points, small=True), "sparkline", width="205px")


def insights_charts(seg: Any, most: int = 3) -> list[w.Output]:
    """The ``most`` most distinctive tags of ``seg`` against the population (TGI)."""
    try:
        frame = seg.insights()
    except (SegnbError, ValueError, KeyError):
        return []
    spread = []
    for name, group in frame.groupby("field", sort=False):
        score = (group["segment_share"] - group["population_share"]).abs().sum() / 2
        spread.append((score, name, group))
    spread.sort(key=lambda x: -x[0])
    return [
        chart(
            insights_figure(name, group.to_dict("records"), label=group["label"].iloc[0]),
            "insights-chart",
        )
        for _, name, group in spread[:most]
    ]


def curve_figure(
    curve: dict[str, Any], title: str, xlabel: str, ylabel: str, diagonal: bool = False
):
    """A ROC or precision-recall curve of an evaluation."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=curve.get("x") or [], y=curve.get("y") or [], mode="lines",
                               line={"width": 2}))  # fmt: skip
    if diagonal:
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "width": 1})
    fig.update_layout(title={"text": title, "x": 0}, height=280, width=320, showlegend=False,
                      margin={"l": 8, "r": 8, "t": 34, "b": 8},
                      xaxis={"title": xlabel, "range": [0, 1]}, yaxis={"title": ylabel, "range": [0, 1.02]})  # fmt: skip
    return fig


def importance_figure(pairs: list[tuple[str, float]]):
    """Bars of feature importances, largest on top."""
    import plotly.graph_objects as go

    pairs = list(pairs)[::-1]
    fig = go.Figure(go.Bar(y=[k for k, _ in pairs], x=[v for _, v in pairs], orientation="h"))
    # a set width, as the curves have: JupyterLab draws a plotly figure without one 0 px high
    fig.update_layout(title={"text": "Feature importances", "x": 0}, height=60 + 24 * len(pairs),
                      width=660, margin={"l": 8, "r": 8, "t": 34, "b": 8})  # fmt: skip
    return fig
