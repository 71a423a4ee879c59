"""The grammar of rules: a recursive-descent parser from tokens to a rule tree.

See :mod:`segnb.lang.parse` for the grammar and the entry points. Each node is
built with its :class:`~segnb.lang.tree.Span`, which also records where its
parts are (operator, values, names), so that the checker can point at them.
"""

from __future__ import annotations

from typing import Any

from segnb.catalog.model import Entity
from segnb.errors import RuleTypeError
from segnb.lang import hints
from segnb.lang import nodes as r
from segnb.lang.calls import BEHAVIOUR_CALLS, BehaviourGrammar
from segnb.lang.cursor import Cursor
from segnb.lang.lex import Token, TokenKind
from segnb.lang.text import FUNCTIONS, RESERVED, quote_name, quote_string, value_text

__all__ = ["COMPARE_TOKENS", "RuleParser"]

K = TokenKind
COMPARE_TOKENS = (K.EQ, K.NE, K.LTGT, K.LT, K.LE, K.GT, K.GE)
_A = {"string": "a string", "number": "a number", "boolean": "a boolean", "date": "a date"}
_LITERALS = (K.STRING, K.NUMBER, K.DATE)
_ANDOR = "join conditions with and / or"


def _at(tok: Token) -> tuple[int, int]:
    return (tok.start, tok.end)


