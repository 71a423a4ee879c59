"""Names and types of the behaviour functions (:mod:`segnb.lang.behaviour`): a mixin of the Checker.

``first``/``last`` are dates (compared with dates and ``T-n``), the other
functions numbers; ``avg``/``min``/``max`` need a number field of the event,
``distinct`` any field; every step of a sequence names an event of the
entity, and each ``where`` filter tests that event's own fields.
"""

from __future__ import annotations

from segnb.catalog.model import Field
from segnb.errors import RuleTypeError, UnknownNameError
from segnb.lang import behaviour as b
from segnb.lang import hints
from segnb.lang.text import quote_name
from segnb.lang.tree import part_span

__all__ = ["BehaviourChecks"]


class BehaviourChecks:
    """``visit_<Node>`` of the Checker for the behaviour node kinds."""

    def visit_First(self, node: b.First | b.Last, ctx=None) -> tuple[str, None]:
        self.measure(node)
        return "date", None

    visit_Last = visit_First

    def visit_DaysSince(self, node: b.DaysSince, ctx=None) -> tuple[str, None]:
        self.measure(node)
        return "number", None

    visit_ActiveDays = visit_DaysSince

    def visit_Avg(self, node: b.Avg | b.Min | b.Max, ctx=None) -> tuple[str, None]:
        field = self.event_field(node)
        if field.type != "number":
            numbers = [f.name for f in self.source_of(node).fields.values() if f.type == "number"]
            hint = f"distinct({quote_name(node.event)}.{quote_name(node.field)}, T-29..T) counts its values"
            if numbers:
                hint = f"number fields of {node.event}: {hints.listing(numbers)}; {hint}"
            self.fail(
                RuleTypeError,
                f"{node.word}() needs a number field, but {node.event}.{node.field} is "
                f"{'a ' + field.type if field.type != 'enum' else 'text (an enum)'}",
                part_span(node, "field"),
                hint=hint,
            )
        self.measure(node)
        return "number", None

    visit_Min = visit_Max = visit_Avg

    def visit_Distinct(self, node: b.Distinct, ctx=None) -> tuple[str, None]:
        self.event_field(node)
        self.measure(node)
        return "number", None

    def visit_Step(self, node: b.Step, ctx=None) -> None:
        self.measure(node)

    def visit_DidSequence(self, node: b.DidSequence) -> None:
        first = None
        for i, step in enumerate(node.steps):
            self.visit(step)
            source = self.source_of(step)
            if first is None:
                first = source
            elif source.table != first.table:
                self.fail(
                    RuleTypeError,
                    f"the steps of a sequence are events of one events table: {step.event} is in "
                    f"{source.table}, {node.steps[0].event} in {first.table}",
                    part_span(node, "events", i),
                    hint="test events of other tables with their own did(…)",
                )

    def source_of(self, node):
        return self.event_source(node.event, part_span(node, "event"))

    def event_field(self, node) -> Field:
        """The catalog field ``node.field`` of the node's event; unknown names are errors."""
        source = self.source_of(node)
        field = source.fields.get(node.field)
        if field is None:
            guess, hint = hints.nearest(node.field, source.fields, f"fields of {node.event}")
            self.fail(
                UnknownNameError,
                f"{node.event} events have no field {node.field!r}",
                part_span(node, "field"),
                suggestion=guess,
                hint=hint,
            )
        return field
