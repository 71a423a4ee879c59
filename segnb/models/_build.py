"""The SQL side of :mod:`segnb.models.features`: discovery queries and the feature query.

:class:`FeatureBuilder` discovers the columns (enum values, the events and
numeric fields present in the longest window) and builds the one Ibis query
of the feature table: the entity table left-joined to each tag table's
latest snapshot (a scalar subquery for the date, as the rule compiler does)
and to one conditional aggregation per events table.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import operator
import re
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from segnb.catalog.model import EventSource
from segnb.compile.time import day_range, midnight
from segnb.errors import CatalogError, InvalidValueError
from segnb.models.kinds import KINDS, Feature

__all__ = ["FeatureBuilder"]

ONE_DAY = datetime.timedelta(days=1)
_MAX_NAME = 60  # PostgreSQL truncates identifiers at 63 bytes


def _slug(text: Any) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    return slug or "x"


class FeatureBuilder:
    """Discovery queries and the feature table of one entity at one date."""

    def __init__(self, catalog, ent, day, zone, windows, ids) -> None:
        self.catalog, self.ent, self.day, self.zone = catalog, ent, day, zone
        self.windows = tuple(windows)
        self.lookback = max(self.windows)
        self.ids = ids
        self.history = False
        self._used: set[str] = {ent.id}

    def name(self, *parts: Any) -> str:
        base = "_".join(_slug(p) for p in parts if p is not None and p != "")[:_MAX_NAME]
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base[: _MAX_NAME - 4]}_{n}"
        self._used.add(name)
        return name

    # -- discovery --------------------------------------------------------------

    def discover(
        self, max_categories: int, min_share: float, history: bool = False
    ) -> list[Feature]:
        ent, out = self.ent, []
        self.history = history
        base = self.catalog.table(ent.table)
        for f in ent.attributes.values():
            out += self._field_features(f, "attribute", ent.table, base, max_categories, min_share)
        for source in ent.tags:
            rows = self._snapshot(source)
            for f in source.fields.values():
                out += self._field_features(f, "tag", source.table, rows, max_categories, min_share)
        for source in ent.events:
            out += self._event_features(source)
        return out

    def _field_features(self, f, origin, table, rows, max_categories, min_share) -> list[Feature]:
        if f.type == "number":
            return [Feature(self.name(f.name), f.name, "number", origin, table)]
        if f.type == "boolean":
            return [Feature(self.name(f.name), f.name, "boolean", origin, table)]
        if f.type == "datetime":
            return [Feature(self.name("days_since", f.name), f.name, "days_since", origin, table)]
        values = _top_values(rows, f.name, max_categories, min_share)
        return [
            Feature(self.name(f.name, v), f.name, "one_hot", origin, table, value=_plain(v))
            for v in values
        ]

    def _event_features(self, source: EventSource) -> list[Feature]:
        t = self.catalog.table(source.table)
        rows = t.filter(
            self._days(t[source.time], self.day - (self.lookback - 1) * ONE_DAY, self.day)
        )
        numeric = [f.name for f in source.fields.values() if f.dtype.is_numeric()]
        stats = {"_n": rows.count()} | {f"_f{i}": rows[c].count() for i, c in enumerate(numeric)}
        if source.name is None:
            frame = rows.aggregate(**stats).to_pyarrow().to_pylist()
            found = [(source.event, r) for r in frame]
        else:
            grouped = rows.group_by(_event=rows[source.name]).aggregate(**stats).order_by("_event")
            found = [(r["_event"], r) for r in grouped.to_pyarrow().to_pylist()]
        out: list[Feature] = []
        for event, r in found:
            if event is None or not r["_n"]:
                continue
            event = str(event)
            for w in self.windows:
                out.append(Feature(self.name("count", event, f"{w}d"), event, "count", "event",
                                   source.table, window=w))  # fmt: skip
            for i, column in enumerate(numeric):
                if r[f"_f{i}"]:
                    for w in self.windows:
                        out.append(Feature(self.name("sum", event, column, f"{w}d"), event, "sum",
                                           "event", source.table, field=column, window=w))  # fmt: skip
            out.append(
                Feature(self.name("days_since", event), event, "recency", "event", source.table)
            )
            if self.history:
                fields = [c for i, c in enumerate(numeric) if r[f"_f{i}"]]
                out += self._history_features(source, event, fields)
        return out

    def _history_features(self, source: EventSource, event: str, fields: list[str]):
        """Frequency, trend, monetary means, tenure and the ever-aggregates of one event."""
        table, out = source.table, []

        def add(kind, *parts, field=None, window=None):
            out.append(Feature(self.name(*parts), event, kind, "event", table, field=field,
                               window=window))  # fmt: skip

        for w in self.windows:
            add("active_days", "active_days", event, f"{w}d", window=w)
            add("trend", "trend", event, f"{w}d", window=w)
            for column in fields:
                add("mean", "mean", event, column, f"{w}d", field=column, window=w)
        add("count", "count", event, "ever")
        add("active_days", "active_days", event, "ever")
        for column in fields:
            add("sum", "sum", event, column, "ever", field=column)
            add("mean", "mean", event, column, "ever", field=column)
        add("tenure", "tenure", event)
        add("last_seen", "last_seen", event, "ever")
        return out

    # -- the table ----------------------------------------------------------------

    def build(self, features: Sequence[Feature]):
        ent = self.ent
        base = self.catalog.table(ent.table)
        if self.ids is not None:
            base = base.filter(base[ent.id].isin(self._id_column(self.ids)))
        columns: dict[str, Any] = {}
        joined = base
        by_tags: dict[str, list[Feature]] = {}
        by_events: dict[str, list[Feature]] = {}
        for f in features:
            if f.kind not in KINDS:
                raise InvalidValueError(f"feature {f.name!r} has an unknown kind {f.kind!r}")
            if f.origin == "tag":
                by_tags.setdefault(f.table, []).append(f)
            elif f.origin == "event":
                by_events.setdefault(f.table, []).append(f)
            elif f.source not in ent.attributes:
                raise CatalogError(f"{ent.name} has no attribute {f.source!r} any more; retrain")
        right_cols: dict[str, Any] = {}
        keys = itertools.count()
        for table, feats in by_tags.items():
            source = _find(ent.tags, table, "tag table")
            rows = self._snapshot(source)
            for f in feats:
                if f.source not in source.fields:
                    raise CatalogError(f"tag table {table!r} has no tag {f.source!r} any more")
            key = f"__segnb_key_{next(keys)}"
            right = rows.select(**{key: rows[source.id]}, **{
                f"_v_{f.name}": self._value(f, rows[f.source], source.fields[f.source].dtype)
                for f in feats
            })  # fmt: skip
            joined = joined.left_join(right, joined[ent.id] == right[key])
            right_cols.update({f.name: f"_v_{f.name}" for f in feats})
        for table, feats in by_events.items():
            source = _find(ent.events, table, "events table")
            key = f"__segnb_key_{next(keys)}"
            right = self._aggregation(source, feats, key)
            joined = joined.left_join(right, joined[ent.id] == right[key])
            for f in feats:
                right_cols[f.name] = f"_v_{f.name}"
        fill = float(self.lookback + 1)
        for f in features:
            if f.origin == "attribute":
                dtype = ent.attributes[f.source].dtype
                columns[f.name] = self._value(f, joined[f.source], dtype)
            elif f.kind in ("count", "sum", "active_days", "trend"):
                columns[f.name] = joined[right_cols[f.name]].coalesce(0).cast("float64")
            elif f.kind == "recency":
                columns[f.name] = joined[right_cols[f.name]].coalesce(fill).cast("float64")
            elif f.kind == "one_hot":
                columns[f.name] = joined[right_cols[f.name]].coalesce(0).cast("float64")
            else:
                columns[f.name] = joined[right_cols[f.name]].cast("float64")
        return joined.select(joined[ent.id], **columns)

    def _id_column(self, ids):
        col = self.ent.id if self.ent.id in ids.columns else ids.columns[0]
        return ids[col]

    def _snapshot(self, source):
        t = self.catalog.table(source.table)
        day = t[source.date]
        if day.type().is_timestamp():
            upto = day < self._midnight(self.day + ONE_DAY, day.type())
        else:
            upto = day <= self.day
        rows = t.filter(day == t.filter(upto)[source.date].max())
        if self.ids is not None:
            rows = rows.filter(rows[source.id].isin(self._id_column(self.ids)))
        return rows

    def _value(self, f: Feature, column, dtype: dt.DataType):
        if f.kind == "number":
            return column.cast("float64")
        if f.kind == "boolean":
            return column.cast("boolean").cast("int32").cast("float64")  # NULL stays NULL
        if f.kind == "days_since":
            return (self._end_epoch(dtype) - _epoch(column)) / 86400.0
        if f.kind == "one_hot":
            value = f.value
            if dtype.is_boolean() and not isinstance(value, bool):
                value = str(value).lower() == "true"
            # integer branches cast once: 1.0/0.0 would be NUMERIC in PostgreSQL
            return (column == value).ifelse(1, 0).cast("float64")
        raise InvalidValueError(f"feature {f.name!r} of kind {f.kind!r} is not a tag feature")

    def _aggregation(self, source: EventSource, feats: list[Feature], key: str):
        """One scan of an events table: every count, sum and recency as a conditional aggregate.

        The scan covers the longest window, two of them when a trend compares a
        window with the one before it, and everything up to the as-of day when a
        feature reads all history (``window=None``, tenure, last seen).
        """
        t = self.catalog.table(source.table)
        span = self._span(feats)
        if span is None:
            scan = [self._upto(t[source.time])]
        else:
            scan = [self._days(t[source.time], self.day - (span - 1) * ONE_DAY, self.day)]
        events = sorted({f.source for f in feats})
        if source.name is not None:
            scan.insert(0, t[source.name].isin(events))
        elif events != [source.event]:
            raise CatalogError(f"events table {source.table!r} holds only {source.event!r} events")
        rows = t.filter(*scan)
        if self.ids is not None:
            rows = rows.filter(rows[source.id].isin(self._id_column(self.ids)))
        end = self._end_epoch(source.time_dtype)
        ago = (end - _epoch(rows[source.time])) / 86400.0  # days before the end of the as-of day
        aggregates = {}
        for f in feats:
            parts = []
            if source.name is not None and len(events) > 1:
                parts.append(rows[source.name] == f.source)
            windowed = f.kind in ("count", "sum", "active_days", "mean", "trend")
            window = self.lookback if f.kind == "recency" else f.window if windowed else None
            if window is not None and window != span:
                parts.append(self._days(rows[source.time], self.day - (window - 1) * ONE_DAY,
                                        self.day))  # fmt: skip
            where = functools.reduce(operator.and_, parts) if parts else None
            if f.kind in ("sum", "mean") and f.field not in source.fields:
                raise CatalogError(f"events in {source.table!r} have no field {f.field!r}")
            if f.kind == "count":
                value = rows.count(where=where)
            elif f.kind == "sum":
                value = rows[f.field].sum(where=where)
            elif f.kind == "mean":
                value = rows[f.field].cast("float64").mean(where=where)
            elif f.kind == "active_days":
                value = (-ago).floor().nunique(where=where)  # the day: -1 is the as-of day
            elif f.kind == "trend":
                w = f.window
                before = self._days(rows[source.time], self.day - (2 * w - 1) * ONE_DAY,
                                    self.day - w * ONE_DAY)  # fmt: skip
                if source.name is not None and len(events) > 1:
                    before = before & (rows[source.name] == f.source)
                value = rows.count(where=where) - rows.count(where=before)
            elif f.kind == "recency":
                value = ago.min(where=where)
            elif f.kind in ("tenure", "last_seen"):
                value = ago.max(where=where) if f.kind == "tenure" else ago.min(where=where)
            else:
                raise InvalidValueError(
                    f"feature {f.name!r} of kind {f.kind!r} is not an event feature"
                )
            aggregates[f"_v_{f.name}"] = value
        return rows.group_by(**{key: rows[source.id]}).aggregate(**aggregates)

    def _span(self, feats: list[Feature]) -> int | None:
        """Days of events one scan reads (None: all up to the as-of day)."""
        if any(f.kind in ("tenure", "last_seen") or (f.kind != "recency" and f.window is None)
               for f in feats):  # fmt: skip
            return None
        windows = [f.window for f in feats if f.window is not None]
        trends = [2 * f.window for f in feats if f.kind == "trend"]
        return max([self.lookback, *windows, *trends])

    def _upto(self, column):
        """``day(column) <= as_of``."""
        dtype = column.type()
        if dtype.is_date():
            return column <= self.day
        return column < self._midnight(self.day + ONE_DAY, dtype)

    # -- time: the compiler's day ranges --------------------------------------------

    def _midnight(self, day: datetime.date, dtype: dt.DataType):
        return midnight(day, dtype, self.zone)

    def _days(self, column, first: datetime.date, last: datetime.date):
        return day_range(column, first, last, self.zone)

    def _end_epoch(self, dtype: dt.DataType) -> float:
        """Seconds since 1970 of the end of the as-of day, as the engine counts ``dtype``."""
        moment = datetime.datetime.combine(self.day + ONE_DAY, datetime.time())
        if dtype.is_timestamp() and dtype.timezone is not None:
            return moment.replace(tzinfo=self.zone).timestamp()
        return moment.replace(tzinfo=datetime.timezone.utc).timestamp()  # naive: wall clock


def _epoch(column):
    if column.type().is_date():
        column = column.cast("timestamp")
    return column.epoch_seconds().cast("float64")


def _find(sources, table: str, what: str):
    for source in sources:
        if source.table == table:
            return source
    raise CatalogError(f"the catalog has no {what} {table!r} any more; retrain the model")


def _top_values(rows, column: str, limit: int, min_share: float) -> list[Any]:
    """The most frequent values of a column held by at least ``min_share`` of the rows."""
    col = rows[column]
    counts = (
        rows.filter(col.notnull())
        .group_by(_value=col)
        .aggregate(_n=ibis._.count())
        .order_by([ibis.desc("_n"), "_value"])
        .limit(limit)
    )
    total = int(rows.count().execute())
    if not total:
        return []
    found = counts.to_pyarrow().to_pylist()
    return [r["_value"] for r in found if r["_n"] / total >= min_share and r["_n"] >= 2]


def _plain(value: Any) -> Any:
    """A JSON-ready category value."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value