class RuleParser(BehaviourGrammar, Cursor):
    """Conditions and operands; ``entity`` resolves bare names (a tag, else an attribute)."""

    NOT_OPERATORS = {"==": "=", "&&": "and", "&": "and", "||": "or", "|": "or", "!": "not"}

    def __init__(self, text: str, toks: list[Token], entity: Entity) -> None:
        super().__init__(text, toks)
        self.entity = entity
        self.event: str | None = None  # inside a where filter: the event it filters

    # -- conditions -----------------------------------------------------------

    def rule(self) -> r.Node:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind is K.RPAREN:
            self.fail(
                "unmatched ')': there is no ( before it",
                tok,
                hint="remove it, or add the ( it closes",
            )
        if tok.kind in COMPARE_TOKENS and self.prev() and self.prev().kind is K.RPAREN:
            self.fail(
                "a condition cannot be compared",
                tok,
                hint="did(), in_segment() and conditions in parentheses are true or false already",
            )
        if tok.kind is not K.EOF:
            self.unexpected(tok, "'and', 'or' or the end of the rule", _ANDOR)
        return node

    def chain(self, word: str, cls: type, part) -> r.Node:
        parts = [part()]
        while self.word() == word:
            self.take()
            parts.append(part())
        if len(parts) == 1:
            return parts[0]
        return self.build(cls, self.span(parts[0])[0], self.span(parts[-1])[1], tuple(parts))

    def or_expr(self) -> r.Node:
        return self.chain("or", r.Or, self.and_expr)

    def and_expr(self) -> r.Node:
        return self.chain("and", r.And, self.not_expr)

    def not_expr(self) -> r.Node:
        tok = self.peek()
        if self.word() == "not":
            self.take()
            self.deeper(tok)
            part = self.not_expr()
            self.depth -= 1
            return self.build(r.Not, tok.start, self.span(part)[1], part)
        if tok.kind is K.LPAREN:
            return self.parenthesised(self.or_expr, _ANDOR)
        if tok.kind is K.IDENT and self.peek(1).kind is K.LPAREN:
            fn = tok.value.lower()
            if fn == "did":
                return self.did()
            if fn == "in_segment":
                return self.named_call(r.InSegment)
        return self.predicate()

    def predicate(self) -> r.Node:
        left = self.operand()
        start = left.span[0]
        tok = self.peek()
        word = self.word()
        if tok.kind in COMPARE_TOKENS:
            self.take()
            first = self.peek()
            value, end = self.value(tok)
            op = "!=" if tok.kind is K.LTGT else str(tok.kind)
            parts = {"op": _at(tok), "value": (first.start, end)}
            return self.build(r.Compare, start, end, left, op, value, parts=parts)
        if tok.kind is K.EQEQ:
            self.fail(
                "'==' is not an operator", tok, suggestion="=", hint="compare with a single ="
            )
        if word == "not" and self.word(1) in ("in", "between"):
            self.take()
            word = self.word()
        elif word == "not":
            self.fail(
                "expected 'in' or 'between' after 'not'",
                self.peek(1),
                hint=f"to negate a condition put not before it: not {self.text[start : tok.start].strip()}",
            )
        negated = tok.kind is K.IDENT and tok.value.lower() == "not"
        if word == "in":
            kw = self.take()
            values, spans, end = self.values(kw)
            parts = {"keyword": (tok.start, kw.end), "values": spans}
            return self.build(r.In, start, end, left, values, negated, parts=parts)
        if word == "between":
            kw = self.take()
            first = self.peek()
            low, low_end = self.value(kw)
            if self.word() != "and":
                self.unexpected(
                    self.peek(),
                    "'and' in between … and …",
                    f"e.g. {self.text[left.span[0] : left.span[1]]} between {value_text(low)} and …",
                )
            second = self.peek(1)
            high, end = self.value(self.take())
            if r.value_kind(low) != r.value_kind(high):
                self.mixed("between needs two values of one type", low, high, second.start, end)
            spans = ((first.start, low_end), (second.start, end))
            parts = {"keyword": (tok.start, kw.end), "values": spans}
            node = self.build(r.Between, start, end, left, low, high, parts=parts)
            return self.build(r.Not, start, end, node) if negated else node
        if word == "is":
            self.take()
            is_not = self.word() == "not"
            if is_not:
                self.take()
            if self.word() != "null":
                self.unexpected(self.peek(), "'null' after 'is'", "write is null or is not null")
            return self.build(r.IsNull, start, self.take().end, left, is_not)
        if tok.kind in _LITERALS:
            self.fail(
                f"missing operator before {self.describe(tok)}",
                tok,
                suggestion=f"{self.text[start : left.span[1]]} = {self.src(tok)}",
            )
        return self.build(r.Truth, start, left.span[1], left)

    def values(self, kw: Token) -> tuple[tuple[Any, ...], tuple[tuple[int, int], ...], int]:
        """``( v1, v2, … )`` after ``in``: the values, the span of each, and the end."""
        lparen = self.peek()
        if lparen.kind is not K.LPAREN:
            self.fail(
                f"'{self.src(kw)}' needs a list of values in parentheses",
                lparen,
                hint='e.g. city in ("Shenzhen", "Guangzhou")',
            )
        self.take()
        if self.peek().kind is K.RPAREN:
            self.fail(
                f"'{self.src(kw)}' needs at least one value",
                lparen,
                self.peek(),
                hint=hints.VALUE_HINT,
            )
        values, spans, sep = [], [], kw
        while True:
            first = self.peek()
            value, end = self.value(sep)
            if values and r.value_kind(value) != r.value_kind(values[0]):
                what = f"the values of '{self.src(kw)}' differ in type"
                self.mixed(what, values[0], value, first.start, end)
            values.append(value)
            spans.append((first.start, end))
            tok = self.peek()
            if tok.kind is K.COMMA and self.peek(1).kind is not K.RPAREN:
                sep = self.take()
                continue
            if tok.kind is K.COMMA:
                self.take()
            break
        end = self.close(lparen, "separate values with commas").end
        return tuple(values), tuple(spans), end

    def mixed(self, what: str, first: Any, value: Any, start: int, end: int):
        kinds = (
            f"{value_text(first)} is {_A[r.value_kind(first)]}, "
            f"{value_text(value)} is {_A[r.value_kind(value)]}"
        )
        raise RuleTypeError(
            f"{what}: {kinds}", text=self.text, start=start, end=end, hint=hints.VALUE_HINT
        )

    def value(self, after: Token) -> tuple[Any, int]:
        """A value after the token ``after`` (an operator, a comma): the value and its end."""
        tok = self.peek()
        word = self.word()
        if tok.kind in (K.STRING, K.NUMBER):
            return self.take().value, tok.end
        if tok.kind is K.DATE or word == "t":
            ref = self.date("a value")
            return ref, ref.span[1]
        if word in ("true", "false"):
            self.take()
            return word == "true", tok.end
        op = self.src(after)
        if word == "null":
            self.fail(
                "null is not a value", tok, hint="test for no value with is null or is not null"
            )
        if tok.kind in (K.EOF, K.RPAREN, K.COMMA) or word in ("and", "or"):
            self.fail(f"missing value after '{op}'", after, hint=hints.VALUE_HINT)
        if op == "=" and tok.kind in (K.LT, K.GT) and tok.start == after.end:
            self.fail(f"'={tok.kind}' is not an operator", after, tok, suggestion=f"{tok.kind}=")
        if tok.kind in (K.IDENT, K.QNAME):
            self.fail(
                f"expected a value after '{op}', found the name {tok.value}",
                tok,
                suggestion=quote_string(tok.value),
                hint="strings are written in quotes",
            )
        self.unexpected(tok, f"a value after '{op}'", hints.VALUE_HINT)

    def date(self, what: str) -> r.DateLiteral | r.Today:
        tok = self.peek()
        if tok.kind is K.DATE:
            self.take()
            return self.build(r.DateLiteral, tok.start, tok.end, tok.value)
        if self.word() != "t":
            self.unexpected(tok, what, hints.DATE_HINT)
        self.take()
        offset, end = 0, tok
        nxt, after = self.peek(), self.peek(1)
        if nxt.kind is K.NUMBER and self.text[nxt.start] in "+-":
            offset, end = self.take().value, nxt
        elif (
            nxt.kind in (K.PLUS, K.MINUS)
            and after.kind is K.NUMBER
            and self.text[after.start] not in "+-"
        ):
            self.take()
            offset, end = self.take().value * (-1 if nxt.kind is K.MINUS else 1), after
        if isinstance(offset, float):
            self.fail("a day offset must be a whole number of days", tok, end, hint=hints.DATE_HINT)
        return self.build(r.Today, tok.start, end.end, offset)

    def window(self, fn: str) -> r.Window:
        start = self.date(f"a window in {fn}(), like T-6..T")
        if self.peek().kind is not K.DOTDOT:
            self.unexpected(self.peek(), "'..' and the last day of the window", hints.WINDOW_HINT)
        self.take()
        end = self.date("the last day of the window")
        return self.build(r.Window, start.span[0], end.span[1], start, end)

    # -- operands -------------------------------------------------------------

    def operand(self) -> r.Node:
        tok = self.peek()
        if tok.kind is K.IDENT and self.peek(1).kind is K.LPAREN:
            fn = tok.value.lower()
            calls = {"count": self.count, "sum": self.sum, "change": self.change}
            if self.event is not None and fn in FUNCTIONS:
                self.fail(
                    f"{fn}() cannot be used inside a where filter",
                    tok,
                    hint=f"the filter can only test fields of the {self.event} events, e.g. amount > 100",
                )
            if fn in calls:
                return calls[fn]()
            if fn in BEHAVIOUR_CALLS:
                return self.behaviour_call()
            if fn == "score":
                return self.named_call(r.Score)
            if fn in ("did", "in_segment"):
                self.fail(
                    f"{fn}() is a condition, not a value", tok, hint="use it alone, or with not"
                )
            if fn not in RESERVED:
                guess, hint = hints.unknown_function(fn)
                self.fail(f"unknown function {tok.value}()", tok, suggestion=guess, hint=hint)
        if self.is_name(tok):
            return self.name()
        prev = self.prev()
        after = f" after '{self.src(prev)}'" if prev is not None else ""
        if tok.kind in (K.EOF, K.COMMA, K.RPAREN) or self.word() in ("and", "or"):
            self.fail(f"missing condition{after}", prev or tok, hint='e.g. city = "Shenzhen"')
        if tok.kind in self.NOT_OPERATORS:
            self.unexpected(tok, "a condition")
        if tok.kind is K.STRING:
            self.fail(
                f"expected a tag, attribute or function, found {self.describe(tok)}",
                tok,
                suggestion=quote_name(tok.value) if tok.value else None,
                hint="names are written without quotes (in backticks when they hold spaces)",
            )
        if tok.kind is K.IDENT:
            self.fail(
                f"'{tok.value}' is a keyword, not a name",
                tok,
                suggestion=f"`{tok.value}`",
                hint="write a name that is a keyword in backticks",
            )
        self.unexpected(
            tok,
            "a condition",
            'a condition starts with a tag, attribute, count(…), …: city = "Shenzhen"',
        )

    def name(self) -> r.Node:
        tok = self.take()
        name, end, at = tok.value, tok.end, None
        parts: dict[str, Any] = {"name": _at(tok)}
        if self.peek().kind is K.AT:
            at_tok = self.take()
            if self.event is not None:
                self.fail(
                    "event fields have no dated snapshots: '@' cannot be used in a where filter",
                    at_tok,
                )
            at = self.date("a date after '@', like 2024-08-01 or T-1")
            end = at.span[1]
            parts["at"] = (at_tok.start, end)
        if self.event is not None:
            return self.build(r.EventField, tok.start, end, name, parts=parts)
        ent = self.entity
        if at is None and not ent.has_tag(name) and name in ent.attributes:
            return self.build(r.Attribute, tok.start, end, name, parts=parts)
        # check() reports unknown names
        return self.build(r.Tag, tok.start, end, name, at, parts=parts)

    def call_name(self, fn: Token, what: str, strings: bool = True) -> Token:
        tok = self.peek()
        if self.is_name(tok) or (strings and tok.kind is K.STRING and tok.value):
            return self.take()
        if tok.kind is K.IDENT:
            self.fail(
                f"'{tok.value}' is a keyword: write it in backticks",
                tok,
                suggestion=f"`{tok.value}`",
            )
        key = fn.value.lower()
        self.unexpected(tok, f"{what} in {key}()", hints.call_example(self.entity, key))

    def measure(self, fn: Token) -> tuple[Token, Token | None, r.Node | None, r.Window, Token]:
        """The shared part of count/sum/did: event [where filter], window )"""
        lparen = self.take()
        key = fn.value.lower()
        event_tok = self.call_name(fn, "an event name")
        field = None
        if key == "sum":
            if self.peek().kind is not K.DOT:
                self.unexpected(
                    self.peek(), "'.' and a number field", "e.g. sum(purchase.amount, T-29..T)"
                )
            self.take()
            field = self.call_name(fn, "a field name after '.'", strings=False)
        where = None
        if self.word() == "where":
            self.take()
            self.event = event_tok.value
            where = self.or_expr()
            self.event = None
        tok = self.peek()
        if tok.kind is not K.COMMA:
            if tok.kind is K.EOF:
                self.close(lparen)
            ev = self.src(event_tok) + ("" if field is None else "." + self.src(field))
            hint = f"e.g. {key}({ev}, T-6..T)"
            if tok.kind is K.RPAREN:
                self.fail(
                    f"{key}() needs a window after the event",
                    tok,
                    hint=f"{hint}; {hints.WINDOW_HINT}",
                )
            if where is None and self.is_name(tok):
                hint = f'a filter starts with where: {key}({ev} where industry = "…", T-6..T)'
            self.unexpected(tok, f"',' and a window in {key}()", hint)
        self.take()
        window = self.window(key)
        rparen = self.close(lparen, f"close {key}( with )")
        return event_tok, field, where, window, rparen

    def count(self) -> r.Count:
        fn = self.take()
        event, _, where, window, rparen = self.measure(fn)
        parts = {"event": _at(event)}
        return self.build(r.Count, fn.start, rparen.end, event.value, window, where, parts=parts)

    def sum(self) -> r.Sum:
        fn = self.take()
        event, field, where, window, rparen = self.measure(fn)
        parts = {"event": _at(event), "field": _at(field)}
        args = (event.value, field.value, window, where)
        return self.build(r.Sum, fn.start, rparen.end, *args, parts=parts)

    def change(self) -> r.Change:
        fn = self.take()
        lparen = self.take()
        tag = self.call_name(fn, "a tag name", strings=False)
        dates = []
        for _ in range(2):
            tok = self.peek()
            if tok.kind is not K.COMMA:
                hint = (
                    "change(tag, start, end) takes two dates, "
                    f"e.g. change({quote_name(tag.value)}, T-7, T-1)"
                )
                if tok.kind is K.EOF:
                    self.close(lparen)
                self.unexpected(tok, "',' and a date in change()", hint)
            self.take()
            dates.append(self.date("a date in change(), like 2024-08-01 or T-7"))
        rparen = self.close(lparen, "close change( with )")
        args = (tag.value, dates[0], dates[1])
        return self.build(r.Change, fn.start, rparen.end, *args, parts={"tag": _at(tag)})

    def named_call(self, cls: type) -> r.Node:
        fn = self.take()
        if self.event is not None:
            self.fail(f"{fn.value.lower()}() cannot be used inside a where filter", fn)
        lparen = self.take()
        what = "a segment name" if cls is r.InSegment else "a prediction segment name"
        tok = self.call_name(fn, what)
        rparen = self.close(lparen)
        return self.build(cls, fn.start, rparen.end, tok.value, parts={"name": _at(tok)})
