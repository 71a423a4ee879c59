"""The rule language: nodes, lexer, parser, type checker, printer.

Importing the package sets the canonical printer of the nodes (``str(node)``).
"""

from segnb.lang import text as _text  # noqa: F401  (registers the printer)
