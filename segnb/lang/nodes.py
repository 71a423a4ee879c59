"""The rule tree: immutable, typed nodes that every face produces and consumes.

The rule language (:mod:`segnb.lang.parse`), the widget wizard and the store
all speak this tree. Nodes are frozen dataclasses validated on construction:
a node that cannot mean anything (an empty ``in`` list, a window that ends
before it starts, ``and`` of one part) cannot be built. Checks that need the
catalog (does this tag exist, is it a number) live in
:func:`segnb.lang.check.check`, which the parser calls.

Every node has an optional ``span`` (character offsets in the rule text it
came from). It is not part of equality, hashing or JSON.

Examples
--------
>>> rule = And((Compare(Tag("city"), "=", "Shenzhen"),
...             Compare(Count("purchase", Window(Today(-6), Today())), ">=", 2)))
>>> from_json(to_json(rule)) == rule
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Union

from segnb.errors import RuleError, RuleSyntaxError

__all__ = [
    "COMPARE_OPS",
    "JSON_VERSION",
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
    "Sum",
    "Tag",
    "Today",
    "Truth",
    "Value",
    "Window",
    "from_json",
    "to_json",
    "walk",
]

COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=")
SET_OPS = ("&", "|", "-")
JSON_VERSION = 1
#: the canonical printer, set by :mod:`segnb.lang.text` (which imports this module)
PRINTER: list = [repr]


def _span_field():
    return field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Node:
    """Base of every rule node."""

    span: tuple[int, int] | None = _span_field()

    def __str__(self) -> str:
        return PRINTER[0](self)


def _name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise RuleError(f"{what} must be a non-empty name, not {value!r}")


# -- dates --------------------------------------------------------------------


@dataclass(frozen=True)
class Today(Node):
    """``T`` plus ``offset`` days: ``T`` is the as-of date of the run (``T-6`` has offset -6)."""

    offset: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.offset, int) or isinstance(self.offset, bool):
            raise RuleError(f"a day offset must be a whole number, not {self.offset!r}")
        if abs(self.offset) > 36500:
            raise RuleError(f"a day offset of {self.offset} is more than 100 years")

    def resolve(self, as_of: dt.date) -> dt.date:
        return as_of + dt.timedelta(days=self.offset)


@dataclass(frozen=True)
class DateLiteral(Node):
    """A calendar date written in the rule, e.g. ``2024-08-06``."""

    value: dt.date

    def __post_init__(self) -> None:
        if not isinstance(self.value, dt.date) or isinstance(self.value, dt.datetime):
            raise RuleError(f"a date literal needs a datetime.date, not {self.value!r}")

    def resolve(self, as_of: dt.date) -> dt.date:
        return self.value


DateRef = Union[Today, DateLiteral]


@dataclass(frozen=True)
class Window(Node):
    """Whole calendar days from ``start`` through ``end``, both included."""

    start: DateRef
    end: DateRef

    def __post_init__(self) -> None:
        for part in (self.start, self.end):
            if not isinstance(part, (Today, DateLiteral)):
                raise RuleError(f"a window bound must be a date or T±n, not {part!r}")
        same_kind = type(self.start) is type(self.end)
        if same_kind and self.start.resolve(dt.date(2000, 1, 1)) > self.end.resolve(
            dt.date(2000, 1, 1)
        ):
            raise RuleError(
                "empty window: it ends before it starts",
                hint=f"write the earlier day first, e.g. {_date_text(self.end)}..{_date_text(self.start)}",
            )

    def resolve(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day of the window for a given as-of date."""
        start, end = self.start.resolve(as_of), self.end.resolve(as_of)
        if start > end:
            raise RuleError(f"empty window: {start} .. {end} ends before it starts for T = {as_of}")
        return start, end


def _date_text(ref: DateRef) -> str:
    if isinstance(ref, DateLiteral):
        return ref.value.isoformat()
    if ref.offset == 0:
        return "T"
    return f"T{ref.offset:+d}"


# -- operands: things that have a value per entity ----------------------------


@dataclass(frozen=True)
class Tag(Node):
    """A profile tag: its latest value, or its value in the snapshot dated ``at``."""

    name: str
    at: DateRef | None = None

    def __post_init__(self) -> None:
        _name(self.name, "a tag")
        if self.at is not None and not isinstance(self.at, (Today, DateLiteral)):
            raise RuleError(f"tag@date needs a date or T±n, not {self.at!r}")


