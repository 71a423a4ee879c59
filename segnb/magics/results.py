"""What the magics return: objects with an HTML face for Jupyter and a clean text face.

:class:`SegmentResult` *is* a :class:`segnb.Segment` (every method works:
``seg = %segment show vip; seg.refresh()``) that renders as a card with its
size, status, group, expiry, rule, folded SQL and a sparkline of its size
history. The others wrap plain values: an estimate is an ``int``, SQL a
``str``, so they compute and compare like the values they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from segnb.errors import NotAvailableError
from segnb.lang.parse import is_set_expression
from segnb.magics.html import (
    BOX,
    ERROR,
    GOOD,
    MUTED,
    PRE,
    badge,
    esc,
    fold,
    kv_table,
    number,
    sparkline,
    table,
)
from segnb.reports.charts import history_points
from segnb.segments.segment import METHOD_LABELS, Segment, SegmentList, Verification

__all__ = [
    "ChangesResult",
    "ConnectionResult",
    "EstimateResult",
    "Note",
    "SQLResult",
    "SegmentListResult",
    "SegmentResult",
    "VerifyResult",
]


def _safe_html(render, fallback: Any) -> str:
    """``render()``, or the escaped text repr when the store cannot be read right now."""
    try:
        return render()
    except Exception as exc:  # a repr must never raise in a notebook
        return f"<pre>{esc(repr(fallback))}</pre><div style='color:{ERROR}'>{esc(exc)}</div>"


class SegmentResult(Segment):
    """A stored segment as a rich result (see :class:`segnb.Segment` for the methods)."""

    @classmethod
    def of(cls, segment: Segment) -> SegmentResult:
        """The rich face of ``segment`` (read again from the store)."""
        if isinstance(segment, cls):
            return segment
        return cls(segment.ctx, segment.name)

    def _repr_html_(self) -> str:
        return _safe_html(self._html, self)

    def _html(self) -> str:
        d = self.to_dict()
        points = []  # one per as-of date, as the report's history chart plots them
        if d["version"] is not None:
            points = history_points(self.history())
        size = "no members yet" if d["size"] is None else f"{number(d['size'])} {esc(d['entity'])}"
        head = (
            f'<div style="font-size:15px"><b>{esc(d["name"])}</b> {badge(d["status"])} '
            f'<span style="margin-left:6px">{size}</span> '
            f'<span style="margin-left:6px">{sparkline(points)}</span></div>'
        )
        version = ""
        if d["version"] is not None:
            version = f"{d['version']} as of {esc(d['as_of'])}"
            if d.get("refreshed_at"):
                version += f", written {esc(_minute(d['refreshed_at']))} UTC"
        scope = esc(d["scope"])
        if d["shared_with"]:
            scope += " with " + esc(", ".join(d["shared_with"]))
        report = d.get("details", {}).get("report") or {}
        rows = [
            ("group", esc(d["group"])),
            ("method", esc(METHOD_LABELS.get(d["method"], d["method"]))),
            ("description", esc(d["description"])),
            ("version", version),
            ("refresh", esc(d["refresh"]) + (", time-sensitive" if d["time_sensitive"] else "")),
            ("expires", esc(d["expires_at"]) if d["expires_at"] else "never"),
            ("scenario", esc(d["scenario"])),
            ("owner", f"{esc(d['owner'])} ({scope})"),
            ("time zone", esc(d["timezone"])),
            ("email", esc(d["email"])),
            ("list", esc(_report_text(report)) if report else ""),
            (
                "error",
                f'<span style="color:{ERROR}">{esc(d["error"])}</span>' if d["error"] else "",
            ),
        ]
        parts = [head, kv_table(rows)]
        text = d.get("text")
        if text:
            label = "set" if d["method"] == "sets" else "rule"
            parts.append(f'<div><b>{label}</b><pre style="{PRE}">{esc(text.strip())}</pre></div>')
        try:
            parts.append(fold("SQL", self.sql))
        except Exception as exc:  # e.g. a segment it is made of was deleted
            parts.append(f'<div style="color:{ERROR}">SQL unavailable: {esc(exc)}</div>')
        return f'<div class="segnb-segment" style="{BOX}">{"".join(parts)}</div>'


def _minute(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else str(value)


def _report_text(report: dict[str, Any]) -> str:
    keys = ("rows", "matched", "unmatched", "duplicates", "malformed")
    return ", ".join(f"{report[k]:,} {k}" for k in keys if isinstance(report.get(k), int))


class SegmentListResult(SegmentList):
    """Segments of ``%segment list``: a list of :class:`SegmentResult`, a table in Jupyter."""

    COLUMNS = (
        "name",
        "status",
        "size",
        "method",
        "group",
        "as_of",
        "refresh",
        "expires_at",
        "owner",
        "description",
    )

    @classmethod
    def of(cls, segments: list[Segment]) -> SegmentListResult:
        return cls(SegmentResult.of(s) for s in segments)

    def _repr_html_(self) -> str:
        return _safe_html(self._html, self)

    def _html(self) -> str:
        if not self:
            return f'<div style="{BOX}">no segments</div>'
        rows = []
        for seg in self:
            d = seg.to_dict()
            rows.append(
                [
                    f"<b>{esc(d['name'])}</b>",
                    badge(d["status"]),
                    number(d["size"]),
                    esc(METHOD_LABELS.get(d["method"], d["method"])),
                    esc(d["group"]),
                    esc(d["as_of"]),
                    esc(d["refresh"]),
                    esc(d["expires_at"] or "never"),
                    esc(d["owner"]),
                    esc(d["description"]),
                ]
            )
        columns = [c.replace("_at", "").replace("_", " ") for c in self.COLUMNS]
        count = f"{len(self)} segment{'s' if len(self) != 1 else ''}"
        return f'<div style="{BOX}">{table(columns, rows)}<div style="color:{MUTED}">{count}</div></div>'


class EstimateResult(int):
    """An estimated size (an ``int``) with the rule, date and, for dry runs, the SQL."""

    rule: str
    as_of: dt.date | None
    entity: str
    sql: str | None
    name: str | None

    def __new__(
        cls,
        size: int,
        rule: str,
        as_of: dt.date | None,
        entity: str,
        sql: str | None = None,
        name: str | None = None,
    ) -> EstimateResult:
        self = super().__new__(cls, size)
        self.rule, self.as_of, self.entity, self.sql, self.name = rule, as_of, entity, sql, name
        return self

    @property
    def size(self) -> int:
        return int(self)

    def _when(self) -> str:

        if is_set_expression(self.rule):
            return "from the current versions"
        return f"as of {self.as_of}" if self.as_of else "as of today"

    def __repr__(self) -> str:
        what = f" would be in {self.name!r}" if self.name else " match"
        return f"{int(self):,} {self.entity}{what} ({self._when()}; nothing saved)"

    def _repr_html_(self) -> str:
        what = f" would be in <b>{esc(self.name)}</b>" if self.name else " match"
        parts = [
            f'<div style="font-size:15px"><b>{number(int(self))}</b> {esc(self.entity)}{what} '
            f'<span style="color:{MUTED}">({esc(self._when())}; nothing saved)</span></div>',
            f'<pre style="{PRE}">{esc(self.rule.strip())}</pre>',
        ]
        if self.sql:
            parts.append(fold("SQL", self.sql))
        return f'<div class="segnb-estimate" style="{BOX}">{"".join(parts)}</div>'


class SQLResult(str):
    """SQL text: prints as itself, shows as a code block in Jupyter."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f'<pre class="segnb-sql" style="{PRE}">{esc(self)}</pre>'


