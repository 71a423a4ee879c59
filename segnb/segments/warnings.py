"""Rules that parse but are probably not what the user meant.

A misspelt enum value (``city = "Shenzen"``) is a valid rule that silently
matches nobody. :func:`rule_warnings` compares every string an enum tag or
attribute is compared with against the values in the warehouse and suggests
the nearest one. ``ws.warnings(rule)``, the magics and the wizard all show
these, and ``ws.create_segment`` warns with :class:`~segnb.errors.RuleWarning`.

Examples
--------
>>> rule_warnings(ctx, 'city = "Shenzen"')          # doctest: +SKIP
["city: no users have the value 'Shenzen'; did you mean 'Shenzhen'?"]
"""

from __future__ import annotations

from typing import Any

from segnb.errors import SegnbError
from segnb.hints import closest
from segnb.lang.nodes import Attribute, Compare, In, Node, Tag, walk

__all__ = ["rule_warnings"]


def _compared(node: Node) -> tuple[Any, list[Any]] | None:
    if isinstance(node, Compare) and node.op in ("=", "!="):
        return node.left, [node.value]
    if isinstance(node, In):
        return node.left, list(node.values)
    return None


def rule_warnings(ctx: Any, rule: Any, entity: Any = None) -> list[str]:
    """Warnings for enum values in ``rule`` (text or a parsed tree) that no entity has.

    Only enums whose distinct values are all known (not cut at the catalog's
    limit) are checked; a rule that does not parse has no warnings (its
    error says what is wrong).
    """
    try:
        ent = ctx.entity(entity)
        tree = ctx.parse(rule, ent)
    except SegnbError:
        return []
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for node in walk(tree):
        compared = _compared(node)
        if compared is None or not isinstance(compared[0], (Tag, Attribute)):
            continue
        left, values = compared
        name = left.name
        try:
            field = ent.tag(name) if isinstance(left, Tag) else ent.attribute(name)
        except (KeyError, SegnbError):
            continue
        strings = [v for v in values if isinstance(v, str)]
        if field.type != "enum" or field.is_numeric_enum or not strings:
            continue
        try:
            known, more = ctx.catalog.values(ent, name)
        except SegnbError:
            continue
        if more:
            continue
        known_text = [str(v) for v in known]
        for value in strings:
            if value in known_text or (name, value) in seen:
                continue
            seen.add((name, value))
            guess = closest(value, known_text)
            hint = (
                f"; did you mean {guess!r}?"
                if guess
                else f" (values: {', '.join(known_text[:8])}…)"
            )
            out.append(f"{name}: no {ent.name} have the value {value!r}{hint}")
    return out
