"""The wizard's form as plain data: condition specs to rule text and rule trees to specs.

A condition spec is a dict with a ``kind`` (``tag``, ``event``, ``attribute``,
``segment``, ``score`` or ``text``) and the fields of that kind. The form is a
list of groups (OR-ed), each a list of specs (AND-ed): the disjunctive form of
a rule. :func:`spec_text` writes one condition in the rule language and
:func:`tree_groups` reads a parsed rule (``ws.parse``) back into groups; a part
the form has no row for becomes a ``text`` spec holding its rule text, so that
every rule has a form.

Examples
--------
>>> spec_text({"kind": "tag", "name": "city", "type": "enum", "op": "in",
...            "values": ["Shenzhen", "Guangzhou"]})
'city in ("Shenzhen", "Guangzhou")'
>>> groups_text([[{"kind": "segment", "name": "vip"}], [{"kind": "text", "text": "is_member"}]])
'in_segment(vip) or is_member'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

__all__ = [
    "COMPARE",
    "EVENT_OPS",
    "FIELD_MEASURES",
    "MAX_CONDITIONS",
    "default_spec",
    "groups_text",
    "name_text",
    "spec_text",
    "string_text",
    "tree_groups",
    "value_text",
]

#: Most conditions a form holds (SPEC: up to 20).
MAX_CONDITIONS = 20
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
EVENT_OPS = (">=", ">", "=", "<=", "<", "!=")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORDS = frozenset(
    [
        "and",
        "or",
        "not",
        "in",
        "between",
        "is",
        "null",
        "true",
        "false",
        "where",
        "t",
        "count",
        "sum",
        "did",
        "change",
        "score",
        "in_segment",
        "first",
        "last",
        "days_since",
        "avg",
        "min",
        "max",
        "distinct",
        "active_days",
        "then",
        "within",
    ]
)
#: measures of the behaviour row that read a field of the event
FIELD_MEASURES = ("sum", "avg", "min", "max", "distinct")
#: node kinds of the other behaviour measures a row shows
_MEASURES = {"Avg": "avg", "Min": "min", "Max": "max", "Distinct": "distinct",
             "ActiveDays": "active_days"}  # fmt: skip
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}
_DATE = re.compile(r"\s*(T(\s*[+-]\s*\d+)?|\d{4}-\d{2}-\d{2})\s*\Z")


def name_text(name: str) -> str:
    """A tag, attribute or segment name as rule text (backticks when needed)."""
    if _IDENT.match(name) and name.lower() not in _WORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def string_text(value: str) -> str:
    """A string in double quotes."""
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


def _event_text(name: str) -> str:
    return name if _IDENT.match(name) and name.lower() not in _WORDS else string_text(name)


def date_text(value: Any) -> str:
    """A date value (a date, ``T-3``, ``2024-08-06``) as rule text."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    if not _DATE.match(text):
        raise ValueError(f"{text!r} is not a date: write 2024-08-06, T or T-6")
    return re.sub(r"\s+", "", text)


def value_text(value: Any, type_: str = "enum", numeric: bool = False) -> str:
    """A comparison value for a field of type ``type_`` as rule text."""
    if type_ == "boolean" or isinstance(value, bool):
        if isinstance(value, str):
            value = value.strip().lower() in ("true", "yes", "1")
        return "true" if value else "false"
    if type_ == "datetime":
        return date_text(value)
    if type_ == "number" or numeric:
        if isinstance(value, str):
            value = value.strip()
            number = float(value)  # raises ValueError with the text
            value = int(number) if number.is_integer() and "." not in value else number
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} is not a number a rule can hold")
            return repr(int(value)) if value.is_integer() else repr(value)
        return str(int(value))
    return string_text(str(value))


def _compare(operand: str, spec: dict[str, Any], type_: str) -> str:
    op = spec.get("op") or "="
    numeric = bool(spec.get("numeric"))
    if op in ("is null", "is not null"):
        return f"{operand} {op}"
    if type_ == "boolean":
        return f"{operand} = {value_text(spec.get('value', True), 'boolean')}"
    if op in ("in", "not in"):
        values = list(spec.get("values") or [])
        if not values:
            raise ValueError(f"pick at least one value for {operand}")
        listed = ", ".join(value_text(v, type_, numeric) for v in values)
        return f"{operand} {op} ({listed})"
    if op == "between":
        low, high = spec.get("value"), spec.get("value2")
        return f"{operand} between {value_text(low, type_, numeric)} and {value_text(high, type_, numeric)}"
    if op not in COMPARE:
        raise ValueError(f"unknown operator {op!r}")
    value = spec.get("value")
    if type_ == "enum" and value in (None, "") and spec.get("values"):
        value = spec["values"][0]
    if value is None or value == "":
        raise ValueError(f"give a value for {operand}")
    return f"{operand} {op} {value_text(value, type_, numeric)}"