class VerifyResult(Verification):
    """The answer of ``%segment verify``: truthy when the id is a member."""

    @classmethod
    def of(cls, v: Verification) -> VerifyResult:
        return cls(**v.to_dict())

    def _repr_html_(self) -> str:
        mark = "&#10004;" if self.member else "&#10008;"
        color = GOOD if self.member else ERROR
        text = repr(self)[1:-1]
        return f'<div style="{BOX}"><span style="color:{color}">{mark}</span> {esc(text)}</div>'


class ChangesResult:
    """``%segment changes``: how many entered and left, with the first ids of each.

    ``changes`` is the :class:`segnb.segments.changes.Changes` behind it;
    ``entered`` and ``left`` are pandas samples (by id), or None where the
    ids were pruned (``notes`` then says so).
    """

    def __init__(self, changes: Any, entity_id: str, limit: int) -> None:
        self.changes = changes
        self.samples: dict[str, Any] = {}
        self.notes: dict[str, str] = {}
        for kind in ("entered", "left"):
            try:
                found = getattr(changes, kind).order_by(entity_id)
                self.samples[kind] = (found.limit(limit) if limit else found).to_pandas()
            except NotAvailableError as exc:
                self.samples[kind], self.notes[kind] = None, str(exc)

    @property
    def entered(self):
        return self.samples["entered"]

    @property
    def left(self):
        return self.samples["left"]

    def __repr__(self) -> str:
        lines = [repr(self.changes)[1:-1]]
        for kind in ("entered", "left"):
            sample = self.samples[kind]
            if sample is None:
                lines.append(f"{kind}: {self.notes[kind]}")
            elif len(sample):
                ids = ", ".join(map(str, sample.iloc[:, 0].tolist()))
                lines.append(f"{kind} (first {len(sample)}): {ids}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        ch = self.changes
        since = "its first version" if ch.since is None else f"version {ch.since}"
        parts = [
            f"<div><b>{esc(ch.segment)}</b>: version {ch.version} against {esc(since)}: "
            f'<span style="color:{GOOD}">{number(ch.entered_count)} entered</span>, '
            f'<span style="color:{ERROR}">{number(ch.left_count)} left</span></div>'
        ]
        for kind in ("entered", "left"):
            sample = self.samples[kind]
            if sample is None:
                parts.append(f'<div style="color:{MUTED}">{kind}: {esc(self.notes[kind])}</div>')
            elif len(sample):
                parts.append(f"<div>{kind} (first {len(sample):,}):</div>"
                             + sample.to_html(index=False, max_rows=len(sample)))  # fmt: skip
        return f'<div style="{BOX}">' + "".join(parts) + "</div>"


class Note:
    """A one-line outcome (exported, deleted, …) with the values behind it as attributes."""

    def __init__(self, text: str, **values: Any) -> None:
        self.text = text
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<div class="segnb-note" style="{BOX}">{esc(self.text)}</div>'


class ConnectionResult:
    """What ``%segnb connect``/``demo``/``status`` show: the warehouse, catalog and settings."""

    def __init__(self, workspace: Any, source: str, settings: dict[str, Any]) -> None:
        self.workspace = workspace
        self.source = source
        self.settings = dict(settings)

    def _entities(self) -> list[tuple[str, str]]:
        out = []
        cat = self.workspace.catalog
        for name, ent in cat.entities.items():
            counts = (
                f"{len(ent.tag_names)} tags, {len(ent.attributes)} attributes, "
                f"{len(ent.events)} event table{'s' if len(ent.events) != 1 else ''}"
            )
            out.append((name, f"table {ent.table} (id {ent.id}): {counts}"))
        return out

    def __repr__(self) -> str:
        lines = [f"segnb connected to {self.source} ({self.workspace.con.name})"]
        lines += [f"  {name}: {text}" for name, text in self._entities()]
        lines.append(
            "  store schema {store_schema!r}, owner {owner!r}, default group {default_group!r}, "
            "time zone {tz}".format(tz=self.settings.get("timezone") or "local", **self.settings)
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [("warehouse", f"{esc(self.source)} ({esc(self.workspace.con.name)})")]
        rows += [(name, esc(text)) for name, text in self._entities()]
        rows += [
            ("store schema", esc(self.settings.get("store_schema"))),
            ("owner", esc(self.settings.get("owner"))),
            ("default group", esc(self.settings.get("default_group"))),
            ("time zone", esc(self.settings.get("timezone") or "local time")),
        ]
        return f'<div class="segnb-connection" style="{BOX}"><b>segnb</b>{kv_table(rows)}</div>'
