"""Compiling the behaviour functions (:mod:`segnb.lang.behaviour`): a mixin of the RuleCompiler.

``first``, ``last``, ``days_since``, ``avg``, ``min``, ``max``, ``distinct`` and
``active_days`` are conditional aggregates of the one pass over their events
table (:func:`segnb.compile.blocks.event_aggregates`), next to the rule's
counts and sums: ``first``/``last`` are the ``min``/``max`` of the time column
(compared with days as ranges in the segment's zone), ``days_since`` is ``T``
minus the local day of that ``max``, ``active_days`` the distinct local days.
``last(x)`` and ``days_since(x)`` share one column.

A sequence ``did(a then b then c within g, window)`` is a subquery of its own
(:func:`segnb.compile.sequences.sequence_members`): the events of its steps in
the window, one sort per entity, a window function per step.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.datatypes as dt

from segnb.catalog.model import closest
from segnb.compile.blocks import EVER, Measure
from segnb.compile.sequences import sequence_members, sequence_members_joined
from segnb.compile.time import days_between, local_day
from segnb.compile.values import Value
from segnb.errors import NotAvailableError, RuleError, RuleTypeError, UnknownNameError
from segnb.lang import behaviour as b

__all__ = ["BehaviourCompiler"]

#: node kind -> measure kind
_KIND = {
    b.First: "min",
    b.Last: "max",
    b.DaysSince: "max",
    b.Avg: "mean",
    b.Min: "min",
    b.Max: "max",
    b.Distinct: "distinct",
    b.ActiveDays: "days",
}


class BehaviourCompiler:
    """``visit_<Node>`` of the RuleCompiler for the behaviour node kinds, and their joins."""

    def _behaviour_measure(self, node: Any) -> tuple[tuple, Measure]:
        source = self._event_source(node.event)
        field = getattr(node, "field", None)
        if field is not None:
            if field not in source.fields:
                raise UnknownNameError(
                    f"event {node.event!r} has no field {field!r}",
                    suggestion=closest(field, source.fields),
                )
            if not isinstance(node, b.Distinct) and not source.fields[field].dtype.is_numeric():
                raise RuleTypeError(f"{node.word}() needs a number field; {field!r} is not one")
        window = getattr(node, "window", None)
        start, end = (EVER, self.as_of) if window is None else self.visit(window)
        measure = Measure(_KIND[type(node)], node.event, start, end, field=field, where=node.where)
        return ("events", self.entity.events.index(source)), measure

    def _event_source(self, event: str):
        source = self.catalog.event_source(self.entity, event)
        if source is None:
            raise UnknownNameError(
                f"{self.entity.name} has no event {event!r}",
                suggestion=closest(event, self.catalog.event_names(self.entity)),
            )
        return source

    def _aggregate(self, node: Any):
        join, measure = self._behaviour_measure(node)
        return join, self.row[self._columns[measure]]

    # -- operands ---------------------------------------------------------------

    def visit_First(self, node: b.First | b.Last):
        # the time itself: compared with a day it becomes a range in the segment's zone
        _, value = self._aggregate(node)
        return Value(value, value.type())

    visit_Last = visit_First

    def visit_DaysSince(self, node: b.DaysSince):
        _, value = self._aggregate(node)
        return Value(days_between(local_day(value, self.zone), self.as_of), dt.int64)

    def visit_Avg(self, node: b.Avg | b.Min | b.Max):
        _, value = self._aggregate(node)  # no events: NULL, unknown
        return Value(value.cast("float64"), dt.float64)

    visit_Min = visit_Max = visit_Avg

    def visit_Distinct(self, node: b.Distinct | b.ActiveDays):
        join, value = self._aggregate(node)  # no row in a left join: none, so 0
        return Value(value if self._inner[join] else value.coalesce(0), dt.int64)

    visit_ActiveDays = visit_Distinct

    # -- sequences ----------------------------------------------------------------

    def visit_Step(self, node: b.Step):
        raise RuleError(f"a sequence step ({node}) is compiled only inside did(… then …)")

    def visit_DidSequence(self, node: b.DidSequence):
        return self.row[self._columns[("sequence", node)]].notnull()

    def _sequence_join(self, node: b.DidSequence) -> tuple:
        sources = {id(self._event_source(e)): self._event_source(e) for e in node.events}
        if len(sources) > 1:
            raise NotAvailableError(
                f"the steps of {node} are events of different tables: "
                "a sequence reads one events table (use did() for each table)"
            )
        return ("sequence", node)

    def _sequence(self, node: b.DidSequence):
        """The entities with the sequence: (key, flag) rows to join."""
        source = self._event_source(node.steps[0].event)
        start, end = self.visit(node.window)
        key = self._key(source)
        alias = self._fresh("did_" + "_then_".join(node.events))
        self._columns[("sequence", node)] = alias
        # with a gap, a self-join bounded by it measured faster (benchmarks/behaviour.py)
        build = sequence_members if node.within is None else sequence_members_joined
        rows = build(
            self.catalog,
            source,
            node,
            start,
            end,
            zone=self.zone,
            where=self._where(source),
        )
        return rows.select(**{key: rows[source.id]}).mutate(**{alias: True}), key
