"""The rule tree: immutable, typed nodes that every face produces and consumes.

The rule language (:mod:`segnb.lang.parse`), the widget wizard and the store
all speak this tree. Nodes are frozen dataclasses validated on construction:
a node that cannot mean anything (an empty ``in`` list, a window that ends
before it starts, ``and`` of one part) cannot be built. Checks that need the
catalog (does this tag exist, is it a number) live in
:func:`segnb.lang.check.check`, which the parser calls.

Every node has an optional ``span`` (character offsets in the rule text it
came from; see :class:`~segnb.lang.tree.Span`). It is not part of equality,
hashing or JSON. Each concrete class registers itself in
:data:`~segnb.lang.tree.NODE_KINDS`; the groupings :class:`DateRef`,
:class:`Operand`, :class:`Condition` and :class:`SetExpr` are abstract bases.
The JSON form is in :mod:`segnb.lang.serial` (re-exported here).

Examples
--------
>>> rule = And((Compare(Tag("city"), "=", "Shenzhen"),
...             Compare(Count("purchase", Window(Today(-6), Today())), ">=", 2)))
>>> from_json(to_json(rule)) == rule
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

from segnb.errors import RuleError, RuleSyntaxError
from segnb.lang.dates import DateLiteral, DateRef, Today, Window
from segnb.lang.serial import JSON_VERSION, from_json, to_json
from segnb.lang.tree import NODE_KINDS, Node, Span, node_kinds, walk

__all__ = [
    "COMPARE_OPS",
    "JSON_VERSION",
    "NODE_KINDS",
    "SET_OPS",
    "And",
    "Attribute",
    "Between",
    "Change",
    "Compare",
    "Condition",
    "Count",
    "DateLiteral",
    "DateRef",
    "Did",
    "EventField",
    "In",
    "InSegment",
    "IsNull",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Score",
    "SegmentRef",
    "SetExpr",
    "SetOp",
    "Span",
    "Sum",
    "Tag",
    "Today",
    "Truth",
    "Value",
    "Window",
    "from_json",
    "node_kinds",
    "to_json",
    "value_kind",
    "walk",
]

COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=")
SET_OPS = ("&", "|", "-")


def _name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise RuleError(f"{what} must be a non-empty name, not {value!r}")


# -- operands: things that have a value per entity ----------------------------


@dataclass(frozen=True)
class Operand(Node, abstract=True):
    """A value per entity: a tag, attribute, event field, change, measure or score."""


@dataclass(frozen=True)
class Condition(Node, abstract=True):
    """True, false or unknown per entity."""


@dataclass(frozen=True)
class Tag(Operand):
    """A profile tag: its latest value, or its value in the snapshot dated ``at``."""

    name: str
    at: DateRef | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.name, "a tag")
        if self.at is not None and not isinstance(self.at, DateRef):
            raise RuleError(f"tag@date needs a date or T±n, not {self.at!r}")


@dataclass(frozen=True)
class Attribute(Operand):
    """A column of the entity table (one current value per entity)."""

    name: str
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.name, "an attribute")


@dataclass(frozen=True)
class EventField(Operand):
    """A column of the events table, used inside ``where`` filters and ``sum``."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "an event field")


@dataclass(frozen=True)
class Change(Operand):
    """``change(tag, start, end)``: the tag's value on ``end`` minus its value on ``start``."""

    tag: str
    start: DateRef
    end: DateRef
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.tag, "a tag")
        for part in (self.start, self.end):
            if not isinstance(part, DateRef):
                raise RuleError(f"change() needs dates or T±n, not {part!r}")


def _check_filter(where: Any) -> None:
    if where is None:
        return
    if not isinstance(where, Condition) or where.entity_level:
        raise RuleError(f"an event filter must be a condition, not {where!r}")
    for node in walk(where):
        if node.entity_level:
            raise RuleError(
                "an event filter can only use the event's own fields",
                hint="move conditions on tags or attributes out of the where clause",
            )


def _check_window(node: Any, what: str, optional: bool = False) -> None:
    if node.window is None and optional:
        return
    if not isinstance(node.window, Window):
        raise RuleError(f"{what} needs a window, not {node.window!r}")


def _check_events(node: Any, what: str, optional: bool = False) -> None:
    """An event condition's parts: the event name, its window (unless optional), its filter."""
    _name(node.event, "an event")
    _check_window(node, what, optional)
    _check_filter(node.where)


@dataclass(frozen=True)
class Count(Operand):
    """``count(event [where filter], window)``: events per entity; 0 when none."""

    event: str
    window: Window
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _check_events(self, "count()")


@dataclass(frozen=True)
class Sum(Operand):
    """``sum(event.field [where filter], window)``: 0 when the entity has no such events."""

    event: str
    field: str
    window: Window
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.field, "an event field")
        _check_events(self, "sum()")


@dataclass(frozen=True)
class Score(Operand):
    """``score(model)``: the latest predicted score of a prediction segment."""

    name: str
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.name, "a prediction segment")


Value = Union[str, int, float, bool, Today, DateLiteral]


