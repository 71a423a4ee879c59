"""The details panel of a segment: metadata, rule, SQL, size history and insights."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from segnb.errors import SegnbError
from segnb.reports.charts import size_history_figure
from segnb.widgets._base import ERROR, MUTED
from segnb.widgets.charts import chart, history_points, insights_charts

__all__ = ["details_html", "details_widgets"]

FIELDS = (("group", "Group"), ("method", "Method"), ("status", "Status"), ("size", "Size"),
          ("version", "Version"), ("as_of", "As of"), ("refresh", "Refresh"),
          ("expires_at", "Expires"), ("scenario", "Usage"), ("timezone", "Time zone"),
          ("email", "E-mail"), ("scope", "Scope"), ("owner", "Owner"),
          ("description", "Description"), ("error", "Error"))  # fmt: skip


def _esc(value: Any) -> str:
    return html.escape(
        "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
    )


def details_html(seg: Any) -> str:
    """HTML of one segment's metadata, rule and SQL."""
    try:
        info = seg.to_dict()
    except SegnbError as err:
        return f"<div style='color:{ERROR}'>{_esc(err)}</div>"
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:12px;color:{MUTED}'>{label}</th>"
        f"<td>{_esc(info.get(key))}</td></tr>"
        for key, label in FIELDS if info.get(key) not in (None, "")
    )  # fmt: skip
    parts = [
        f"<h3 class='segnb-details-name' style='margin:6px 0'>{_esc(info['name'])}"
        f" <span style='color:{MUTED};font-size:0.8em'>id {seg.id}</span></h3>",
        f"<table class='segnb-details-table'>{rows}</table>",
    ]
    if info.get("text"):
        parts.append(
            f"<b>Rule</b><pre class='segnb-rule-text' style='white-space:pre-wrap'>{_esc(info['text'])}</pre>"
        )
    try:
        sql = seg.sql
    except (SegnbError, ValueError):
        sql = ""
    if sql:
        parts.append(
            f"<details><summary>SQL</summary><pre style='white-space:pre-wrap;font-size:12px'>{_esc(sql)}</pre></details>"
        )
    return "<div class='segnb-details-panel'>" + "".join(parts) + "</div>"


def details_widgets(seg: Any, insights: int = 3) -> list[w.Widget]:
    """The details panel: metadata, rule and SQL, then the size history and insights charts."""
    parts: list[w.Widget] = [w.HTML(details_html(seg))]
    points = history_points(seg)
    if points:
        parts += [w.HTML("<b>Size history</b>"), chart(size_history_figure(points), "size-history")]
    try:
        active = seg.status == "active"
    except SegnbError:
        active = False
    if insights and active:
        charts = insights_charts(seg, insights)
        if charts:
            parts.append(w.HTML(f"<b>Insights</b> <span style='color:{MUTED}'>(most distinctive tags: "
                                "segment against population, TGI)</span>"))  # fmt: skip
            parts += charts
    return parts
