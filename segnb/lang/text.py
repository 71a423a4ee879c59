"""The canonical text of a rule tree.

:func:`to_text` prints any node of :mod:`segnb.lang.nodes` in the rule
language, so that ``parse_rule(to_text(tree)) == tree`` for every valid tree:
keywords in lower case, strings in double quotes, names in backticks when they
are not plain identifiers, and parentheses exactly where the tree groups
conditions (an ``and`` part that is itself an ``and`` or an ``or``, an ``or``
part that is an ``or``, ``not`` of a compound condition). The printer is a
:class:`~segnb.lang.visitor.NodeVisitor`: one ``visit_<Node>`` per node kind.

Examples
--------
>>> from segnb.lang.nodes import Compare, Count, Tag, Today, Window, And
>>> print(to_text(And((Compare(Tag("city"), "=", "Shenzhen"),
...                    Compare(Count("purchase", Window(Today(-6), Today())), ">=", 2)))))
city = "Shenzhen" and count(purchase, T-6..T) >= 2
"""

from __future__ import annotations

import math
import re
from typing import Any

from segnb.errors import RuleError
from segnb.lang import behaviour as b
from segnb.lang import nodes as r
from segnb.lang import tree
from segnb.lang.dates import date_text
from segnb.lang.visitor import NodeVisitor

__all__ = [
    "FUNCTIONS",
    "KEYWORDS",
    "RESERVED",
    "Printer",
    "date_text",
    "event_text",
    "quote_name",
    "quote_string",
    "to_text",
    "value_text",
]

#: Words that are never bare names (case-insensitive): write them in backticks.
RESERVED = frozenset(
    {"and", "or", "not", "in", "between", "is", "null", "true", "false", "where", "t"}
)
#: Function names: keywords only when followed by ``(``.
FUNCTIONS = ("count", "sum", "did", "change", "score", "in_segment", "first", "last",
             "days_since", "avg", "min", "max", "distinct", "active_days")  # fmt: skip
#: words of a sequence, ``did(a then b within 1d, …)``: names there are written quoted
SEQUENCE_WORDS = ("then", "within")
KEYWORDS = RESERVED | frozenset(FUNCTIONS) | frozenset(SEQUENCE_WORDS)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def _plain(name: str) -> bool:
    return bool(_IDENT.match(name)) and name.lower() not in KEYWORDS


def quote_name(name: str) -> str:
    """A tag, attribute, field or segment name as rule text (backticks when needed).

    >>> quote_name("city"), quote_name("signup channel"), quote_name("and")
    ('city', '`signup channel`', '`and`')
    """
    if _plain(name):
        return name
    if "\n" in name:
        raise RuleError(f"the name {name!r} holds a line break and cannot be written in a rule")
    return "`" + name.replace("`", "``") + "`"


def quote_string(value: str) -> str:
    r"""A string value in double quotes, with ``\\ \" \n \t`` escaped.

    >>> print(quote_string('say "hi"'))
    "say \"hi\""
    """
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


def event_text(name: str) -> str:
    """An event name as rule text: bare when an identifier, else a string."""
    return name if _plain(name) else quote_string(name)


