"""The canonical text of a rule tree.

:func:`to_text` prints any node of :mod:`segnb.lang.nodes` in the rule
language, so that ``parse_rule(to_text(tree)) == tree`` for every valid tree:
keywords in lower case, strings in double quotes, names in backticks when they
are not plain identifiers, and parentheses exactly where the tree groups
conditions (an ``and`` part that is itself an ``and`` or an ``or``, an ``or``
part that is an ``or``, ``not`` of a compound condition).

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
from segnb.lang import nodes as r
from segnb.lang import tree

__all__ = [
    "FUNCTIONS",
    "KEYWORDS",
    "RESERVED",
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
FUNCTIONS = ("count", "sum", "did", "change", "score", "in_segment")
KEYWORDS = RESERVED | frozenset(FUNCTIONS)

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


def date_text(ref: r.Today | r.DateLiteral) -> str:
    """``2024-08-06``, ``T``, ``T-6`` or ``T+1``."""
    if isinstance(ref, r.DateLiteral):
        return ref.value.isoformat()
    return "T" if ref.offset == 0 else f"T{ref.offset:+d}"


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


def _window(node: r.Window) -> str:
    return f"{date_text(node.start)}..{date_text(node.end)}"


def _where(where: r.Node | None) -> str:
    return "" if where is None else f" where {to_text(where)}"


def _wrap(part: r.Node, parent: type) -> str:
    text = to_text(part)
    if isinstance(part, (r.And, r.Or)) and (parent is not r.Or or isinstance(part, r.Or)):
        return f"({text})"
    return text


def _set_side(node: r.Node, op: str, right: bool) -> str:
    text = to_text(node)
    if not isinstance(node, r.SetOp):
        return text
    if op == "&":  # & binds tightest: only a left-nested & goes bare
        needs = right or node.op != "&"
    else:  # | and - are equal and left-associative: a bare & or a left chain
        needs = right and node.op != "&"
    return f"({text})" if needs else text


_PRINTERS: dict[type, Any] = {
    r.Today: date_text,
    r.DateLiteral: date_text,
    r.Window: _window,
    r.Tag: lambda n: quote_name(n.name) + ("" if n.at is None else f"@{date_text(n.at)}"),
    r.Attribute: lambda n: quote_name(n.name),
    r.EventField: lambda n: quote_name(n.name),
    r.Change: lambda n: f"change({quote_name(n.tag)}, {date_text(n.start)}, {date_text(n.end)})",
    r.Count: lambda n: f"count({event_text(n.event)}{_where(n.where)}, {_window(n.window)})",
    r.Sum: lambda n: (
        f"sum({event_text(n.event)}.{quote_name(n.field)}{_where(n.where)}, {_window(n.window)})"
    ),
    r.Did: lambda n: f"did({event_text(n.event)}{_where(n.where)}, {_window(n.window)})",
    r.Score: lambda n: f"score({quote_name(n.name)})",
    r.InSegment: lambda n: f"in_segment({quote_name(n.name)})",
    r.Compare: lambda n: f"{to_text(n.left)} {n.op} {value_text(n.value)}",
    r.In: lambda n: (
        f"{to_text(n.left)} {'not in' if n.negated else 'in'} "
        f"({', '.join(value_text(v) for v in n.values)})"
    ),
    r.Between: lambda n: f"{to_text(n.left)} between {value_text(n.low)} and {value_text(n.high)}",
    r.IsNull: lambda n: f"{to_text(n.left)} is {'not null' if n.negated else 'null'}",
    r.Truth: lambda n: to_text(n.left),
    r.And: lambda n: " and ".join(_wrap(p, r.And) for p in n.parts),
    r.Or: lambda n: " or ".join(_wrap(p, r.Or) for p in n.parts),
    r.SegmentRef: lambda n: quote_name(n.name),
    r.SetOp: lambda n: f"{_set_side(n.left, n.op, False)} {n.op} {_set_side(n.right, n.op, True)}",
}


def _not(node: r.Not) -> str:
    part = node.part
    if isinstance(part, r.Between):  # reads better, parses to the same tree
        return (
            f"{to_text(part.left)} not between {value_text(part.low)} and {value_text(part.high)}"
        )
    return f"not {_wrap(part, r.Not)}"


_PRINTERS[r.Not] = _not


def to_text(node: r.Node) -> str:
    """The canonical rule text of ``node`` (any rule node, condition or set expression).

    Examples
    --------
    >>> from segnb.lang.nodes import Not, Or, Truth, Tag, InSegment
    >>> to_text(Not(Or((Truth(Tag("is_black_list")), InSegment("vip q4")))))
    'not (is_black_list or in_segment(`vip q4`))'
    """
    printer = _PRINTERS.get(type(node))
    if printer is None:
        raise RuleError(f"cannot write {node!r} as rule text")
    return printer(node)


tree.PRINTER[0] = to_text