@dataclass(frozen=True)
class Attribute(Node):
    """A column of the entity table (one current value per entity)."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "an attribute")


@dataclass(frozen=True)
class EventField(Node):
    """A column of the events table, used inside ``where`` filters and ``sum``."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "an event field")


@dataclass(frozen=True)
class Change(Node):
    """``change(tag, start, end)``: the tag's value on ``end`` minus its value on ``start``."""

    tag: str
    start: DateRef
    end: DateRef

    def __post_init__(self) -> None:
        _name(self.tag, "a tag")
        for part in (self.start, self.end):
            if not isinstance(part, (Today, DateLiteral)):
                raise RuleError(f"change() needs dates or T±n, not {part!r}")


def _check_filter(where: Any) -> None:
    if where is None:
        return
    if not isinstance(where, (Compare, In, Between, IsNull, Truth, And, Or, Not)):
        raise RuleError(f"an event filter must be a condition, not {where!r}")
    for node in walk(where):
        if isinstance(node, (Tag, Attribute, Change, Count, Sum, Score, Did, InSegment)):
            raise RuleError(
                "an event filter can only use the event's own fields",
                hint="move conditions on tags or attributes out of the where clause",
            )


def _check_events(node: Any, what: str) -> None:
    _name(node.event, "an event")
    if not isinstance(node.window, Window):
        raise RuleError(f"{what} needs a window, not {node.window!r}")
    _check_filter(node.where)


@dataclass(frozen=True)
class Count(Node):
    """``count(event [where filter], window)``: events per entity; 0 when none."""

    event: str
    window: Window
    where: Condition | None = None

    def __post_init__(self) -> None:
        _check_events(self, "count()")


@dataclass(frozen=True)
class Sum(Node):
    """``sum(event.field [where filter], window)``: 0 when the entity has no such events."""

    event: str
    field: str
    window: Window
    where: Condition | None = None

    def __post_init__(self) -> None:
        _name(self.field, "an event field")
        _check_events(self, "sum()")


@dataclass(frozen=True)
class Score(Node):
    """``score(model)``: the latest predicted score of a prediction segment."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "a prediction segment")


Operand = Union[Tag, Attribute, EventField, Change, Count, Sum, Score]
_OPERANDS = (Tag, Attribute, EventField, Change, Count, Sum, Score)
Value = Union[str, int, float, bool, Today, DateLiteral]


def _check_value(value: Any) -> None:
    if isinstance(value, (Today, DateLiteral, str, bool, int)):
        return
    if isinstance(value, float) and math.isfinite(value):
        return
    raise RuleError(f"a value must be a string, number, boolean or date, not {value!r}")


def _check_operand(left: Any, what: str) -> None:
    if not isinstance(left, _OPERANDS):
        raise RuleError(f"{what} needs a tag, attribute, event measure or score, not {left!r}")


# -- conditions: true, false or unknown per entity ----------------------------


@dataclass(frozen=True)
class Compare(Node):
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
class In(Node):
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
        kinds = {_value_kind(v) for v in self.values}
        if len(kinds) > 1:
            raise RuleError(
                f"the values of 'in' mix {' and '.join(sorted(kinds))}",
                hint="use values of one type",
            )


@dataclass(frozen=True)
class Between(Node):
    """``left between low and high``, both ends included."""

    left: Operand
    low: Value
    high: Value

    def __post_init__(self) -> None:
        _check_operand(self.left, "between")
        _check_value(self.low)
        _check_value(self.high)
        if _value_kind(self.low) != _value_kind(self.high):
            raise RuleError("'between' needs two values of the same type")
        if _value_kind(self.low) == "number" and self.low > self.high:
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
class IsNull(Node):
    """``left is null`` (no value), or ``is not null`` when ``negated``."""

    left: Operand
    negated: bool = False

    def __post_init__(self) -> None:
        _check_operand(self.left, "is null")


@dataclass(frozen=True)
class Truth(Node):
    """A boolean tag, attribute or event field used as a condition: ``is_black_list``."""

    left: Operand

    def __post_init__(self) -> None:
        _check_operand(self.left, "a boolean condition")


@dataclass(frozen=True)
class Did(Node):
    """``did(event [where filter], window)``: at least one such event in the window."""

    event: str
    window: Window
    where: Condition | None = None

    def __post_init__(self) -> None:
        _check_events(self, "did()")


@dataclass(frozen=True)
class InSegment(Node):
    """``in_segment(name)``: member of the current version of another segment."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "a segment")


@dataclass(frozen=True)
class And(Node):
    """All parts hold."""

    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        _check_parts(self.parts, "and")


