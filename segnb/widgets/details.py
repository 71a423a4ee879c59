"""The details panel of a segment: metadata, rule, SQL, size history and insights."""

from __future__ import annotations

import html
from typing import Any

from segnb.errors import SegnbError
from segnb.reports.charts import insights_svg
from segnb.widgets._base import ERROR, MUTED
from segnb.widgets.charts import history_points, history_svg

__all__ = ["details_html"]

FIELDS = (("group", "Group"), ("method", "Method"), ("status", "Status"), ("size", "Size"),
          ("version", "Version"), ("as_of", "As of"), ("refresh", "Refresh"),
          ("expires_at", "Expires"), ("scenario", "Usage"), ("timezone", "Time zone"),
          ("email", "E-mail"), ("scope", "Scope"), ("owner", "Owner"),
          ("description", "Description"), ("error", "Error"))  # fmt: skip


def _esc(value: Any) -> str:
    return html.escape(
        "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
    )


def details_html(seg: Any, insights: int = 3) -> str:
    """HTML of one segment's details (``insights``: how many tags' distributions to show)."""
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
    points = history_points(seg)
    if points:
        parts.append("<b>Size history</b>" + history_svg(points, unit=info.get("entity") or ""))
    if insights and info.get("status") == "active":
        parts.append(_insights(seg, insights))
    return "<div class='segnb-details-panel'>" + "".join(parts) + "</div>"


def _insights(seg: Any, most: int) -> str:
    try:
        frame = seg.insights()
    except (SegnbError, ValueError, KeyError):
        return ""
    spread = []
    for name, group in frame.groupby("field", sort=False):
        score = (group["segment_share"] - group["population_share"]).abs().sum() / 2
        spread.append((score, name, group))
    spread.sort(key=lambda x: -x[0])
    charts = [insights_svg(name, group.to_dict("records")) for _, name, group in spread[:most]]
    return (
        f"<b>Insights</b> <span style='color:{MUTED}'>(most distinctive tags, TGI)</span>"
        f"<div>{''.join(charts)}</div>"
    )
