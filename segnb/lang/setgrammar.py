"""The grammar of set expressions: segment names joined by ``&``, ``|`` and ``-``.

``&`` (intersection) binds tightest; ``|`` (union) and ``-`` (difference) are
equal and left-associative; parentheses group. :func:`looks_like_sets` tells a
set expression from a rule by its tokens alone, so one tokenisation serves
both grammars.

Examples
--------
>>> from segnb.lang.lex import tokenize
>>> looks_like_sets(tokenize("vip & (active | new)")), looks_like_sets(tokenize("is_member"))
(True, False)
"""

from __future__ import annotations

from segnb.lang import nodes as r
from segnb.lang.cursor import Cursor
from segnb.lang.lex import Token, TokenKind
from segnb.lang.text import RESERVED

__all__ = ["SetParser", "looks_like_sets"]

K = TokenKind
_SET_OPS = (K.AMP, K.PIPE, K.MINUS)
_HINT = "combine segments with & (both), | (either) or - (but not)"


def looks_like_sets(toks: list[Token]) -> bool:
    """True when the tokens are only segment names, ``& | -`` and parentheses (an operator and a name at least)."""
    ops = names = 0
    for tok in toks[:-1]:
        if tok.kind in _SET_OPS:
            ops += 1
        elif tok.kind is K.QNAME or (tok.kind is K.IDENT and tok.value.lower() not in RESERVED):
            names += 1
        elif tok.kind not in (K.LPAREN, K.RPAREN):
            return False
    return ops > 0 and names > 0


class SetParser(Cursor):
    """``expr := union; union := inter (("|" | "-") inter)*; inter := atom ("&" atom)*``."""

    NOT_OPERATORS = {"&&": "&", "||": "|"}

    def expr(self) -> r.Node:
        node = self.union()
        tok = self.peek()
        if tok.kind is K.RPAREN:
            self.fail("unmatched ')': there is no ( before it", tok)
        if tok.kind is not K.EOF:
            if self.word() in ("and", "or"):
                self.fail(
                    f"'{tok.value}' does not combine segments",
                    tok,
                    suggestion="&" if self.word() == "and" else "|",
                    hint=_HINT,
                )
            self.unexpected(tok, "'&', '|', '-' or the end", _HINT)
        return node

    def union(self) -> r.Node:
        return self.level((K.PIPE, K.MINUS), self.intersection)

    def intersection(self) -> r.Node:
        return self.level((K.AMP,), self.atom)

    def level(self, ops: tuple[TokenKind, ...], part) -> r.Node:
        left = part()
        while self.peek().kind in ops:
            op = self.take()
            if self.peek().kind is K.EOF:
                self.fail(f"missing segment after '{op.kind}'", op)
            right = part()
            start, end = self.span(left)[0], self.span(right)[1]
            left = self.build(r.SetOp, start, end, str(op.kind), left, right)
        return left

    def atom(self) -> r.Node:
        tok = self.peek()
        if tok.kind is K.LPAREN:
            return self.parenthesised(self.union)
        if self.is_name(tok):
            self.take()
            return self.build(r.SegmentRef, tok.start, tok.end, tok.value)
        if tok.kind is K.IDENT:
            self.fail(
                f"'{tok.value}' is a keyword, not a segment name", tok, suggestion=f"`{tok.value}`"
            )
        self.unexpected(tok, "a segment name", "names with spaces go in backticks: `vip users`")