def value_text(value: Any) -> str:
    """A comparison value as rule text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RuleError(f"{value!r} cannot be written in a rule")
        return repr(value)
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, (r.Today, r.DateLiteral)):
        return date_text(value)
    raise RuleError(f"not a rule value: {value!r}")


class Printer(NodeVisitor):
    """The canonical text of each node kind: ``Printer().visit(node)`` is :func:`to_text`."""

    def unhandled(self, node: Any) -> str:
        raise RuleError(f"cannot write {node!r} as rule text")

    # -- days -----------------------------------------------------------------

    def visit_Today(self, node: r.Today) -> str:
        return date_text(node)

    visit_DateLiteral = visit_Today

    def visit_Window(self, node: r.Window) -> str:
        return f"{date_text(node.start)}..{date_text(node.end)}"

    # -- operands -------------------------------------------------------------

    def visit_Tag(self, node: r.Tag) -> str:
        return quote_name(node.name) + ("" if node.at is None else f"@{date_text(node.at)}")

    def visit_Attribute(self, node: r.Attribute) -> str:
        return quote_name(node.name)

    visit_EventField = visit_Attribute

    def visit_Change(self, node: r.Change) -> str:
        return f"change({quote_name(node.tag)}, {date_text(node.start)}, {date_text(node.end)})"

    def events(self, node: r.Count | r.Sum | r.Did, field: str = "") -> str:
        """``event[.field] [where filter], window``: the inside of count(), sum() and did()."""
        where = "" if node.where is None else f" where {self.visit(node.where)}"
        return f"{event_text(node.event)}{field}{where}, {self.visit(node.window)}"

    def visit_Count(self, node: r.Count) -> str:
        return f"count({self.events(node)})"

    def visit_Sum(self, node: r.Sum) -> str:
        return f"sum({self.events(node, '.' + quote_name(node.field))})"

    def visit_Score(self, node: r.Score) -> str:
        return f"score({quote_name(node.name)})"

    def behaviour(self, word: str, node: Any, field: str | None = None) -> str:
        """``word(event[.field] [where filter][, window])``: the new behaviour functions."""
        where = "" if node.where is None else f" where {self.visit(node.where)}"
        dot = "" if field is None else "." + quote_name(field)
        window = getattr(node, "window", None)
        tail = "" if window is None else f", {self.visit(window)}"
        return f"{word}({event_text(node.event)}{dot}{where}{tail})"

    def visit_First(self, node: b.First) -> str:
        return self.behaviour("first", node)

    def visit_Last(self, node: b.Last) -> str:
        return self.behaviour("last", node)

    def visit_DaysSince(self, node: b.DaysSince) -> str:
        return self.behaviour("days_since", node)

    def visit_Avg(self, node: b.Avg) -> str:
        return self.behaviour(node.word, node, node.field)

    visit_Min = visit_Max = visit_Avg

    def visit_Distinct(self, node: b.Distinct) -> str:
        return self.behaviour("distinct", node, node.field)

    def visit_ActiveDays(self, node: b.ActiveDays) -> str:
        return self.behaviour("active_days", node)

    def visit_Step(self, node: b.Step) -> str:
        where = "" if node.where is None else f" where {self.visit(node.where)}"
        return f"{event_text(node.event)}{where}"

    def visit_DidSequence(self, node: b.DidSequence) -> str:
        steps = " then ".join(self.visit(s) for s in node.steps)
        within = "" if node.within is None else f" within {node.within}"
        return f"did({steps}{within}, {self.visit(node.window)})"

    # -- conditions -----------------------------------------------------------

    def visit_Did(self, node: r.Did) -> str:
        return f"did({self.events(node)})"

    def visit_InSegment(self, node: r.InSegment) -> str:
        return f"in_segment({quote_name(node.name)})"

    def visit_Compare(self, node: r.Compare) -> str:
        return f"{self.visit(node.left)} {node.op} {value_text(node.value)}"

    def visit_In(self, node: r.In) -> str:
        values = ", ".join(value_text(v) for v in node.values)
        return f"{self.visit(node.left)} {'not in' if node.negated else 'in'} ({values})"

    def visit_Between(self, node: r.Between, word: str = "between") -> str:
        return f"{self.visit(node.left)} {word} {value_text(node.low)} and {value_text(node.high)}"

    def visit_IsNull(self, node: r.IsNull) -> str:
        return f"{self.visit(node.left)} is {'not null' if node.negated else 'null'}"

    def visit_Truth(self, node: r.Truth) -> str:
        return self.visit(node.left)

    def wrap(self, part: r.Node, parent: type) -> str:
        """A part of and / or / not, in parentheses where the tree groups it."""
        text = self.visit(part)
        if isinstance(part, (r.And, r.Or)) and (parent is not r.Or or isinstance(part, r.Or)):
            return f"({text})"
        return text

    def visit_And(self, node: r.And) -> str:
        return " and ".join(self.wrap(p, r.And) for p in node.parts)

    def visit_Or(self, node: r.Or) -> str:
        return " or ".join(self.wrap(p, r.Or) for p in node.parts)

    def visit_Not(self, node: r.Not) -> str:
        if isinstance(node.part, r.Between):  # reads better, parses to the same tree
            return self.visit_Between(node.part, "not between")
        return f"not {self.wrap(node.part, r.Not)}"

    # -- set expressions ------------------------------------------------------

    def visit_SegmentRef(self, node: r.SegmentRef) -> str:
        return quote_name(node.name)

    def side(self, node: r.Node, op: str, right: bool) -> str:
        """One side of a set operator, in parentheses only where the grouping needs them."""
        text = self.visit(node)
        if not isinstance(node, r.SetOp):
            return text
        if op == "&":  # & binds tightest: only a left-nested & goes bare
            needs = right or node.op != "&"
        else:  # | and - are equal and left-associative: a bare & or a left chain
            needs = right and node.op != "&"
        return f"({text})" if needs else text

    def visit_SetOp(self, node: r.SetOp) -> str:
        return f"{self.side(node.left, node.op, False)} {node.op} {self.side(node.right, node.op, True)}"


_PRINTER = Printer()


def to_text(node: r.Node) -> str:
    """The canonical rule text of ``node`` (any rule node, condition or set expression).

    Examples
    --------
    >>> from segnb.lang.nodes import Not, Or, Truth, Tag, InSegment
    >>> to_text(Not(Or((Truth(Tag("is_black_list")), InSegment("vip q4")))))
    'not (is_black_list or in_segment(`vip q4`))'
    """
    return _PRINTER.visit(node)


tree.PRINTER[0] = to_text
