"""The sections of the segment report, and what every report page shares.

The report notebooks in ``templates/`` are a few cells that call these: each
section is an object with ``_repr_html_`` (what Jupyter, Voilà and nbconvert
show) and ``data`` (what tests and other code read). Nothing here imports
IPython.

Examples
--------
>>> report = SegmentReport.open("active_buyers", url="duckdb:///warehouse.duckdb")  # doctest: +SKIP
>>> report.size_history()                                                       # doctest: +SKIP
>>> report.insights().data["fields"][:3]                                        # doctest: +SKIP
['member_level', 'trade_cnt_7d', 'total_spend']
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from segnb.connection import connect
from segnb.errors import InvalidValueError, StoreError
from segnb.html import badge as shared_badge
from segnb.html import esc, number
from segnb.html import kv_table as shared_kv_table
from segnb.reports.charts import FONT, PALETTE, history_points, insights_chart, size_history_chart
from segnb.times import today

__all__ = [
    "Section",
    "SegmentReport",
    "badge",
    "esc",
    "html_table",
    "kv_table",
    "number",
    "open_workspace",
    "parameters",
    "run_badge",
    "when",
]

#: parameters a viewer may set in the page's query string (never the warehouse)
QUERY_KEYS = ("segment", "as_of")
CARD = (
    f"{FONT};color:{PALETTE['text']};font-size:14px;line-height:1.5;max-width:1000px;"
    "margin:0 auto 18px auto"
)
H2 = "font-size:17px;font-weight:600;margin:6px 0 8px 0;border-bottom:1px solid #e6e9ed;padding-bottom:4px"
CELL = "text-align:left;padding:3px 14px 3px 0;border:none;vertical-align:top"
PRE = (
    "margin:4px 0;padding:8px 10px;background:#f6f8fa;border-radius:4px;white-space:pre-wrap;"
    "font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace"
)


def badge(status: str) -> str:
    return shared_badge(status, "padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600")


def kv_table(rows: list[tuple[str, str]]) -> str:
    label = f"font-weight:500;color:{PALETTE['muted']};white-space:nowrap"
    return shared_kv_table(rows, cell=CELL, label=label, style="border-collapse:collapse")


def html_table(columns: list[str], rows: list[list[str]], cls: str = "segnb-table") -> str:
    head = "".join(
        f'<th style="{CELL};font-weight:600;border-bottom:1px solid #d0d7de">{esc(c)}</th>'
        for c in columns
    )
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL};white-space:nowrap">{c}</td>' for c in r) + "</tr>"
        for r in rows
    )
    return (
        f'<table class="{cls}" style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _backtest_html(bt: dict[str, Any]) -> str:
    """A forecast's backtest: its metrics and the reliability table (calibration)."""
    head = f'<h2 style="{H2}">Backtest (the model trained one horizon earlier)</h2>'
    if not bt.get("available"):
        return head + f"<p>not available: {esc(bt.get('reason', ''))}</p>"
    window = bt.get("checked_label_window") or ["", ""]
    rows = [("trained on", esc(bt.get("trained_on", ""))),
            ("scored on", esc(bt.get("scored_on", ""))),
            ("checked against", esc(f"{window[0]} .. {window[1]}"))]  # fmt: skip
    for key in ("roc_auc", "pr_auc", "lift_10", "lift_20", "brier"):
        if isinstance(bt.get(key), (int, float)):
            rows.append((key, esc(f"{bt[key]:.3f}")))
    table = [[esc(f"{r['low']:.1f}-{r['high']:.1f}"), esc(f"{r['weight']:,.0f}"),
              esc(f"{r['mean_score']:.3f}"), esc(f"{r['observed_rate']:.3f}")]
             for r in bt.get("reliability", [])]  # fmt: skip
    calibration = html_table(["score", "entities", "mean score", "observed rate"], table)
    return head + kv_table(rows) + '<p style="margin:8px 0 2px 0">Calibration</p>' + calibration


@dataclass
class Section:
    """One part of a report: its HTML and the data it shows."""

    name: str
    html: str
    data: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        if not self.html:
            return ""
        return f'<section class="segnb-report segnb-{esc(self.name)}" style="{CARD}">{self.html}</section>'

    def __repr__(self) -> str:
        return f"<segnb report section {self.name!r}>"


def parameters(**defaults: Any) -> dict[str, Any]:
    """``defaults`` with the values of Voilà's query string (``?segment=NAME&as_of=…``).

    Only :data:`QUERY_KEYS` may come from the query string: a viewer can pick
    a segment, never another warehouse.
    """
    query = parse_qs(os.environ.get("QUERY_STRING", ""))
    out = dict(defaults)
    for key in QUERY_KEYS:
        if query.get(key) and query[key][0].strip():
            out[key] = query[key][0].strip()
    return out


