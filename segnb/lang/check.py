"""Check a rule tree against the catalog: every name exists, every type fits.

The parser calls :func:`check` on each tree it builds; the store and the
wizard call it on trees that come from JSON. Given the rule ``text`` and
nodes that carry spans, errors point at the line, column and exact text: the
parser records in each :class:`~segnb.lang.tree.Span` where the node's
operator, values and names are. The checker is a
:class:`~segnb.lang.visitor.NodeVisitor` with one ``visit_<Node>`` per kind.

Examples
--------
>>> check(Compare(Tag("trade_cnt_7d"), "=", "5"), catalog)  # doctest: +SKIP
Traceback (most recent call last):
RuleTypeError: trade_cnt_7d is a number but "5" is a string
did you mean 'trade_cnt_7d = 5'?
numbers are written without quotes
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from segnb.catalog.model import Catalog, Entity, EventSource, Field
from segnb.errors import RuleError, RuleTypeError, UnknownNameError
from segnb.hints import closest
from segnb.lang import hints
from segnb.lang import nodes as r
from segnb.lang.behaviour_check import BehaviourChecks
from segnb.lang.nodes import value_kind
from segnb.lang.text import quote_name, to_text, value_text
from segnb.lang.tree import part_span
from segnb.lang.visitor import NodeVisitor

__all__ = ["Checker", "check", "operand_type", "resolve_entity", "value_kind"]

Span = tuple[int, int]
_KIND_PHRASE = {
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "date": "a date",
}
_TYPE_PHRASE = {
    "number": "a number",
    "boolean": "a boolean",
    "datetime": "a datetime",
    "date": "a date",
}


def resolve_entity(catalog: Catalog | None, entity: Entity | str | None) -> Entity:
    """The :class:`Entity` for an entity argument (an Entity, a name, or None: the first)."""
    if isinstance(entity, Entity):
        return entity
    if catalog is None:
        raise RuleError("checking a rule needs a catalog")
    return catalog.entity(entity)


def operand_type(
    node: r.Node,
    entity: Entity | str | None,
    catalog: Catalog,
    *,
    event: str | None = None,
) -> str:
    """The type of an operand: ``'enum'``, ``'boolean'``, ``'datetime'`` or ``'number'``.

    ``event`` names the event whose fields an :class:`~segnb.lang.nodes.EventField`
    refers to (inside a ``where`` filter). Unknown names raise :class:`UnknownNameError`.

    Examples
    --------
    >>> operand_type(Tag("city"), "users", catalog)  # doctest: +SKIP
    'enum'
    """
    checker = Checker(catalog, resolve_entity(catalog, entity))
    if event is not None:
        checker.event, checker.source = event, checker.event_source(event, None)
    return checker.operand(node, None)[0]


def check(
    rule: r.Node,
    catalog: Catalog | None,
    entity: Entity | str | None = None,
    *,
    text: str | None = None,
    segments: Collection[str] | None = None,
    scores: Collection[str] | None = None,
) -> None:
    """Validate a rule tree (or a set expression) against the catalog.

    Parameters
    ----------
    rule
        A condition tree, or a set expression (then only ``segments`` is used).
    catalog, entity
        The catalog and target object (an Entity, a name, or None for the first).
    text
        The rule text the tree was parsed from: errors then carry line and column.
    segments, scores
        Known segment and prediction-segment names; None leaves them unchecked.

    Raises
    ------
    UnknownNameError
        A tag, attribute, event, field or segment the catalog does not know.
    RuleTypeError
        A condition whose operand and values do not fit (``in`` on a number, …).
    """
    if isinstance(rule, r.SetExpr):
        Checker(catalog, None, text, segments, scores).visit(rule)
        return
    Checker(catalog, resolve_entity(catalog, entity), text, segments, scores).condition(rule)


def _type_phrase(kind: str, field: Field | None) -> str:
    if kind != "enum":
        return _TYPE_PHRASE[kind]
    return f"an enum of {_needed(kind, field)}s"


def _needed(kind: str, field: Field | None) -> str:
    """The value kind a column of this type is compared with."""
    if kind == "enum":
        if field is not None and field.dtype.is_numeric():
            return "number"
        if field is not None and field.dtype.is_boolean():
            return "boolean"
        return "string"
    return {"number": "number", "boolean": "boolean", "datetime": "date", "date": "date"}[kind]


class Checker(BehaviourChecks, NodeVisitor):
    """Names and types of a tree against a catalog: ``visit_<Node>`` per node kind.

    Conditions (:meth:`condition`) return nothing; operands (:meth:`operand`)
    return their type and catalog field. Errors point at ``text`` when given.
    """

    def __init__(
        self,
        catalog: Catalog | None,
        entity: Entity | None,
        text: str | None = None,
        segments: Collection[str] | None = None,
        scores: Collection[str] | None = None,
    ) -> None:
        self.catalog = catalog
        self.entity = entity
        self.text = text
        self.segments = segments
        self.scores = scores
        self.event: str | None = None  # inside a where filter: the event and its table
        self.source: EventSource | None = None

    def fail(self, cls: type, message: str, span: Span | None, **kw: Any):
        err = cls(message, **kw)
        if self.text is not None and span is not None:
            err = err.located(self.text, span[0], span[1])
        raise err

    # -- days: validated when built -------------------------------------------

    def visit_Today(self, node: r.Today, ctx: r.Node | None = None) -> None:
        return None

    visit_DateLiteral = visit_Window = visit_Today

    # -- set expressions ------------------------------------------------------

    def visit_SetOp(self, node: r.SetOp) -> None:
        self.visit(node.left)
        self.visit(node.right)

    def visit_SegmentRef(self, node: r.SegmentRef) -> None:
        self.segment(node.name, node.span, "segment")

    def segment(self, name: str, span: Span | None, what: str) -> None:
        known = self.segments if what == "segment" else self.scores
        if known is None or name in known:
            return
        guess, hint = hints.unknown_segment(name, what, known, self.segments)
        self.fail(UnknownNameError, f"unknown {what} {name!r}", span, suggestion=guess, hint=hint)

    # -- conditions -----------------------------------------------------------

    def condition(self, node: r.Node) -> None:
        if not isinstance(node, r.Condition):
            self.fail(RuleError, f"not a condition: {node!r}", getattr(node, "span", None))
        self.visit(node)

    def visit_And(self, node: r.And | r.Or) -> None:
        for part in node.parts:
            self.condition(part)

    visit_Or = visit_And

    def visit_Not(self, node: r.Not) -> None:
        self.condition(node.part)

    def visit_IsNull(self, node: r.IsNull) -> None:
        self.operand(node.left, node)

    def visit_Did(self, node: r.Did) -> None:
        self.measure(node)

    def visit_InSegment(self, node: r.InSegment) -> None:
        self.segment(node.name, part_span(node, "name"), "segment")

    def mismatch(self, node, value: Any, need: str, span: Span | None, rewrite=None) -> None:
        kind = value_kind(value)
        if kind == need:
            return
        kind_of, field = self.operand(node.left, node)
        left = to_text(node.left)
        message = f"{left} is {_type_phrase(kind_of, field)} but {value_text(value)} is {_KIND_PHRASE[kind]}"
        fixed, hint = hints.value_fix(need, value, left)
        suggestion = None if fixed is None else rewrite(fixed) if rewrite else fixed
        self.fail(RuleTypeError, message, span, suggestion=suggestion, hint=hint)

    def visit_Compare(self, node: r.Compare) -> None:
        kind, field = self.operand(node.left, node)
        left, op = to_text(node.left), node.op
        op_span = part_span(node, "op")
        if kind == "enum" and op not in ("=", "!="):
            hint = f'an enum has no order; e.g. {left} = "…" or {left} in ("…", "…")'
            self.fail(
                RuleTypeError,
                f"{left} is an enum: compare it with = or != (or in), not {op}",
                op_span,
                hint=hint,
            )
        if kind == "boolean" and op not in ("=", "!="):
            self.fail(
                RuleTypeError,
                f"{left} is a boolean: use = true or = false, not {op}",
                op_span,
                hint=f"or simply {left}, or not {left}",
            )
        value_span = part_span(node, "value")
        self.mismatch(
            node, node.value, _needed(kind, field), value_span, lambda v: f"{left} {op} {v}"
        )

    def visit_In(self, node: r.In) -> None:
        kind, field = self.operand(node.left, node)
        left = to_text(node.left)
        word = "not in" if node.negated else "in"
        span = part_span(node, "keyword")
        if kind in ("number", "datetime", "date"):
            example = f"{left} between 5 and 20" if kind == "number" else f"{left} >= T-30"
            values = [v for v in node.values if value_kind(v) == value_kind(node.values[0])]
            if kind == "number" and all(value_kind(v) == "number" for v in values):
                example = f"{left} between {value_text(min(values))} and {value_text(max(values))}"
            self.fail(
                RuleTypeError,
                f"{left} is {_TYPE_PHRASE[kind]}: use between or comparisons, not {word}",
                span,
                hint=f"e.g. {example}",
            )
        if kind == "boolean":
            self.fail(
                RuleTypeError,
                f"{left} is a boolean: use = true or = false, not {word}",
                span,
                hint=f"or simply {left}, or not {left}",
            )
        need = _needed(kind, field)
        for i, value in enumerate(node.values):
            self.mismatch(node, value, need, part_span(node, "values", i))

    def visit_Between(self, node: r.Between) -> None:
        kind, field = self.operand(node.left, node)
        left = to_text(node.left)
        if kind in ("enum", "boolean"):
            hint = f'use in to list values: {left} in ("…", "…")' if kind == "enum" else None
            self.fail(
                RuleTypeError,
                f"{left} is {_type_phrase(kind, field)}: between needs a number or a datetime",
                part_span(node, "keyword"),
                hint=hint or f"use {left} = true or = false",
            )
        need = _needed(kind, field)
        for i, value in enumerate((node.low, node.high)):
            self.mismatch(node, value, need, part_span(node, "values", i))

    def visit_Truth(self, node: r.Truth) -> None:
        kind, field = self.operand(node.left, node)
        if kind == "boolean":
            return
        left = to_text(node.left)
        message = f"{left} is {_type_phrase(kind, field)}, not a condition: compare it"
        if kind == "number":
            self.fail(RuleTypeError, message, node.span, suggestion=f"{left} >= 1")
        example = f"{left} >= T-30" if kind in ("datetime", "date") else f'{left} = "…"'
        self.fail(RuleTypeError, message, node.span, hint=f"e.g. {example}, or {left} is not null")

    # -- operands -------------------------------------------------------------

    def operand(self, node: r.Node, ctx: r.Node | None) -> tuple[str, Field | None]:
        """The type of an operand and its catalog field (None for measures and scores)."""
        if not isinstance(node, r.Operand):
            self.fail(RuleError, f"not an operand: {node!r}", getattr(node, "span", None))
        return self.visit(node, ctx)

    def visit_Tag(self, node: r.Tag, ctx: r.Node | None) -> tuple[str, Field]:
        ent = self.entity
        if ent.has_tag(node.name):
            return ent.tag(node.name).type, ent.tag(node.name)
        if node.name in ent.attributes:
            no_tags = f"; {ent.name} has no tag tables" if not ent.tags else ""
            if node.at is None:  # only from JSON: the parser makes an Attribute
                self.fail(
                    RuleTypeError,
                    f"{node.name} is an attribute of {ent.name}, not a tag",
                    node.span,
                    hint=f"use Attribute({node.name!r}){no_tags}",
                )
            self.fail(
                RuleTypeError,
                f"{node.name} is an attribute of {ent.name}, not a tag: it has no dated snapshots",
                part_span(node, "at"),
                hint=f"an attribute has one current value: drop the @date{no_tags}",
            )
        self.unknown(node, ctx)

    def visit_Attribute(self, node: r.Attribute, ctx: r.Node | None) -> tuple[str, Field]:
        ent = self.entity
        if node.name in ent.attributes:
            return ent.attributes[node.name].type, ent.attributes[node.name]
        if ent.has_tag(node.name):
            self.fail(
                RuleTypeError, f"{node.name} is a tag of {ent.name}, not an attribute", node.span
            )
        self.unknown(node, ctx)

    def visit_Change(self, node: r.Change, ctx: r.Node | None) -> tuple[str, None]:
        self.change(node)
        return "number", None

    def visit_Count(self, node: r.Count | r.Sum, ctx: r.Node | None) -> tuple[str, None]:
        self.measure(node)
        return "number", None

    visit_Sum = visit_Count

    def visit_Score(self, node: r.Score, ctx: r.Node | None) -> tuple[str, None]:
        self.segment(node.name, part_span(node, "name"), "prediction segment")
        return "number", None

    def unknown(self, node: r.Tag | r.Attribute, ctx: r.Node | None) -> None:
        message, suggestion, hint = hints.unknown_name(
            self.catalog, self.entity, node.name, ctx, self.segments, self.scores
        )
        span = part_span(node, "name")
        self.fail(UnknownNameError, message, span, suggestion=suggestion, hint=hint)

    def event_source(self, event: str, span: Span | None) -> EventSource:
        ent = self.entity
        source = self.catalog.event_source(ent, event) if ent.events else None
        if source is not None:
            return source
        if not ent.events:
            self.fail(
                UnknownNameError,
                f"{ent.name} has no events, so there is no event {event!r}",
                span,
                hint="declare an events table for it in the catalog",
            )
        guess, hint = hints.nearest(event, self.catalog.event_names(ent), f"events of {ent.name}")
        if ent.has_tag(event) or event in ent.attributes:
            hint = f"{event} is a {'tag' if ent.has_tag(event) else 'attribute'}, not an event"
        self.fail(
            UnknownNameError,
            f"unknown event {event!r} for {ent.name}",
            span,
            suggestion=guess,
            hint=hint,
        )

    def measure(self, node: r.Count | r.Sum | r.Did) -> None:
        source = self.event_source(node.event, part_span(node, "event"))
        if isinstance(node, r.Sum):
            span = part_span(node, "field")
            field = source.fields.get(node.field)
            numbers = [f.name for f in source.fields.values() if f.type == "number"]
            if field is None:
                guess, hint = hints.nearest(node.field, source.fields, f"fields of {node.event}")
                self.fail(
                    UnknownNameError,
                    f"{node.event} events have no field {node.field!r}",
                    span,
                    suggestion=guess,
                    hint=hint,
                )
            if field.type != "number":
                hint = f"count() counts events: count({quote_name(node.event)}, …)"
                if numbers:
                    hint = f"number fields of {node.event}: {hints.listing(numbers)}; {hint}"
                self.fail(
                    RuleTypeError,
                    f"sum() needs a number field, but {node.event}.{node.field} is "
                    f"{_type_phrase(field.type, field)}",
                    span,
                    hint=hint,
                )
        if node.where is not None:
            saved = self.event, self.source
            self.event, self.source = node.event, source
            try:
                self.condition(node.where)
            finally:
                self.event, self.source = saved

    def visit_EventField(self, node: r.EventField, ctx: r.Node | None = None) -> tuple[str, Field]:
        if self.source is None:
            self.fail(
                RuleTypeError,
                f"event field {node.name!r} can only be used in the where filter of count(), sum() or did()",
                node.span,
            )
        field = self.source.fields.get(node.name)
        if field is not None:
            return field.type, field
        ent = self.entity
        guess, hint = hints.nearest(node.name, self.source.fields, f"fields of {self.event}")
        if ent.has_tag(node.name) or node.name in ent.attributes:
            hint = (
                f"{node.name} is a {'tag' if ent.has_tag(node.name) else 'attribute'} of "
                f"{ent.name}: test it outside the where filter"
            )
        self.fail(
            UnknownNameError,
            f"{self.event} events have no field {node.name!r}",
            part_span(node, "name"),
            suggestion=guess,
            hint=hint,
        )

    def change(self, node: r.Change) -> None:
        ent, name = self.entity, node.tag
        span = part_span(node, "tag")
        if ent.has_tag(name):
            field = ent.tag(name)
            if field.type != "number":
                self.fail(
                    RuleTypeError,
                    f"change() needs a number tag, but {name} is {_type_phrase(field.type, field)}",
                    span,
                    hint="compare its values on two dates instead, e.g. "
                    f"{quote_name(name)}@T-7 != {quote_name(name)}@T-1"
                    if field.type != "enum"
                    else "compare it on a date instead, e.g. "
                    f'{quote_name(name)}@T-7 = "…" and {quote_name(name)}@T-1 != "…"',
                )
            return
        if name in ent.attributes:
            no_tags = f"{ent.name} has no tag tables" if not ent.tags else "use a tag"
            self.fail(
                RuleTypeError,
                f"{name} is an attribute of {ent.name}, not a tag: it has no dated snapshots for change()",
                span,
                hint=no_tags,
            )
        if not ent.tags:
            self.fail(
                UnknownNameError,
                f"change() needs a tag, but {ent.name} has no tag tables",
                span,
            )
        numbers = [t for t in ent.tag_names if ent.tag(t).type == "number"]
        guess = closest(name, numbers) or closest(name, ent.tag_names)
        self.fail(
            UnknownNameError,
            f"{name!r} is not a tag of {ent.name}",
            span,
            suggestion=guess,
            hint=None if guess else f"number tags of {ent.name}: {hints.listing(numbers)}",
        )
