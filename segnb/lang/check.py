"""Check a rule tree against the catalog: every name exists, every type fits.

The parser calls :func:`check` on each tree it builds; the store and the
wizard call it on trees that come from JSON. Given the rule ``text`` and
nodes that carry spans, errors point at the line, column and exact text.

Examples
--------
>>> check(Compare(Tag("trade_cnt_7d"), "=", "5"), catalog)  # doctest: +SKIP
Traceback (most recent call last):
RuleTypeError: trade_cnt_7d is a number but "5" is a string
did you mean 'trade_cnt_7d = 5'?
numbers are written without quotes
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from typing import Any

from segnb.catalog.model import Catalog, Entity, EventSource, Field, closest
from segnb.errors import RuleError, RuleTypeError, UnknownNameError
from segnb.lang import nodes as r
from segnb.lang.lex import tokenize
from segnb.lang.text import quote_name, quote_string, to_text, value_text

__all__ = ["check", "operand_type", "resolve_entity", "value_kind"]

Span = tuple[int, int]

_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?\Z")
_KIND_PHRASE = {
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "date": "a date",
}
_TYPE_PHRASE = {"number": "a number", "boolean": "a boolean", "datetime": "a datetime"}


def value_kind(value: Any) -> str:
    """``'string'``, ``'number'``, ``'boolean'`` or ``'date'``: the kind of a rule value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "date"


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
    checker = _Checker(catalog, resolve_entity(catalog, entity), None, None, None)
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
    if isinstance(rule, (r.SegmentRef, r.SetOp)):
        _Checker(catalog, None, text, segments, scores).sets(rule)
        return
    checker = _Checker(catalog, resolve_entity(catalog, entity), text, segments, scores)
    checker.condition(rule)


