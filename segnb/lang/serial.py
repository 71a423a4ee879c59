"""The JSON form of a rule tree: ``{"version": 1, "rule": {"node": "Compare", …}}``.

Each node is an object naming its kind (the class name, looked up in
:data:`~segnb.lang.tree.NODE_KINDS`) with one key per field; tuples are lists
and dates ``{"date": "2024-08-06"}``. Spans are not part of it. Decoding
rebuilds the nodes, so a tree read back is validated exactly like one built in
Python.

Examples
--------
>>> from segnb.lang.nodes import Compare, Count, Tag, Today, Window, And
>>> rule = And((Compare(Tag("city"), "=", "Shenzhen"),
...             Compare(Count("purchase", Window(Today(-6), Today())), ">=", 2)))
>>> from_json(to_json(rule)) == rule
True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from segnb.errors import RuleError
from segnb.lang.tree import NODE_KINDS, Node

__all__ = ["JSON_VERSION", "from_json", "to_json"]

JSON_VERSION = 1


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
        cls = NODE_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise RuleError(
                f"unknown node {kind!r} in rule JSON",
                hint=f"known nodes: {', '.join(sorted(NODE_KINDS))}",
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
    >>> from segnb.lang.nodes import InSegment
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
