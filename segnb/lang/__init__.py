"""The rule language: nodes, JSON, lexer, parser, type checker, printer.

``tree`` (the node base, :data:`~segnb.lang.tree.NODE_KINDS`, spans), ``dates``
and ``nodes`` (the node kinds), ``serial`` (JSON), ``lex`` (tokens),
``cursor``, ``grammar`` and ``setgrammar`` (the parsers), ``parse`` (the entry
points: :func:`~segnb.lang.parse.parse`), ``check`` (names and types against a
catalog), ``hints`` (what would be right), ``text`` (the printer) and
``visitor`` (:class:`~segnb.lang.visitor.NodeVisitor`, the base of every walk).

Importing the package sets the canonical printer of the nodes (``str(node)``).
"""

from segnb.lang import text as _text  # noqa: F401  (registers the printer)