def _listing(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(quote_name(n) for n in names[:limit])
    return shown + (", …" if len(names) > limit else "")


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
    return {"number": "number", "boolean": "boolean", "datetime": "date"}[kind]


def _as_number(value: str) -> str | None:
    text = value.strip()
    return text if _NUMBER.match(text) else None


def _as_date(value: str) -> str | None:
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return None


class _Checker:
    def __init__(self, catalog, entity, text, segments, scores) -> None:
        self.catalog = catalog
        self.entity: Entity | None = entity
        self.text: str | None = text
        self.segments = segments
        self.scores = scores
        self.event: str | None = None  # inside a where filter: the event and its table
        self.source: EventSource | None = None

    # -- locating errors ------------------------------------------------------

    def fail(self, cls: type, message: str, span: Span | None, **kw: Any):
        err = cls(message, **kw)
        if self.text is not None and span is not None:
            err = err.located(self.text, span[0], span[1])
        raise err

    def tokens(self, node: r.Node) -> list:
        if self.text is None or node.span is None:
            return []
        try:
            return tokenize(self.text, node.span[0], node.span[1])[:-1]
        except RuleError:
            return []

    def nth(self, node: r.Node, index: int) -> Span | None:
        toks = self.tokens(node)
        return (toks[index].start, toks[index].end) if len(toks) > index else node.span

    def rest(self, node: r.Node) -> list:
        """The tokens of a condition after its left operand."""
        left = node.left.span
        return [t for t in self.tokens(node) if left is not None and t.start >= left[1]]

    def keyword_span(self, node: r.Node, stop: str) -> Span | None:
        """The span of the operator words (``not in``, ``between``) up to ``stop``."""
        rest = self.rest(node)
        for i, tok in enumerate(rest):
            if tok.kind == stop or (tok.kind == "ident" and tok.value.lower() == stop):
                last = rest[i] if stop == "between" else rest[i - 1] if i else rest[0]
                return (rest[0].start, last.end)
        return node.span

    def value_spans(self, node: r.Node) -> list[Span | None]:
        """One span per value of an In or Between node (the node's span when unknown)."""
        rest = self.rest(node)
        words = [t.kind if t.kind != "ident" else t.value.lower() for t in rest]
        groups: list[list] = []
        if isinstance(node, r.In) and "(" in words:
            current: list = []
            first = words.index("(") + 1
            for tok, word in zip(rest[first:], words[first:], strict=True):
                if word not in (",", ")"):
                    current.append(tok)
                    continue
                if current:
                    groups.append(current)
                current = []
        elif isinstance(node, r.Between) and "between" in words and "and" in words:
            b, a = words.index("between"), words.index("and")
            groups = [rest[b + 1 : a], rest[a + 1 :]]
        wanted = len(node.values) if isinstance(node, r.In) else 2
        if len(groups) != wanted or not all(groups):
            return [node.span] * wanted
        return [(g[0].start, g[-1].end) for g in groups]

    # -- set expressions ------------------------------------------------------

    def sets(self, node: r.Node) -> None:
        for ref in r.walk(node):
            if isinstance(ref, r.SetOp):
                continue
            if not isinstance(ref, r.SegmentRef):
                self.fail(RuleError, f"not a set expression: {ref!r}", ref.span)
            self.segment(ref.name, ref.span, "segment")

    def segment(self, name: str, span: Span | None, what: str) -> None:
        known = self.segments if what == "segment" else self.scores
        if known is None or name in known:
            return
        guess = closest(name, known)
        hint = None if guess else f"known {what}s: {_listing(sorted(known))}" if known else None
        if what == "prediction segment" and self.segments is not None and name in self.segments:
            hint = f"{name} is a segment, not an AI prediction: use in_segment({quote_name(name)})"
        self.fail(UnknownNameError, f"unknown {what} {name!r}", span, suggestion=guess, hint=hint)

    # -- conditions -----------------------------------------------------------

    def condition(self, node: r.Node) -> None:
        if isinstance(node, (r.And, r.Or)):
            for part in node.parts:
                self.condition(part)
        elif isinstance(node, r.Not):
            self.condition(node.part)
        elif isinstance(node, r.Compare):
            self.compare(node)
        elif isinstance(node, r.In):
            self.in_(node)
        elif isinstance(node, r.Between):
            self.between(node)
        elif isinstance(node, r.IsNull):
            self.operand(node.left, node)
        elif isinstance(node, r.Truth):
            self.truth(node)
        elif isinstance(node, r.Did):
            self.measure(node)
        elif isinstance(node, r.InSegment):
            self.segment(node.name, self.nth(node, 2), "segment")
        else:
            self.fail(RuleError, f"not a condition: {node!r}", node.span)

    def mismatch(self, node, value: Any, need: str, span: Span | None, rewrite=None) -> None:
        kind = value_kind(value)
        if kind == need:
            return
        kind_of, field = self.operand(node.left, node)
        left = to_text(node.left)
        message = f"{left} is {_type_phrase(kind_of, field)} but {value_text(value)} is {_KIND_PHRASE[kind]}"
        fixed, hint = None, None
        if need == "number" and kind == "string" and _as_number(value):
            fixed, hint = _as_number(value), "numbers are written without quotes"
        elif need == "date" and kind == "string" and _as_date(value):
            fixed, hint = _as_date(value), "dates are written without quotes"
        elif need == "string" and kind != "string":
            fixed = quote_string(value_text(value))
            hint = "enum values are strings: put them in quotes"
        elif need == "number":
            hint = f"compare {left} with a number, e.g. {left} >= 5"
        elif need == "date":
            hint = f"compare {left} with a date: 2024-08-06, T or T-30"
        elif need == "boolean" and kind == "string" and value.lower() in ("true", "false"):
            fixed, hint = value.lower(), "true and false are written without quotes"
        elif need == "boolean":
            hint = f"{left} is true or false: write {left} = true, or simply {left}"
        else:
            hint = f"compare {left} with a {need}"
        suggestion = None if fixed is None else rewrite(fixed) if rewrite else fixed
        self.fail(RuleTypeError, message, span, suggestion=suggestion, hint=hint)

    def compare(self, node: r.Compare) -> None:
        kind, field = self.operand(node.left, node)
        left, op = to_text(node.left), node.op
        rest = self.rest(node)
        op_span = (rest[0].start, rest[0].end) if rest else node.span
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
        value_span = (rest[1].start, rest[-1].end) if len(rest) > 1 else node.span
        self.mismatch(
            node, node.value, _needed(kind, field), value_span, lambda v: f"{left} {op} {v}"
        )

    def in_(self, node: r.In) -> None:
        kind, field = self.operand(node.left, node)
        left = to_text(node.left)
        word = "not in" if node.negated else "in"
        span = self.keyword_span(node, "(")
        if kind in ("number", "datetime"):
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
        for value, value_span in zip(node.values, self.value_spans(node), strict=True):
            self.mismatch(node, value, need, value_span)

    def between(self, node: r.Between) -> None:
        kind, field = self.operand(node.left, node)
        left = to_text(node.left)
        if kind in ("enum", "boolean"):
            hint = f'use in to list values: {left} in ("…", "…")' if kind == "enum" else None
            self.fail(
                RuleTypeError,
                f"{left} is {_type_phrase(kind, field)}: between needs a number or a datetime",
                self.keyword_span(node, "between"),
                hint=hint or f"use {left} = true or = false",
            )
        need = _needed(kind, field)
        for value, span in zip((node.low, node.high), self.value_spans(node), strict=True):
            self.mismatch(node, value, need, span)

    def truth(self, node: r.Truth) -> None:
        kind, field = self.operand(node.left, node)
        if kind == "boolean":
            return
        left = to_text(node.left)
        message = f"{left} is {_type_phrase(kind, field)}, not a condition: compare it"
        if kind == "number":
            self.fail(RuleTypeError, message, node.span, suggestion=f"{left} >= 1")
        example = f"{left} >= T-30" if kind == "datetime" else f'{left} = "…"'
        self.fail(RuleTypeError, message, node.span, hint=f"e.g. {example}, or {left} is not null")

    # -- operands -------------------------------------------------------------

    def operand(self, node: r.Node, ctx: r.Node | None) -> tuple[str, Field | None]:
        """The type of an operand and its catalog field (None for measures and scores)."""
        ent = self.entity
        if isinstance(node, r.Tag):
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
                    self.at_span(node),
                    hint=f"an attribute has one current value: drop the @date{no_tags}",
                )
            self.unknown(node, ctx)
        if isinstance(node, r.Attribute):
            if node.name in ent.attributes:
                return ent.attributes[node.name].type, ent.attributes[node.name]
            if ent.has_tag(node.name):
                self.fail(
                    RuleTypeError,
                    f"{node.name} is a tag of {ent.name}, not an attribute",
                    node.span,
                )
            self.unknown(node, ctx)
        if isinstance(node, r.EventField):
            return self.event_field(node)
        if isinstance(node, r.Change):
            self.change(node)
        elif isinstance(node, (r.Count, r.Sum)):
            self.measure(node)
        elif isinstance(node, r.Score):
            self.segment(node.name, self.nth(node, 2), "prediction segment")
        else:
            self.fail(RuleError, f"not an operand: {node!r}", node.span)
        return "number", None

    def at_span(self, node: r.Tag) -> Span | None:
        toks = self.tokens(node)
        if node.at is None or len(toks) < 2:
            return node.span
        return (toks[1].start, toks[-1].end)

    def unknown(self, node: r.Node, ctx: r.Node | None) -> None:
        ent, name = self.entity, node.name
        span = self.nth(node, 0)
        events = self.catalog.event_names(ent) if ent.events else []
        message = f"{name!r} is not a tag or attribute of {ent.name}"
        if name in events:
            example = f"count({name}, T-6..T) >= 1"
            if isinstance(ctx, r.Compare) and value_kind(ctx.value) == "number":
                example = f"count({name}, T-6..T) {ctx.op} {value_text(ctx.value)}"
            elif isinstance(ctx, r.Truth):
                example = f"did({name}, T-6..T)"
            self.fail(
                UnknownNameError,
                f"{name!r} is an event, not a tag or attribute of {ent.name}",
                span,
                suggestion=example,
                hint="events are counted over a window of days: T-6..T is the last 7 days",
            )
        if isinstance(ctx, r.Truth) and self.segments is not None and name in self.segments:
            self.fail(UnknownNameError, message, span, suggestion=f"in_segment({quote_name(name)})")
        if self.scores is not None and name in self.scores:
            self.fail(UnknownNameError, message, span, suggestion=f"score({quote_name(name)})")
        sources = [s for s in ent.events if name in s.fields]
        if sources and events:
            with_field = [e for e in events if self.catalog.event_source(ent, e) in sources]
            event = with_field[0] if with_field else events[0]
            cond = to_text(ctx) if ctx is not None else f'{quote_name(name)} = "…"'
            self.fail(
                UnknownNameError,
                f"{name!r} is a field of events, not a tag or attribute of {ent.name}",
                span,
                hint=f"filter events with where, e.g. did({event} where {cond}, T-6..T); "
                f"events that have {name}: {_listing(with_field)}",
            )
        candidates = ent.tag_names + list(ent.attributes)
        guess = closest(name, candidates)
        hint = None
        if guess is None:
            hint = f"tags and attributes of {ent.name}: {_listing(candidates)}"
            event = closest(name, events)
            if event is not None:
                guess = f"count({event}, T-6..T) >= 1"
                hint = "events are counted over a window of days"
        self.fail(UnknownNameError, message, span, suggestion=guess, hint=hint)

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
        names = self.catalog.event_names(ent)
        guess = closest(event, names)
        hint = None if guess else f"events of {ent.name}: {_listing(names)}"
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
        source = self.event_source(node.event, self.nth(node, 2))
        if isinstance(node, r.Sum):
            span = self.nth(node, 4)
            field = source.fields.get(node.field)
            numbers = [f.name for f in source.fields.values() if f.type == "number"]
            if field is None:
                guess = closest(node.field, source.fields)
                self.fail(
                    UnknownNameError,
                    f"{node.event} events have no field {node.field!r}",
                    span,
                    suggestion=guess,
                    hint=None
                    if guess
                    else f"fields of {node.event}: {_listing(list(source.fields))}",
                )
            if field.type != "number":
                hint = f"count() counts events: count({quote_name(node.event)}, …)"
                if numbers:
                    hint = f"number fields of {node.event}: {_listing(numbers)}; {hint}"
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

    def event_field(self, node: r.EventField) -> tuple[str, Field]:
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
        guess = closest(node.name, self.source.fields)
        hint = None if guess else f"fields of {self.event}: {_listing(list(self.source.fields))}"
        if ent.has_tag(node.name) or node.name in ent.attributes:
            hint = (
                f"{node.name} is a {'tag' if ent.has_tag(node.name) else 'attribute'} of "
                f"{ent.name}: test it outside the where filter"
            )
        self.fail(
            UnknownNameError,
            f"{self.event} events have no field {node.name!r}",
            self.nth(node, 0),
            suggestion=guess,
            hint=hint,
        )

    def change(self, node: r.Change) -> None:
        ent, name = self.entity, node.tag
        span = self.nth(node, 2)
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
            hint=None if guess else f"number tags of {ent.name}: {_listing(numbers)}",
        )
