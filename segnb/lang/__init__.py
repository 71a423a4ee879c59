"""The rule language: nodes, lexer, parser, type checker, printer."""