def _window(spec: dict[str, Any]) -> str:
    if spec.get("window") == "fixed":
        return f"{date_text(spec.get('start'))}..{date_text(spec.get('end'))}"
    days = int(spec.get("days") or 7)
    if days < 1:
        raise ValueError("a window covers at least 1 day")
    return "T" if days == 1 else f"T-{days - 1}..T"


def spec_text(spec: dict[str, Any]) -> str:
    """One condition spec as rule text; ValueError when a field is missing."""
    kind = spec.get("kind")
    if kind == "text":
        text = str(spec.get("text") or "").strip()
        if not text:
            raise ValueError("an empty rule-text condition")
        return f"({text})" if re.search(r"\bor\b", text, re.I) else text
    name = spec.get("name")
    if not name:
        raise ValueError(
            f"pick a {'segment' if kind in ('segment', 'score') else kind or 'condition'}"
        )
    type_ = spec.get("type") or "enum"
    if kind == "tag":
        mode = spec.get("mode") or "latest"
        if mode == "change":
            operand = f"change({name_text(name)}, {date_text(spec.get('start'))}, {date_text(spec.get('end'))})"
            type_ = "number"
        elif mode == "on":
            operand = f"{name_text(name)}@{date_text(spec.get('date'))}"
        else:
            operand = name_text(name)
        return _compare(operand, spec, type_)
    if kind == "attribute":
        return _compare(name_text(name), spec, type_)
    if kind == "segment":
        text = f"in_segment({name_text(name)})"
        return f"not {text}" if spec.get("negate") else text
    if kind == "score":
        return _compare(
            f"score({name_text(name)})", dict(spec, op=spec.get("op") or ">="), "number"
        )
    if kind == "event":
        measure = spec.get("measure") or "count"
        target = _event_text(name)
        if measure in FIELD_MEASURES:
            if not spec.get("field"):
                raise ValueError(f"pick the field of {name} for {measure}()")
            target = f"{target}.{name_text(spec['field'])}"
        where = ""
        if spec.get("where_field") and spec.get("where_value") not in (None, "", []):
            wspec = {"op": spec.get("where_op") or "=", "value": spec.get("where_value"),
                     "values": spec.get("where_values") or [spec.get("where_value")],
                     "numeric": spec.get("where_numeric")}  # fmt: skip
            wtype = spec.get("where_type") or "enum"
            where = " where " + _compare(name_text(spec["where_field"]), wspec, wtype)
        elif spec.get("where"):
            where = f" where {spec['where']}"
        call = f"{measure}({target}{where}, {_window(spec)})"
        if measure == "did":
            return f"not {call}" if spec.get("negate") else call
        op = spec.get("op") or ">="
        return f"{call} {op} {value_text(spec.get('value', 1), 'number')}"
    raise ValueError(f"unknown condition kind {kind!r}")


def groups_text(groups: list[list[dict[str, Any]]]) -> str:
    """The rule of a whole form: conditions AND-ed in a group, groups OR-ed."""
    parts = []
    for group in groups:
        texts = [spec_text(spec) for spec in group]
        if texts:
            parts.append(" and ".join(texts))
    return " or ".join(parts)


def default_spec(kind: str) -> dict[str, Any]:
    """A new, empty condition of ``kind``."""
    base = {"kind": kind, "name": None}
    extra = {
        "tag": {"mode": "latest", "op": None, "value": None, "values": []},
        "attribute": {"op": None, "value": None, "values": []},
        "event": {"measure": "count", "op": ">=", "value": 1, "window": "last", "days": 7},
        "segment": {"negate": False},
        "score": {"op": ">=", "value": 0.5},
        "text": {"text": ""},
    }[kind]
    return {**base, **extra}


# -- reading a parsed rule (a tree from ws.parse) back into the form -------------
# The tree is read by node class name and attributes only.


def _kind(node: Any) -> str:
    return type(node).__name__


def _plain(value: Any) -> Any:
    return str(value) if _kind(value) in ("Today", "DateLiteral") else value


def _field_type(ws: Any, entity: Any, kind: str, name: str) -> tuple[str, bool]:
    try:
        field = entity.tag(name) if kind == "tag" else entity.attribute(name)
    except KeyError:
        return "enum", False
    return field.type, bool(field.is_numeric_enum)


