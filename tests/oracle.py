"""An independent evaluator of rule trees in plain pandas: the tests' source of truth.

It reads the same tables as the compiler, pulled into pandas DataFrames, and
evaluates the rule row by row in Python terms, with SQL's three-valued logic
held in pandas' nullable ``boolean`` dtype (Kleene ``&``, ``|``, ``~``). It
shares nothing with :mod:`segnb.compile.rules` except the catalog's table and
column names: no Ibis expressions, no SQL.

Semantics (SPEC §3 and the compiler's contract):

- a comparison with a missing value is unknown; ``not`` unknown stays
  unknown; an entity is a member only where the whole rule is true;
- a tag's latest value comes from the newest snapshot day <= T of its table,
  one day for everyone; ``tag@D`` from the snapshot of day D exactly;
- a datetime compared with a date compares its calendar day (in ``tz`` for
  tz-aware times);
- ``count``/``sum`` take the named events whose day (in ``tz`` for tz-aware
  times) is in the window and whose filter is true; both are 0 without events.
- ``first``/``last`` are the earliest/latest time of those events (compared
  by calendar day), ``days_since`` is T minus the day of the latest up to T;
  ``avg``/``min``/``max`` of the field's present values; all unknown without
  events. ``distinct`` counts present values, ``active_days`` days: 0 without.
  A window left out is every day up to T.
- ``did(a then b … within g, w)``: a search over the entity's events in the
  window for steps at strictly increasing times, each at most ``g`` after the
  previous one.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from segnb.catalog.model import Catalog, Entity
from segnb.lang import behaviour as b
from segnb.lang import nodes as r

__all__ = ["Oracle"]

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Oracle:
    """Evaluate rules on pandas copies of the warehouse tables.

    Parameters
    ----------
    frames
        Table name -> DataFrame (every table the catalog's entity uses).
    catalog, entity
        Which tables and columns hold the entity, its tags and events.
    tz
        Time zone in which days of tz-aware times begin.
    segments, scores
        Stand-ins for the segment store: name -> member ids, name -> {id: score}.
    """

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame],
        catalog: Catalog,
        entity: str | None = None,
        *,
        tz: str = "UTC",
        segments: Mapping[str, set] | None = None,
        scores: Mapping[str, Mapping[Any, float]] | None = None,
    ) -> None:
        self.frames = frames
        self.entity: Entity = catalog.entity(entity)
        self.tz = tz
        self.segments = segments or {}
        self.scores = scores or {}
        table = frames[self.entity.table]
        self.ids = pd.Index(table[self.entity.id], name="id")
        self.table = table.set_index(self.entity.id)
        self._days: dict[tuple[str, str], pd.Series] = {}

    # -- public -----------------------------------------------------------------

    def members(self, rule: r.Node, as_of: datetime.date) -> set:
        """The ids for which ``rule`` is true on ``as_of``."""
        self.as_of = as_of
        self.rows: pd.DataFrame | None = None  # event rows while evaluating a where filter
        truth = self.cond(rule)
        return set(truth.index[truth.fillna(False).astype(bool)].tolist())

    # -- conditions: nullable boolean Series ------------------------------------

    def cond(self, node: r.Node) -> pd.Series:
        if isinstance(node, r.And):
            out = self.cond(node.parts[0])
            for part in node.parts[1:]:
                out = out & self.cond(part)
            return out
        if isinstance(node, r.Or):
            out = self.cond(node.parts[0])
            for part in node.parts[1:]:
                out = out | self.cond(part)
            return out
        if isinstance(node, r.Not):
            return ~self.cond(node.part)
        if isinstance(node, r.Compare):
            value = self.literal(node.value)
            return self.test(node.left, value, lambda x, v=value: OPS[node.op](x, v))
        if isinstance(node, r.In):
            values = [self.literal(v) for v in node.values]
            found = self.test(node.left, values[0], lambda x: x.isin(values))
            return ~found if node.negated else found
        if isinstance(node, r.Between):
            low, high = self.literal(node.low), self.literal(node.high)
            return self.test(node.left, low, lambda x: (x >= low) & (x <= high))
        if isinstance(node, r.IsNull):
            missing = self.operand(node.left).isna()
            return (~missing if node.negated else missing).astype("boolean")
        if isinstance(node, r.Truth):
            return self.operand(node.left).astype("boolean")
        if isinstance(node, r.Did):
            count = self.events(node.event, node.window, node.where, None)
            return (count >= 1).astype("boolean")
        if isinstance(node, b.DidSequence):
            return self.sequence(node)
        if isinstance(node, r.InSegment):
            if node.name not in self.segments:
                raise KeyError(f"oracle has no members for segment {node.name!r}")
            return pd.Series(self.ids.isin(list(self.segments[node.name])), index=self.ids).astype(
                "boolean"
            )
        raise TypeError(f"oracle cannot evaluate {type(node).__name__}")

    def test(self, left: r.Node, sample: Any, fn: Callable[[pd.Series], Any]) -> pd.Series:
        """``fn`` on the present values of ``left``; unknown where it is missing."""
        values = self.operand(left)
        if isinstance(sample, datetime.date):
            values = self.days(values)
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        present = values.notna()
        if present.any():
            out[present] = pd.Series(fn(values[present]), index=values.index[present]).astype(bool)
        return out

    def literal(self, value: Any) -> Any:
        if isinstance(value, r.Today):
            return self.as_of + datetime.timedelta(days=value.offset)
        if isinstance(value, r.DateLiteral):
            return value.value
        return value

    # -- operands: Series indexed like the entities (or the event rows) --------

    def operand(self, node: r.Node) -> pd.Series:
        if isinstance(node, r.Tag):
            return self.tag(node.name, node.at)
        if isinstance(node, r.Attribute):
            return self.table[node.name].reindex(self.ids)
        if isinstance(node, r.EventField):
            assert self.rows is not None, "event fields only inside where filters"
            return self.rows[node.name]
        if isinstance(node, r.Change):
            after = self.tag(node.tag, node.end).astype("Float64")
            before = self.tag(node.tag, node.start).astype("Float64")
            return after - before
        if isinstance(node, r.Count):
            return self.events(node.event, node.window, node.where, None)
        if isinstance(node, r.Sum):
            return self.events(node.event, node.window, node.where, node.field)
        if isinstance(node, (b.First, b.Last, b.DaysSince, b.Avg, b.Min, b.Max)):
            return self.extreme(node)
        if isinstance(node, b.Distinct):
            rows, source = self.event_rows(node.event, node.window, node.where)
            per_id = rows.groupby(source.id)[node.field].nunique()
            return per_id.reindex(self.ids, fill_value=0).astype(float)
        if isinstance(node, b.ActiveDays):
            rows, source = self.event_rows(node.event, node.window, node.where)
            days = self.days(rows[source.time])
            per_id = days.groupby(rows[source.id]).nunique()
            return per_id.reindex(self.ids, fill_value=0).astype(float)
        if isinstance(node, r.Score):
            scores = self.scores[node.name]
            return pd.Series([scores.get(i) for i in self.ids], index=self.ids, dtype="Float64")
        raise TypeError(f"oracle has no value for {type(node).__name__}")

    def tag(self, name: str, at: r.Node | None) -> pd.Series:
        source = next(s for s in self.entity.tags if name in s.fields)
        frame = self.frames[source.table]
        snapshot_days = self.column_days(source.table, source.date)
        if at is None:
            earlier = snapshot_days[snapshot_days <= self.as_of]
            if earlier.empty:
                return pd.Series(pd.NA, index=self.ids, dtype=object)
            day = earlier.max()
        else:
            day = self.literal(at)
        rows = frame[snapshot_days == day]
        assert not rows[source.id].duplicated().any(), f"{source.table}: one row per id and day"
        return rows.set_index(source.id)[name].reindex(self.ids)

    def events(
        self, event: str, window: r.Window, where: r.Node | None, field: str | None
    ) -> pd.Series:
        """Count (or sum of ``field``) per entity of ``event`` in ``window``; 0 without any."""
        source = self.event_source(event)
        frame = self.frames[source.table]
        first = self.literal(window.start)
        last = self.literal(window.end)
        day = self.column_days(source.table, source.time)
        keep = (day >= first) & (day <= last)
        if source.name is not None:
            keep &= frame[source.name] == event
        rows = frame[keep.fillna(False).astype(bool)]
        if where is not None:
            outer, self.rows = self.rows, rows
            try:
                passed = self.cond(where)
            finally:
                self.rows = outer
            rows = rows[passed.fillna(False).astype(bool)]
        grouped = rows.groupby(source.id)
        per_id = grouped.size() if field is None else grouped[field].sum(min_count=0)
        return per_id.reindex(self.ids, fill_value=0).astype(float)

    def event_rows(self, event: str, window: r.Window | None, where: r.Node | None):
        """The rows of ``event`` in ``window`` (every day up to T when None) passing ``where``."""
        source = self.event_source(event)
        frame = self.frames[source.table]
        day = self.column_days(source.table, source.time)
        last = self.as_of if window is None else self.literal(window.end)
        keep = day <= last
        if window is not None:
            keep &= day >= self.literal(window.start)
        if source.name is not None:
            keep &= frame[source.name] == event
        rows = frame[keep.fillna(False).astype(bool)]
        if where is not None:
            rows = rows[self.passes(rows, where)]
        return rows, source

    def passes(self, rows: pd.DataFrame, where: r.Node) -> pd.Series:
        outer, self.rows = self.rows, rows
        try:
            return self.cond(where).fillna(False).astype(bool)
        finally:
            self.rows = outer

    def extreme(self, node) -> pd.Series:
        """first/last/days_since (of the time) and avg/min/max (of a field): unknown if none."""
        rows, source = self.event_rows(node.event, getattr(node, "window", None), node.where)
        if isinstance(node, (b.First, b.Last, b.DaysSince)):
            times = rows[source.time]
            if not pd.api.types.is_datetime64_any_dtype(times.dtype):
                times = pd.to_datetime(times)
            grouped = times.groupby(rows[source.id])
            per_id = grouped.min() if isinstance(node, b.First) else grouped.max()
            per_id = per_id.reindex(self.ids)
            if not isinstance(node, b.DaysSince):
                return per_id
            days = self.days(per_id)
            return pd.Series(
                [pd.NA if pd.isna(d) else (self.as_of - d).days for d in days],
                index=self.ids,
                dtype="Float64",
            )
        values = rows[node.field].astype("Float64").groupby(rows[source.id])
        how = {b.Avg: "mean", b.Min: "min", b.Max: "max"}[type(node)]
        return getattr(values, how)().reindex(self.ids).astype("Float64")

    def sequence(self, node: b.DidSequence) -> pd.Series:
        """True where the entity's events hold the steps in order (a depth-first search)."""
        source = self.event_source(node.steps[0].event)
        frame = self.frames[source.table]
        day = self.column_days(source.table, source.time)
        keep = (day >= self.literal(node.window.start)) & (day <= self.literal(node.window.end))
        rows = frame[keep.fillna(False).astype(bool)]
        gap = None if node.gap_minutes is None else np.timedelta64(node.gap_minutes, "m")
        hits = []
        for step in node.steps:
            mask = pd.Series(True, index=rows.index)
            if source.name is not None:
                mask &= rows[source.name] == step.event
            if step.where is not None:
                mask &= self.passes(rows, step.where)
            hits.append(mask.to_numpy())
        times = pd.to_datetime(rows[source.time])
        if isinstance(times.dtype, pd.DatetimeTZDtype):
            times = times.dt.tz_convert("UTC").dt.tz_localize(None)
        found = set()
        for entity, index in rows.groupby(source.id).indices.items():
            at = times.to_numpy()[index]
            steps = [sorted(at[h[index]]) for h in hits]

            def search(i: int, prev, steps=steps) -> bool:
                for t in steps[i]:
                    if prev is not None and (t <= prev or (gap is not None and t > prev + gap)):
                        continue
                    if i == len(steps) - 1 or search(i + 1, t, steps):
                        return True
                return False

            if search(0, None):
                found.add(entity)
        return pd.Series(self.ids.isin(list(found)), index=self.ids).astype("boolean")

    def event_source(self, event: str):
        for source in self.entity.events:
            if source.event == event:
                return source
            if source.name is not None and (self.frames[source.table][source.name] == event).any():
                return source
            if source.name is not None and event in source.declared:
                return source
        raise KeyError(f"oracle finds no events named {event!r}")

    def column_days(self, table: str, column: str) -> pd.Series:
        """:meth:`days` of a whole column, computed once."""
        key = (table, column)
        if key not in self._days:
            self._days[key] = self.days(self.frames[table][column])
        return self._days[key]

    def days(self, values: pd.Series) -> pd.Series:
        """Calendar days (datetime.date, or NA) of dates or times; tz-aware ones in ``tz``."""
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert(self.tz).dt.tz_localize(None)
        elif not pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = pd.to_datetime(values)
        out = values.dt.date.astype(object)
        out[values.isna()] = pd.NA
        return out
