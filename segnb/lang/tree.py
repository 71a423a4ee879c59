"""The base of every rule node: spans, the registry of node kinds, and a walk over a tree.

Every concrete node class registers itself when it is defined
(``Node.__init_subclass__``), so the JSON decoder, the visitors' completeness
tests and the compiler all read one registry, :data:`NODE_KINDS`, and no list
of node kinds is kept by hand. Abstract groupings (``Operand``, ``Condition``…)
pass ``abstract=True`` and are not registered.

Examples
--------
>>> from segnb.lang import nodes
>>> NODE_KINDS["Tag"] is nodes.Tag
True
>>> nodes.Compare in node_kinds(nodes.Condition)
True
>>> s = Span(4, 9, op=(6, 7))
>>> s == (4, 9), s.part("op"), s.part("value")
(True, (6, 7), (4, 9))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = ["NODE_KINDS", "Node", "Span", "node_kinds", "part_span", "walk"]

_KINDS: dict[str, type[Node]] = {}
#: Every concrete node class by name (read-only); filled as the classes are defined.
NODE_KINDS: Mapping[str, type[Node]] = MappingProxyType(_KINDS)

#: the canonical printer, set by :mod:`segnb.lang.text` (which imports the nodes)
PRINTER: list = [repr]


class Span(tuple):
    """``(start, end)``: character offsets of a node in the rule text it was parsed from.

    It is a plain pair to everything that reads it as one; the parser also records
    where the node's parts are (``name``, ``op``, ``keyword``, ``value``, ``values``,
    ``at``, ``event``, ``field``, ``tag``), so that errors can point at a part
    without reading the text again.
    """

    def __new__(cls, start: int, end: int, **parts: Any) -> Span:
        self = super().__new__(cls, (start, end))
        self.parts = parts
        return self

    def __getnewargs__(self) -> tuple[int, int]:
        return (self[0], self[1])

    def __repr__(self) -> str:
        return repr(tuple(self))

    def part(self, name: str, index: int | None = None) -> tuple[int, int]:
        """The span of a recorded part (``index``: one of a list of parts); the whole when absent."""
        found = self.parts.get(name)
        if found is not None and index is not None:
            found = found[index] if index < len(found) else None
        return found if found is not None else (self[0], self[1])


def part_span(node: Node, name: str, index: int | None = None) -> tuple[int, int] | None:
    """The span of part ``name`` of ``node``: the node's span when not recorded, None without one."""
    span = node.span
    if span is None:
        return None
    if isinstance(span, Span):
        return span.part(name, index)
    return (span[0], span[1])


def _span_field():
    return field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Node:
    """Base of every rule node.

    A subclass registers itself in :data:`NODE_KINDS` under its class name
    unless it is declared with ``abstract=True``. Class names are the node
    kinds of the JSON form, so two node classes cannot share one.
    """

    span: tuple[int, int] | None = _span_field()

    #: True for nodes that read the entity (a tag, a measure, another segment):
    #: they cannot appear in an event's ``where`` filter.
    entity_level: ClassVar[bool] = False

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        known = _KINDS.get(cls.__name__)
        if known is not None and known.__module__ != cls.__module__:
            raise TypeError(
                f"node kind {cls.__name__} is defined twice: in {known.__module__} and {cls.__module__}"
            )
        _KINDS[cls.__name__] = cls

    def __str__(self) -> str:
        return PRINTER[0](self)


def node_kinds(base: type[Node] = Node) -> tuple[type[Node], ...]:
    """The registered node classes that are subclasses of ``base``, in definition order."""
    return tuple(cls for cls in _KINDS.values() if issubclass(cls, base))


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it, parents first."""
    yield node
    for f in fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, Node):
                yield from walk(item)