@dataclass(frozen=True)
class Or(Node):
    """At least one part holds."""

    parts: tuple[Condition, ...]

    def __post_init__(self) -> None:
        _check_parts(self.parts, "or")


@dataclass(frozen=True)
class Not(Node):
    """The part does not hold (unknown stays unknown, as in SQL)."""

    part: Condition

    def __post_init__(self) -> None:
        if not isinstance(self.part, _CONDITIONS):
            raise RuleError(f"'not' needs a condition, not {self.part!r}")


Condition = Union[Compare, In, Between, IsNull, Truth, Did, InSegment, And, Or, Not]
_CONDITIONS = (Compare, In, Between, IsNull, Truth, Did, InSegment, And, Or, Not)


def _check_parts(parts: Any, word: str) -> None:
    if not isinstance(parts, tuple) or len(parts) < 2:
        raise RuleError(f"'{word}' needs at least two conditions")
    for part in parts:
        if not isinstance(part, _CONDITIONS):
            raise RuleError(f"'{word}' needs conditions, not {part!r}")


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "date"


# -- set expressions over segments --------------------------------------------


@dataclass(frozen=True)
class SegmentRef(Node):
    """A segment named in a set expression."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "a segment")


@dataclass(frozen=True)
class SetOp(Node):
    """``left & right`` (intersection), ``left | right`` (union), ``left - right`` (difference)."""

    op: str
    left: SetExpr
    right: SetExpr

    def __post_init__(self) -> None:
        if self.op not in SET_OPS:
            raise RuleSyntaxError(f"unknown set operator {self.op!r}", hint="use &, | or -")
        for side in (self.left, self.right):
            if not isinstance(side, (SegmentRef, SetOp)):
                raise RuleError(f"a set operator needs segments, not {side!r}")


SetExpr = Union[SegmentRef, SetOp]


# -- traversal and JSON -------------------------------------------------------


def walk(node: Node):
    """Yield ``node`` and every node below it, parents first."""
    yield node
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, Node):
                yield from walk(item)


_NODE_TYPES = {
    cls.__name__: cls
    for cls in (
        Today,
        DateLiteral,
        Window,
        Tag,
        Attribute,
        EventField,
        Change,
        Count,
        Sum,
        Score,
        Compare,
        In,
        Between,
        IsNull,
        Truth,
        Did,
        InSegment,
        And,
        Or,
        Not,
        SegmentRef,
        SetOp,
    )
}


def _encode(value: Any) -> Any:
    if isinstance(value, Node):
        out: dict[str, Any] = {"node": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name != "span":
                out[f.name] = _encode(getattr(value, f.name))
        return out
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    if isinstance(value, dict):
        if set(value) == {"date"}:
            try:
                return dt.date.fromisoformat(value["date"])
            except (TypeError, ValueError) as exc:
                raise RuleError(f"bad date in rule JSON: {value['date']!r}") from exc
        kind = value.get("node")
        cls = _NODE_TYPES.get(kind)
        if cls is None:
            raise RuleError(
                f"unknown node {kind!r} in rule JSON",
                hint=f"known nodes: {', '.join(sorted(_NODE_TYPES))}",
            )
        args = {k: _decode(v) for k, v in value.items() if k != "node"}
        names = {f.name for f in dataclasses.fields(cls)} - {"span"}
        unknown = set(args) - names
        if unknown:
            raise RuleError(f"unknown field(s) {sorted(unknown)} for {kind} in rule JSON")
        try:
            return cls(**args)
        except TypeError as exc:
            raise RuleError(f"bad {kind} in rule JSON: {exc}") from exc
    return value


def to_json(node: Node) -> dict[str, Any]:
    """A JSON-ready dict of the tree, with a version key.

    Examples
    --------
    >>> to_json(InSegment("vip"))
    {'version': 1, 'rule': {'node': 'InSegment', 'name': 'vip'}}
    """
    return {"version": JSON_VERSION, "rule": _encode(node)}


def from_json(data: dict[str, Any]) -> Node:
    """The tree of a :func:`to_json` dict; validated as it is rebuilt."""
    if not isinstance(data, dict) or "rule" not in data:
        raise RuleError("rule JSON needs a 'rule' key (made by segnb.lang.nodes.to_json)")
    version = data.get("version")
    if version != JSON_VERSION:
        raise RuleError(
            f"rule JSON version {version!r} is not supported; this segnb reads version {JSON_VERSION}"
        )
    node = _decode(data["rule"])
    if not isinstance(node, Node):
        raise RuleError("rule JSON does not hold a rule node")
    return node