def _left(ws: Any, entity: Any, left: Any) -> dict[str, Any] | None:
    k = _kind(left)
    if k == "Tag":
        type_, numeric = _field_type(ws, entity, "tag", left.name)
        spec = {
            "kind": "tag",
            "name": left.name,
            "type": type_,
            "numeric": numeric,
            "mode": "latest",
        }
        if left.at is not None:
            spec.update(mode="on", date=str(left.at))
        return spec
    if k == "Change":
        return {"kind": "tag", "name": left.tag, "type": "number", "mode": "change",
                "start": str(left.start), "end": str(left.end)}  # fmt: skip
    if k == "Attribute":
        type_, numeric = _field_type(ws, entity, "attribute", left.name)
        return {"kind": "attribute", "name": left.name, "type": type_, "numeric": numeric}
    if k == "Score":
        return {"kind": "score", "name": left.name, "type": "number"}
    if k in ("Count", "Sum"):
        return _event(left, "count" if k == "Count" else "sum")
    if k in _MEASURES:
        return _event(left, _MEASURES[k])
    return None


def _window_spec(window: Any) -> dict[str, Any]:
    start, end = window.start, window.end
    if _kind(start) == "Today" and _kind(end) == "Today" and end.offset == 0:
        return {"window": "last", "days": 1 - start.offset}
    return {"window": "fixed", "start": str(start), "end": str(end)}


def _event(node: Any, measure: str) -> dict[str, Any] | None:
    if node.window is None:  # "ever": a rule-text row
        return None
    spec = {"kind": "event", "name": node.event, "measure": measure, **_window_spec(node.window)}
    if measure in FIELD_MEASURES:
        spec["field"] = node.field
    where = node.where
    if where is not None:
        k = _kind(where)
        if k == "Compare" and _kind(where.left) == "EventField":
            spec.update(where_field=where.left.name, where_op=where.op,
                        where_value=_plain(where.value), where_values=[_plain(where.value)],
                        where_numeric=isinstance(where.value, (int, float)))  # fmt: skip
            spec["where_type"] = "number" if spec["where_numeric"] else "enum"
        elif k == "In" and _kind(where.left) == "EventField":
            values = [_plain(v) for v in where.values]
            spec.update(where_field=where.left.name, where_op="not in" if where.negated else "in",
                        where_values=values, where_value=values[0] if values else None,
                        where_numeric=all(isinstance(v, (int, float)) for v in values),
                        where_type="enum")  # fmt: skip
        else:
            spec["where"] = str(where)
    return spec


def node_spec(ws: Any, entity: Any, node: Any) -> dict[str, Any]:
    """The condition spec of one parsed condition (a ``text`` spec when no row fits)."""
    spec = _node_spec(ws, entity, node)
    return spec if spec is not None else {"kind": "text", "text": str(node)}


def _node_spec(ws: Any, entity: Any, node: Any) -> dict[str, Any] | None:
    k = _kind(node)
    if k == "Not":
        inner = node.part
        ik = _kind(inner)
        if ik == "Did":
            spec = _event(inner, "did")
            return spec and dict(spec, negate=True)
        if ik == "InSegment":
            return {"kind": "segment", "name": inner.name, "negate": True}
        if ik == "Truth":
            spec = _left(ws, entity, inner.left)
            return spec and dict(spec, op="=", value=False)
        return None
    if k == "Did":
        return _event(node, "did")
    if k == "InSegment":
        return {"kind": "segment", "name": node.name, "negate": False}
    if k not in ("Compare", "In", "Between", "IsNull", "Truth"):
        return None
    spec = _left(ws, entity, node.left)
    if spec is None:
        return None
    if k == "Truth":
        return dict(spec, op="=", value=True)
    if k == "IsNull":
        return dict(spec, op="is not null" if node.negated else "is null")
    if k == "Between":
        return dict(spec, op="between", value=_plain(node.low), value2=_plain(node.high))
    if k == "In":
        values = [_plain(v) for v in node.values]
        return dict(spec, op="not in" if node.negated else "in", values=values)
    value = _plain(node.value)
    if spec.get("type") == "enum" and spec["kind"] in ("tag", "attribute"):
        return dict(spec, op=node.op, value=value, values=[value])
    return dict(spec, op=node.op, value=value)


def tree_groups(ws: Any, entity: Any, tree: Any) -> list[list[dict[str, Any]]]:
    """The groups of the form for a parsed rule: OR-ed groups of AND-ed condition specs."""
    parts = tree.parts if _kind(tree) == "Or" else (tree,)
    groups = []
    for part in parts:
        conditions = part.parts if _kind(part) == "And" else (part,)
        groups.append([node_spec(ws, entity, c) for c in conditions])
    return groups
