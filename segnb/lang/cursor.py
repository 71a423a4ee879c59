"""A cursor over the tokens of a rule: look-ahead, node building, and errors that point at tokens.

Both grammars (:mod:`segnb.lang.grammar` for rules, :mod:`segnb.lang.setgrammar`
for set expressions) are recursive-descent parsers built on it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from segnb.errors import RuleError, RuleSyntaxError, RuleTypeError
from segnb.lang import nodes as r
from segnb.lang.lex import Token, TokenKind
from segnb.lang.lex import fail as _fail
from segnb.lang.text import RESERVED
from segnb.lang.tree import Span

__all__ = ["MAX_DEPTH", "Cursor"]

K = TokenKind
MAX_DEPTH = 100
_TOKEN_WORDS = {
    K.IDENT: "the name",
    K.QNAME: "the name",
    K.STRING: "the string",
    K.NUMBER: "the number",
    K.DATE: "the date",
}


class Cursor:
    """The tokens of ``text`` and a position in them."""

    #: operators of other languages, and what to write instead
    NOT_OPERATORS: ClassVar[dict[str, str]] = {}

    def __init__(self, text: str, toks: list[Token]) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.depth = 0
        self.extent: dict[int, tuple[int, int]] = {}  # parenthesised nodes: span with parens

    # -- tokens ---------------------------------------------------------------

    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind is not K.EOF:
            self.i += 1
        return tok

    def prev(self) -> Token | None:
        return self.toks[self.i - 1] if self.i else None

    def word(self, k: int = 0) -> str | None:
        """The lower-cased text of the token ``k`` ahead when it is a bare word, else None."""
        tok = self.peek(k)
        return tok.value.lower() if tok.kind is K.IDENT else None

    def is_name(self, tok: Token) -> bool:
        return tok.kind is K.QNAME or (tok.kind is K.IDENT and tok.value.lower() not in RESERVED)

    def src(self, tok: Token) -> str:
        return self.text[tok.start : tok.end]

    def describe(self, tok: Token) -> str:
        if tok.kind is K.EOF:
            return "the end of the rule"
        if tok.kind is K.IDENT and tok.value.lower() in RESERVED:
            return f"'{tok.value}'"
        what = _TOKEN_WORDS.get(tok.kind)
        return f"'{tok.kind}'" if what is None else f"{what} {self.src(tok)}"

    # -- errors and nodes -----------------------------------------------------

    def fail(self, message: str, tok: Token, end: Token | None = None, **kw: Any):
        stop = (end or tok).end
        raise _fail(self.text, message, tok.start, max(stop, tok.start), **kw)

    def unexpected(self, tok: Token, expected: str, hint: str | None = None):
        good = self.NOT_OPERATORS.get(tok.kind)
        if good is not None:
            self.fail(f"'{tok.kind}' is not an operator here", tok, suggestion=good, hint=hint)
        if tok.kind is K.EOF:
            self.fail(f"unexpected end of the rule: expected {expected}", tok, hint=hint)
        self.fail(f"expected {expected}, found {self.describe(tok)}", tok, hint=hint)

    def build(self, cls: type, start: int, end: int, *args: Any, parts: dict | None = None) -> Any:
        """A node of ``cls`` spanning ``text[start:end]``, with the spans of its ``parts``.

        A node that cannot be built is an error located at that span.
        """
        try:
            return cls(*args, span=Span(start, end, **(parts or {})))
        except RuleError as exc:
            if type(exc) is RuleError:  # the nodes raise the base class: say which kind
                kind = RuleTypeError if cls is r.In else RuleSyntaxError
                exc = kind(exc.message, suggestion=exc.suggestion, hint=exc.hint)
            raise exc.located(self.text, start, end) from None

    def span(self, node: r.Node) -> tuple[int, int]:
        """The span of ``node`` including the parentheses around it."""
        return self.extent.get(id(node), node.span)

    def deeper(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"the rule is nested more than {MAX_DEPTH} levels deep", tok)

    def close(self, lparen: Token, hint: str | None = None) -> Token:
        tok = self.peek()
        if tok.kind is K.RPAREN:
            return self.take()
        if tok.kind is K.EOF:
            self.fail(
                "unclosed parenthesis: this ( is never closed", lparen, hint="add a ) to close it"
            )
        return self.unexpected(tok, "')'", hint=hint or f"close the {self.src(lparen)} with )")

    def parenthesised(self, inner, hint: str | None = None) -> r.Node:
        """``( inner )``: the node ``inner()`` parses, remembered with its parentheses."""
        lparen = self.take()
        self.deeper(lparen)
        node = inner()
        rparen = self.close(lparen, hint)
        self.depth -= 1
        self.extent[id(node)] = (lparen.start, rparen.end)
        return node