def _check_value(value: Any) -> None:
    if isinstance(value, str) and (
        "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    ):
        raise RuleError(f"a string value cannot hold a NUL or broken character: {value!r}")
    if isinstance(value, (DateRef, str, bool, int)):
        return
    if isinstance(value, float) and math.isfinite(value):
        return
    raise RuleError(f"a value must be a string, number, boolean or date, not {value!r}")


def _check_operand(left: Any, what: str) -> None:
    if not isinstance(left, Operand):
        raise RuleError(f"{what} needs a tag, attribute, event measure or score, not {left!r}")


# -- conditions: true, false or unknown per entity ----------------------------


@dataclass(frozen=True)
class Compare(Condition):
    """``left op value`` with op one of ``= != < <= > >=``."""

    left: Operand
    op: str
    value: Value

    def __post_init__(self) -> None:
        _check_operand(self.left, "a comparison")
        if self.op not in COMPARE_OPS:
            raise RuleSyntaxError(
                f"unknown comparison {self.op!r}", hint=f"use one of {' '.join(COMPARE_OPS)}"
            )
        _check_value(self.value)


@dataclass(frozen=True)
class In(Condition):
    """``left in (v1, v2, …)``, or ``not in`` when ``negated``."""

    left: Operand
    values: tuple[Value, ...]
    negated: bool = False

    def __post_init__(self) -> None:
        _check_operand(self.left, "in")
        if not isinstance(self.values, tuple) or not self.values:
            raise RuleSyntaxError("'in' needs at least one value in parentheses")
        for value in self.values:
            _check_value(value)
        kinds = {value_kind(v) for v in self.values}
        if len(kinds) > 1:
            raise RuleError(
                f"the values of 'in' mix {' and '.join(sorted(kinds))}",
                hint="use values of one type",
            )


@dataclass(frozen=True)
class Between(Condition):
    """``left between low and high``, both ends included."""

    left: Operand
    low: Value
    high: Value

    def __post_init__(self) -> None:
        _check_operand(self.left, "between")
        _check_value(self.low)
        _check_value(self.high)
        if value_kind(self.low) != value_kind(self.high):
            raise RuleError("'between' needs two values of the same type")
        if value_kind(self.low) == "number" and self.low > self.high:
            raise RuleError(
                f"empty range: between {self.low} and {self.high}",
                hint=f"write the smaller value first: between {self.high} and {self.low}",
            )
        if (
            isinstance(self.low, DateLiteral)
            and isinstance(self.high, DateLiteral)
            and self.low.value > self.high.value
        ):
            raise RuleError(
                f"empty range: between {self.low.value} and {self.high.value}",
                hint="write the earlier date first",
            )


@dataclass(frozen=True)
class IsNull(Condition):
    """``left is null`` (no value), or ``is not null`` when ``negated``."""

    left: Operand
    negated: bool = False

    def __post_init__(self) -> None:
        _check_operand(self.left, "is null")


@dataclass(frozen=True)
class Truth(Condition):
    """A boolean tag, attribute or event field used as a condition: ``is_black_list``."""

    left: Operand

    def __post_init__(self) -> None:
        _check_operand(self.left, "a boolean condition")


@dataclass(frozen=True)
class Did(Condition):
    """``did(event [where filter], window)``: at least one such event in the window."""

    event: str
    window: Window
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _check_events(self, "did()")


@dataclass(frozen=True)
class InSegment(Condition):
    """``in_segment(name)``: member of the current version of another segment."""

    name: str
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.name, "a segment")


@dataclass(frozen=True)
class And(Condition):
    """All parts hold."""

    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        _check_parts(self.parts, "and")


@dataclass(frozen=True)
class Or(Condition):
    """At least one part holds."""

    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        _check_parts(self.parts, "or")


@dataclass(frozen=True)
class Not(Condition):
    """The part does not hold (unknown stays unknown, as in SQL)."""

    part: Condition

    def __post_init__(self) -> None:
        if not isinstance(self.part, Condition):
            raise RuleError(f"'not' needs a condition, not {self.part!r}")


def _check_parts(parts: Any, word: str) -> None:
    if not isinstance(parts, tuple) or len(parts) < 2:
        raise RuleError(f"'{word}' needs at least two conditions")
    for part in parts:
        if not isinstance(part, Condition):
            raise RuleError(f"'{word}' needs conditions, not {part!r}")


def value_kind(value: Any) -> str:
    """``'string'``, ``'number'``, ``'boolean'`` or ``'date'``: the kind of a rule value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "date"


# -- set expressions over segments --------------------------------------------


@dataclass(frozen=True)
class SetExpr(Node, abstract=True):
    """A set of entities built from stored segments: :class:`SegmentRef` or :class:`SetOp`."""


@dataclass(frozen=True)
class SegmentRef(SetExpr):
    """A segment named in a set expression."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "a segment")


@dataclass(frozen=True)
class SetOp(SetExpr):
    """``left & right`` (intersection), ``left | right`` (union), ``left - right`` (difference)."""

    op: str
    left: SetExpr
    right: SetExpr

    def __post_init__(self) -> None:
        if self.op not in SET_OPS:
            raise RuleSyntaxError(f"unknown set operator {self.op!r}", hint="use &, | or -")
        for side in (self.left, self.right):
            if not isinstance(side, SetExpr):
                raise RuleError(f"a set operator needs segments, not {side!r}")
