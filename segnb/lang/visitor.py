"""One way to walk a rule tree: ``visit_<NodeClass>`` methods, and a loud failure for the rest.

The compiler, the checker, the printer, the join analysis and the feature
builder are visitors; a node kind that one of them does not handle is an
error that names both, never a silent default. Every node kind registers
itself (:func:`segnb.lang.nodes.node_kinds`), so a visitor's test can assert
that it handles them all: ``MyVisitor.missing(node_kinds()) == []``.

Examples
--------
>>> class Names(NodeVisitor):
...     def visit_Tag(self, node):
...         return node.name
>>> Names().visit(Tag("city"))
'city'
>>> Names.missing([Tag, Window])
['Window']
"""

from __future__ import annotations

from typing import Any

from segnb.errors import NotAvailableError
from segnb.lang.nodes import Node, Tag, Window  # noqa: F401  (Tag, Window: the doctest)

__all__ = ["NodeVisitor"]


class NodeVisitor:
    """Dispatch ``visit(node)`` to ``visit_<type(node).__name__>``."""

    def visit(self, node: Node, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            return self.unhandled(node)
        return method(node, *args, **kwargs)

    def unhandled(self, node: Node) -> Any:
        """Called for a node kind without a ``visit_`` method: an error naming both."""
        raise NotAvailableError(
            f"{type(self).__name__} has no translation for {type(node).__name__} nodes"
        )

    @classmethod
    def missing(cls, kinds) -> list[str]:
        """Names of the node classes in ``kinds`` this visitor has no ``visit_`` method for."""
        return sorted(k.__name__ for k in kinds if not hasattr(cls, f"visit_{k.__name__}"))
