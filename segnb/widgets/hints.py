"""Warnings about rules that parse but are probably not what the user meant.

A misspelt enum value (``city = "Shenzen"``) is a valid rule that silently
matches nobody. :func:`rule_warnings` compares every string an enum tag or
attribute is compared with against the values in the warehouse and suggests
the nearest one. The magics, the API helpers and the wizard all show these.

Examples
--------
>>> rule_warnings(ws, 'city = "Shenzen"')          # doctest: +SKIP
["city: no users have the value 'Shenzen'; did you mean 'Shenzhen'?"]
"""

from __future__ import annotations

import difflib
from typing import Any

from segnb.errors import SegnbError

__all__ = ["rule_warnings"]


def _children(node: Any):
    for attr in ("parts", "part", "left", "where"):
        child = getattr(node, attr, None)
        if isinstance(child, tuple):
            yield from child
        elif child is not None and hasattr(child, "__dataclass_fields__"):
            yield child


def _walk(node: Any):
    yield node
    for child in _children(node):
        yield from _walk(child)


def _compared(node: Any) -> tuple[Any, list[Any]] | None:
    kind = type(node).__name__
    if kind == "Compare" and node.op in ("=", "!="):
        return node.left, [node.value]
    if kind == "In":
        return node.left, list(node.values)
    return None


def rule_warnings(ws: Any, rule: Any, entity: Any = None) -> list[str]:
    """Warnings for enum values in ``rule`` (text or a parsed tree) that no entity has.

    Only enums whose distinct values are all known (not cut at the catalog's
    limit) are checked; a rule that does not parse has no warnings (its
    error says what is wrong).
    """
    try:
        tree = ws.parse(rule, entity) if isinstance(rule, str) else rule
        ent = ws.entity(entity)
    except (SegnbError, ValueError, TypeError):
        return []
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for node in _walk(tree):
        compared = _compared(node)
        if compared is None:
            continue
        left, values = compared
        if type(left).__name__ not in ("Tag", "Attribute"):
            continue
        name = left.name
        try:
            field = ent.tag(name) if type(left).__name__ == "Tag" else ent.attribute(name)
        except KeyError:
            continue
        if field.type != "enum" or field.is_numeric_enum:
            continue
        strings = [v for v in values if isinstance(v, str)]
        if not strings:
            continue
        try:
            known, more = ws.catalog.values(ent, name)
        except (SegnbError, ValueError):
            continue
        if more:
            continue
        known_text = [str(v) for v in known]
        for value in strings:
            if value in known_text or (name, value) in seen:
                continue
            seen.add((name, value))
            guess = difflib.get_close_matches(value, known_text, n=1, cutoff=0.6)
            if not guess:
                lowered = {k.lower(): k for k in known_text}
                guess = [lowered[value.lower()]] if value.lower() in lowered else []
            hint = (
                f"; did you mean {guess[0]!r}?"
                if guess
                else f" (values: {', '.join(known_text[:8])}…)"
            )
            out.append(f"{name}: no {ent.name} have the value {value!r}{hint}")
    return out