def open_workspace(url: str | None = None, catalog: str | None = None, schema: str | None = None):
    """A read-only workspace for a report (read-write if the store must be upgraded first)."""

    ws = connect(url, catalog, read_only=True)
    try:
        ws.open_store(schema)
        return ws
    except StoreError:
        with contextlib.suppress(Exception):
            ws.con.disconnect()
    ws = connect(url, catalog)
    ws.open_store(schema)
    return ws


# -- one segment ------------------------------------------------------------------


class SegmentReport:
    """The report of one segment: header, size history, insights, model, rule and SQL, sample."""

    def __init__(self, ws: Any, segment: str, *, as_of: Any = None) -> None:
        self.ws = ws
        self.segment = ws.segment(segment)
        self.as_of = as_of
        self.info = self.segment.to_dict()

    @classmethod
    def open(
        cls,
        segment: str,
        url: str | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        as_of: Any = None,
    ) -> SegmentReport:
        """The report of ``segment`` on the warehouse ``url`` (opened read-only)."""
        if not segment:
            raise InvalidValueError("the report needs a segment name (the `segment` parameter)")
        return cls(open_workspace(url, catalog, schema), segment, as_of=as_of)

    def header(self) -> Section:
        d = self.info
        size = "no members yet" if d["size"] is None else f"{d['size']:,} {esc(d['entity'])}"
        version = "" if d["version"] is None else f"version {d['version']} as of {d['as_of']}"
        expires = "never" if d["expires_at"] is None else str(d["expires_at"])
        if d["expires_at"] is not None:
            left = (d["expires_at"] - today(d["timezone"])).days
            if 0 <= left <= 7:
                expires += f' <span style="color:{PALETTE["low"]}">(in {left} days)</span>'
        rows = [
            ("Size", f'<b class="segnb-size">{size}</b>'),
            ("Version", esc(version)),
            ("Refreshed", esc(when(d["refreshed_at"]))),
            ("Group", esc(d["group"])),
            ("Method", esc(d["method"])),
            ("Refresh", esc(d["refresh"]) + (" (due)" if d["due"] else "")),
            ("Expires", expires),
            ("Owner", esc(d["owner"])),
            ("Notify", esc(d["email"])),
            ("Error", f'<span style="color:{PALETTE["low"]}">{esc(d["error"])}</span>'
             if d["error"] and d["status"] == "failed" else ""),
        ]  # fmt: skip
        body = (
            f'<h1 class="segnb-title" style="font-size:24px;margin:4px 0 2px 0">'
            f"{esc(d['name'])} {badge(d['status'])}</h1>"
            + (f'<p style="margin:0 0 8px 0;color:{PALETTE["muted"]}">{esc(d["description"])}</p>'
               if d["description"] else "")
            + kv_table(rows)
        )  # fmt: skip
        return Section("header", body, {"segment": d})

    def size_history(self) -> Section:
        frame = self.segment.history()
        points = history_points(frame)  # one per as-of date, as the browser's cards plot them
        # the page's first chart carries plotly.js: the page works offline
        chart = size_history_chart(points, unit=self.info["entity"], include_js=True)
        sizes = [int(p[1]) for p in points if p[1] is not None]
        summary = ""
        if len(sizes) > 1:
            summary = (
                f'<p style="margin:4px 0;color:{PALETTE["muted"]}">{len(sizes)} days; '
                f"smallest {min(sizes):,}, largest {max(sizes):,}; last change "
                f"{sizes[-1] - sizes[-2]:+,}</p>"
            )
        return Section(
            "history", f'<h2 style="{H2}">Size history</h2>{chart}{summary}', {"history": frame}
        )

    def insights(self, fields: list[str] | None = None, most: int = 12) -> Section:
        """Bars per tag (segment vs population share) with the TGI, most distinctive first."""
        frame = self.segment.insights(fields, as_of=self.as_of)
        order = []
        for name, group in frame.groupby("field", sort=False):
            spread = (group["segment_share"] - group["population_share"]).abs().sum() / 2
            order.append((spread, name))
        order.sort(key=lambda t: -t[0])
        names = [n for _, n in order][:most]
        charts = []
        for name in names:
            group = frame[frame["field"] == name]
            charts.append(
                '<div style="flex:1 1 440px;min-width:300px">'
                + insights_chart(name, group.to_dict("records"), label=group["label"].iloc[0])
                + "</div>"
            )
        note = (
            f'<p style="margin:2px 0 10px 0;color:{PALETTE["muted"]};font-size:12px">'
            "Share of the segment (blue) against the whole population (grey) per value; "
            "TGI = segment share / population share \u00d7 100 (above 120 green, below 80 red). "
            "Tags are most distinctive first.</p>"
        )
        body = (
            f'<h2 style="{H2}">Insights</h2>{note}'
            f'<div class="segnb-insights" style="display:flex;flex-wrap:wrap;gap:14px 28px">'
            + "".join(charts)
            + "</div>"
        )
        return Section("insights", body, {"insights": frame, "fields": names})

    def model(self) -> Section:
        """Held-out evaluation of the model behind a predicted or lookalike segment."""
        method = self.info["method"]
        evaluate = getattr(self.segment, "evaluation", None)
        if method not in ("prediction", "lookalike") or not callable(evaluate):
            return Section("model", "", {})
        try:
            evaluation = evaluate()
        except Exception as exc:  # a report shows what it can
            return Section(
                "model",
                f'<h2 style="{H2}">Model evaluation</h2><p>not available: {esc(exc)}</p>',
                {},
            )
        rows = []
        for key, value in (evaluation or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
                rows.append((metric_label(key), esc(shown)))
            elif isinstance(value, str):
                rows.append((metric_label(key), esc(value)))
        body = f'<h2 style="{H2}">Model evaluation (held-out data)</h2>' + kv_table(rows)
        backtest = (evaluation or {}).get("backtest")
        if isinstance(backtest, dict):
            body += _backtest_html(backtest)
        return Section("model", body, {"evaluation": evaluation, "backtest": backtest})

    def definition(self) -> Section:
        """The rule (or set expression, or source) and the SQL the warehouse runs."""
        d = self.info
        text = d["text"]
        if text is None:
            details = d["definition"]
            text = (
                details.get("query")
                or (f"table {details['table']}" if details.get("table") else None)
                or f"{d['method']} segment"
            )
        try:
            sql = self.segment.sql
        except Exception as exc:  # uploads and models may not compile to one query
            sql = f"-- not available: {exc}"
        body = (
            f'<h2 style="{H2}">Rule and SQL</h2>'
            f'<pre class="segnb-rule" style="{PRE}">{esc(text)}</pre>'
            f'<details><summary style="cursor:pointer;color:{PALETTE["muted"]}">SQL '
            f"({esc(self.ws.con.name)})</summary>"
            f'<pre class="segnb-sql" style="{PRE}">{esc(sql)}</pre></details>'
        )
        return Section("definition", body, {"text": text, "sql": sql})

    def sample(self, n: int = 10) -> Section:
        """The first ``n`` members (by id) with their entity attributes."""
        if self.info["size"] is None:
            return Section("sample", "", {})
        ent = self.ws.catalog.entity(self.info["entity"])
        members = self.segment.members()
        entities = self.ws.catalog.table(ent.table)
        columns = [c for c in ent.attributes if c in entities.columns][:8]
        table = members.left_join(entities.select(ent.id, *columns), ent.id).select(
            ent.id, *columns
        )
        frame = table.order_by(ent.id).limit(n).to_pandas()
        rows = [[esc(_cell(v)) for v in r] for r in frame.itertuples(index=False)]
        body = (
            f'<h2 style="{H2}">Member sample</h2>'
            f'<p style="margin:2px 0 6px 0;color:{PALETTE["muted"]}">The first {len(frame)} of '
            f"{self.info['size']:,} members by {esc(ent.id)}.</p>"
            + html_table(list(frame.columns), rows, "segnb-table segnb-sample")
        )
        return Section("sample", body, {"sample": frame})

    def footer(self) -> Section:
        now = dt.datetime.now(dt.timezone.utc)
        body = (
            f'<p style="color:{PALETTE["muted"]};font-size:12px;margin:8px 0">Made by segnb '
            f"on {now:%Y-%m-%d %H:%M} UTC from {esc(self.ws.con.name)}.</p>"
        )
        return Section("footer", body, {})

    def sections(self) -> list[Section]:
        return [self.header(), self.size_history(), self.insights(), self.model(),
                self.definition(), self.sample(), self.footer()]  # fmt: skip

    def close(self) -> None:
        """Let go of the warehouse (a DuckDB file open in a report kernel blocks its writers)."""
        with contextlib.suppress(Exception):
            self.ws.con.disconnect()


_WORDS = {"auc": "AUC", "roc": "ROC", "pr": "PR", "f1": "F1", "pu": "PU", "id": "id"}


def metric_label(key: str) -> str:
    """A metric's key as words: ``validation_auc`` -> 'Validation AUC', ``lift_10`` -> 'Lift at 10%'."""
    parts = str(key).split("_")
    if parts[0] == "lift" and len(parts) == 2 and parts[1].isdigit():
        return f"Lift at {parts[1]}%"
    words = [_WORDS.get(p.lower(), p) for p in parts]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def run_badge(status: str | None) -> str:
    """A notebook run's status (succeeded, failed, running) as a badge."""
    return badge(status or "running")


def _cell(value: Any) -> Any:
    """A table cell as text: no NaN, whole floats without .0, midnight datetimes as dates."""
    import pandas as pd

    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}" if value.time() == dt.time() else f"{value:%Y-%m-%d %H:%M}"
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return str(value)[:19]
    return value


def when(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return str(value)
