"""Rule text -> rule tree: a hand-written lexer and recursive-descent parser.

Grammar (keywords case-insensitive, names case-sensitive, ``#`` comments)::

    rule      := or_expr
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | "(" or_expr ")" | "did" "(" events "," window ")"
               | "in_segment" "(" name ")" | operand [test]
    test      := cmp value | ["not"] "in" "(" value ("," value)* ")"
               | ["not"] "between" value "and" value | "is" ["not"] "null"
    operand   := name ["@" date] | "change" "(" name "," date "," date ")"
               | "count" "(" events "," window ")" | "sum" "(" event "." name ["where" filter] "," window ")"
               | "score" "(" name ")"
    events    := event ["where" or_expr]          # bare names in the filter are event fields
    window    := date ".." date
    date      := YYYY-MM-DD | "T" [("+"|"-") days]
    value     := string | number | "true" | "false" | date

Set bodies (:func:`parse_sets`) are segment names joined by ``&`` (binds
tightest), ``|`` and ``-`` (equal, left-associative), with parentheses.

The parser resolves bare names (tag, else attribute), then
:func:`segnb.lang.check.check` validates names and types; every error points
at the line and column of the offending text.

Examples
--------
>>> rule = parse_rule('city = "Shenzhen" and count(purchase, T-6..T) >= 2', catalog)  # doctest: +SKIP
>>> print(rule)                                                                     # doctest: +SKIP
city = "Shenzhen" and count(purchase, T-6..T) >= 2
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from segnb.catalog.model import Catalog, Entity, closest
from segnb.errors import RuleError, RuleSyntaxError, RuleTypeError, UnknownNameError
from segnb.lang import nodes as r
from segnb.lang.check import check, resolve_entity, value_kind
from segnb.lang.lex import DATE_HINT, Token, tokenize
from segnb.lang.lex import fail as _fail
from segnb.lang.text import FUNCTIONS, RESERVED, quote_name, quote_string, value_text

__all__ = ["Token", "is_set_expression", "parse", "parse_rule", "parse_sets", "tokenize"]

MAX_DEPTH = 100
COMPARE_TOKENS = ("=", "!=", "<>", "<", "<=", ">", ">=")
_NOT_OPERATORS = {"==": "=", "&&": "and", "&": "and", "||": "or", "|": "or", "!": "not"}
_VALUE_HINT = 'a value is a "string", a number, true, false or a date (2024-08-06, T, T-6)'
_A = {"string": "a string", "number": "a number", "boolean": "a boolean", "date": "a date"}
_TOKEN_WORDS = {"ident": "the name", "qname": "the name", "string": "the string"}
_TOKEN_WORDS.update(number="the number", date="the date")
_WINDOW_HINT = "a window A..B covers whole days from A through B, e.g. T-6..T is the last 7 days"

# -- lexer --------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, entity: Entity | None = None) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.entity = entity
        self.event: str | None = None  # inside a where filter: the event it filters
        self.extent: dict[int, tuple[int, int]] = {}  # parenthesised nodes: span with parens

    # -- tokens ---------------------------------------------------------------

    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def prev(self) -> Token | None:
        return self.toks[self.i - 1] if self.i else None

    def word(self, k: int = 0) -> str | None:
        tok = self.peek(k)
        return tok.value.lower() if tok.kind == "ident" else None

    def is_name(self, tok: Token) -> bool:
        return tok.kind == "qname" or (tok.kind == "ident" and tok.value.lower() not in RESERVED)

    def src(self, tok: Token) -> str:
        return self.text[tok.start : tok.end]

    def describe(self, tok: Token) -> str:
        if tok.kind == "eof":
            return "the end of the rule"
        if tok.kind == "ident" and tok.value.lower() in RESERVED:
            return f"'{tok.value}'"
        what = _TOKEN_WORDS.get(tok.kind)
        return f"'{tok.kind}'" if what is None else f"{what} {self.src(tok)}"

    # -- errors and nodes -----------------------------------------------------

    def fail(self, message: str, tok: Token, end: Token | None = None, **kw: Any):
        stop = (end or tok).end
        raise _fail(self.text, message, tok.start, max(stop, tok.start), **kw)

    def unexpected(self, tok: Token, expected: str, hint: str | None = None):
        if tok.kind in _NOT_OPERATORS:
            good = _NOT_OPERATORS[tok.kind]
            if isinstance(self, _SetParser):
                good = {"&&": "&", "||": "|"}.get(tok.kind, tok.kind)
            if good != tok.kind:
                self.fail(f"'{tok.kind}' is not an operator here", tok, suggestion=good, hint=hint)
        if tok.kind == "eof":
            self.fail(f"unexpected end of the rule: expected {expected}", tok, hint=hint)
        self.fail(f"expected {expected}, found {self.describe(tok)}", tok, hint=hint)

    def build(self, cls: type, start: int, end: int, *args: Any, **kw: Any) -> Any:
        try:
            return cls(*args, span=(start, end), **kw)
        except RuleError as exc:
            if type(exc) is RuleError:  # rules.py raises the base class: say which kind
                kind = RuleTypeError if cls is r.In else RuleSyntaxError
                exc = kind(exc.message, suggestion=exc.suggestion, hint=exc.hint)
            raise exc.located(self.text, start, end) from None

    def span(self, node: r.Node) -> tuple[int, int]:
        return self.extent.get(id(node), node.span)

    def deeper(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"the rule is nested more than {MAX_DEPTH} levels deep", tok)

    def close(self, lparen: Token, hint: str | None = None) -> Token:
        tok = self.peek()
        if tok.kind == ")":
            return self.take()
        if tok.kind == "eof":
            self.fail(
                "unclosed parenthesis: this ( is never closed", lparen, hint="add a ) to close it"
            )
        return self.unexpected(tok, "')'", hint=hint or f"close the {self.src(lparen)} with )")

    # -- conditions -----------------------------------------------------------

    def rule(self) -> r.Node:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == ")":
            self.fail(
                "unmatched ')': there is no ( before it",
                tok,
                hint="remove it, or add the ( it closes",
            )
        if tok.kind in COMPARE_TOKENS and self.prev() and self.prev().kind == ")":
            self.fail(
                "a condition cannot be compared",
                tok,
                hint="did(), in_segment() and conditions in parentheses are true or false already",
            )
        if tok.kind != "eof":
            self.unexpected(
                tok, "'and', 'or' or the end of the rule", "join conditions with and / or"
            )
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
        if tok.kind == "(":
            self.take()
            self.deeper(tok)
            inner = self.or_expr()
            rparen = self.close(tok, "join conditions with and / or")
            self.depth -= 1
            self.extent[id(inner)] = (tok.start, rparen.end)
            return inner
        if tok.kind == "ident" and self.peek(1).kind == "(":
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
            value, end = self.value(tok)
            op = "!=" if tok.kind == "<>" else tok.kind
            return self.build(r.Compare, start, end, left, op, value)
        if tok.kind == "==":
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
        negated = tok.kind == "ident" and tok.value.lower() == "not"
        if word == "in":
            values, end = self.values(self.take())
            return self.build(r.In, start, end, left, values, negated)
        if word == "between":
            kw = self.take()
            low, _ = self.value(kw)
            if self.word() != "and":
                self.unexpected(
                    self.peek(),
                    "'and' in between … and …",
                    f"e.g. {self.text[left.span[0] : left.span[1]]} between {value_text(low)} and …",
                )
            first = self.peek(1)
            high, end = self.value(self.take())
            if value_kind(low) != value_kind(high):
                self.mixed("between needs two values of one type", low, high, first.start, end)
            node = self.build(r.Between, start, end, left, low, high)
            return self.build(r.Not, start, end, node) if negated else node
        if word == "is":
            self.take()
            is_not = self.word() == "not"
            if is_not:
                self.take()
            if self.word() != "null":
                self.unexpected(self.peek(), "'null' after 'is'", "write is null or is not null")
            return self.build(r.IsNull, start, self.take().end, left, is_not)
        if tok.kind in ("string", "number", "date"):
            self.fail(
                f"missing operator before {self.describe(tok)}",
                tok,
                suggestion=f"{self.text[start : left.span[1]]} = {self.src(tok)}",
            )
        return self.build(r.Truth, start, left.span[1], left)

    def values(self, kw: Token) -> tuple[tuple[Any, ...], int]:
        lparen = self.peek()
        if lparen.kind != "(":
            self.fail(
                f"'{self.src(kw)}' needs a list of values in parentheses",
                lparen,
                hint='e.g. city in ("Shenzhen", "Guangzhou")',
            )
        self.take()
        if self.peek().kind == ")":
            self.fail(
                f"'{self.src(kw)}' needs at least one value", lparen, self.peek(), hint=_VALUE_HINT
            )
        values, sep = [], kw
        while True:
            first = self.peek()
            value, end = self.value(sep)
            if values and value_kind(value) != value_kind(values[0]):
                what = f"the values of '{self.src(kw)}' differ in type"
                self.mixed(what, values[0], value, first.start, end)
            values.append(value)
            tok = self.peek()
            if tok.kind == "," and self.peek(1).kind != ")":
                sep = self.take()
                continue
            if tok.kind == ",":
                self.take()
            break
        return tuple(values), self.close(lparen, "separate values with commas").end

    def mixed(self, what: str, first: Any, value: Any, start: int, end: int):
        kinds = f"{value_text(first)} is {_A[value_kind(first)]}, {value_text(value)} is {_A[value_kind(value)]}"
        raise RuleTypeError(
            f"{what}: {kinds}",
            text=self.text,
            start=start,
            end=end,
            hint=_VALUE_HINT,
        )

    def value(self, after: Token) -> tuple[Any, int]:
        tok = self.peek()
        word = self.word()
        if tok.kind in ("string", "number"):
            return self.take().value, tok.end
        if tok.kind == "date" or word == "t":
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
        if tok.kind in ("eof", ")", ",") or word in ("and", "or"):
            self.fail(f"missing value after '{op}'", after, hint=_VALUE_HINT)
        if op == "=" and tok.kind in ("<", ">") and tok.start == after.end:
            self.fail(f"'={tok.kind}' is not an operator", after, tok, suggestion=f"{tok.kind}=")
        if tok.kind in ("ident", "qname"):
            self.fail(
                f"expected a value after '{op}', found the name {tok.value}",
                tok,
                suggestion=quote_string(tok.value),
                hint="strings are written in quotes",
            )
        self.unexpected(tok, f"a value after '{op}'", _VALUE_HINT)

    def date(self, what: str) -> r.DateLiteral | r.Today:
        tok = self.peek()
        if tok.kind == "date":
            self.take()
            return self.build(r.DateLiteral, tok.start, tok.end, tok.value)
        if self.word() != "t":
            self.unexpected(tok, what, DATE_HINT)
        self.take()
        offset, end = 0, tok
        nxt, after = self.peek(), self.peek(1)
        if nxt.kind == "number" and self.text[nxt.start] in "+-":
            offset, end = self.take().value, nxt
        elif (
            nxt.kind in ("+", "-") and after.kind == "number" and self.text[after.start] not in "+-"
        ):
            self.take()
            offset, end = self.take().value * (-1 if nxt.kind == "-" else 1), after
        if isinstance(offset, float):
            self.fail("a day offset must be a whole number of days", tok, end, hint=DATE_HINT)
        return self.build(r.Today, tok.start, end.end, offset)

    def window(self, fn: str) -> r.Window:
        start = self.date(f"a window in {fn}(), like T-6..T")
        if self.peek().kind != "..":
            self.unexpected(self.peek(), "'..' and the last day of the window", _WINDOW_HINT)
        self.take()
        end = self.date("the last day of the window")
        return self.build(r.Window, start.span[0], end.span[1], start, end)

    # -- operands -------------------------------------------------------------

    def operand(self) -> r.Node:
        tok = self.peek()
        if tok.kind == "ident" and self.peek(1).kind == "(":
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
            if fn == "score":
                return self.named_call(r.Score)
            if fn in ("did", "in_segment"):
                self.fail(
                    f"{fn}() is a condition, not a value", tok, hint="use it alone, or with not"
                )
            if fn not in RESERVED:
                guess = closest(fn, FUNCTIONS)
                self.fail(
                    f"unknown function {tok.value}()",
                    tok,
                    suggestion=guess,
                    hint=None if guess else f"the functions are {', '.join(FUNCTIONS)}",
                )
        if self.is_name(tok):
            return self.name()
        prev = self.prev()
        after = f" after '{self.src(prev)}'" if prev is not None else ""
        if tok.kind in ("eof", ",", ")") or self.word() in ("and", "or"):
            self.fail(f"missing condition{after}", prev or tok, hint='e.g. city = "Shenzhen"')
        if tok.kind in _NOT_OPERATORS:
            self.unexpected(tok, "a condition")
        if tok.kind == "string":
            self.fail(
                f"expected a tag, attribute or function, found {self.describe(tok)}",
                tok,
                suggestion=quote_name(tok.value) if tok.value else None,
                hint="names are written without quotes (in backticks when they hold spaces)",
            )
        if tok.kind == "ident":
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
        if self.peek().kind == "@":
            at_tok = self.take()
            if self.event is not None:
                self.fail(
                    "event fields have no dated snapshots: '@' cannot be used in a where filter",
                    at_tok,
                )
            at = self.date("a date after '@', like 2024-08-01 or T-1")
            end = at.span[1]
        if self.event is not None:
            return self.build(r.EventField, tok.start, end, name)
        ent = self.entity
        if at is None and not ent.has_tag(name) and name in ent.attributes:
            return self.build(r.Attribute, tok.start, end, name)
        return self.build(r.Tag, tok.start, end, name, at)  # check() reports unknown names

    def call_name(self, fn: Token, what: str, strings: bool = True) -> Token:
        tok = self.peek()
        if self.is_name(tok) or (strings and tok.kind == "string" and tok.value):
            return self.take()
        event = _example_event(self.entity)
        number = next(
            (t for t in self.entity.tag_names if self.entity.tag(t).type == "number"), "tag"
        )
        example = {"count": f"count({event}, T-6..T)", "sum": f"sum({event}.field, T-29..T)"}
        example.update(
            did=f"did({event}, T-6..T)", change=f"change({quote_name(number)}, T-7, T-1)"
        )
        key = fn.value.lower()
        hint = f"e.g. {example.get(key, key + '(name)')}"
        if tok.kind == "ident":
            self.fail(
                f"'{tok.value}' is a keyword: write it in backticks",
                tok,
                suggestion=f"`{tok.value}`",
            )
        self.unexpected(tok, f"{what} in {key}()", hint)

    def measure(self, fn: Token) -> tuple[Token, str, r.Node | None, r.Window, Token]:
        """The shared part of count/sum/did: event [where filter], window )"""
        lparen = self.take()
        key = fn.value.lower()
        event_tok = self.call_name(fn, "an event name")
        field = None
        if key == "sum":
            if self.peek().kind != ".":
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
        if tok.kind != ",":
            if tok.kind == "eof":
                self.close(lparen)
            ev = self.src(event_tok) + ("" if field is None else "." + self.src(field))
            hint = f"e.g. {key}({ev}, T-6..T)"
            if tok.kind == ")":
                self.fail(
                    f"{key}() needs a window after the event", tok, hint=f"{hint}; {_WINDOW_HINT}"
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
        return self.build(r.Count, fn.start, rparen.end, event.value, window, where)

    def sum(self) -> r.Sum:
        fn = self.take()
        event, field, where, window, rparen = self.measure(fn)
        return self.build(r.Sum, fn.start, rparen.end, event.value, field.value, window, where)

    def did(self) -> r.Did:
        fn = self.take()
        if self.event is not None:
            self.fail("did() cannot be used inside a where filter", fn)
        event, _, where, window, rparen = self.measure(fn)
        return self.build(r.Did, fn.start, rparen.end, event.value, window, where)

    def change(self) -> r.Change:
        fn = self.take()
        lparen = self.take()
        tag = self.call_name(fn, "a tag name", strings=False)
        dates = []
        for _ in range(2):
            tok = self.peek()
            if tok.kind != ",":
                hint = (
                    "change(tag, start, end) takes two dates, "
                    f"e.g. change({quote_name(tag.value)}, T-7, T-1)"
                )
                if tok.kind == "eof":
                    self.close(lparen)
                self.unexpected(tok, "',' and a date in change()", hint)
            self.take()
            dates.append(self.date("a date in change(), like 2024-08-01 or T-7"))
        rparen = self.close(lparen, "close change( with )")
        return self.build(r.Change, fn.start, rparen.end, tag.value, dates[0], dates[1])

    def named_call(self, cls: type) -> r.Node:
        fn = self.take()
        if self.event is not None:
            self.fail(f"{fn.value.lower()}() cannot be used inside a where filter", fn)
        lparen = self.take()
        what = "a segment name" if cls is r.InSegment else "a prediction segment name"
        tok = self.call_name(fn, what)
        rparen = self.close(lparen)
        return self.build(cls, fn.start, rparen.end, tok.value)


class _SetParser(_Parser):
    def expr(self) -> r.Node:
        node = self.union()
        tok = self.peek()
        if tok.kind == ")":
            self.fail("unmatched ')': there is no ( before it", tok)
        if tok.kind != "eof":
            hint = "combine segments with & (both), | (either) or - (but not)"
            if self.word() in ("and", "or"):
                self.fail(
                    f"'{tok.value}' does not combine segments",
                    tok,
                    suggestion="&" if self.word() == "and" else "|",
                    hint=hint,
                )
            self.unexpected(tok, "'&', '|', '-' or the end", hint)
        return node

    def union(self) -> r.Node:
        return self.level(("|", "-"), self.intersection)

    def intersection(self) -> r.Node:
        return self.level(("&",), self.atom)

    def level(self, ops: tuple[str, ...], part) -> r.Node:
        left = part()
        while self.peek().kind in ops:
            op = self.take()
            if self.peek().kind == "eof":
                self.fail(f"missing segment after '{op.kind}'", op)
            right = part()
            left = self.build(
                r.SetOp, self.span(left)[0], self.span(right)[1], op.kind, left, right
            )
        return left

    def atom(self) -> r.Node:
        tok = self.peek()
        if tok.kind == "(":
            self.take()
            self.deeper(tok)
            inner = self.union()
            rparen = self.close(tok)
            self.depth -= 1
            self.extent[id(inner)] = (tok.start, rparen.end)
            return inner
        if self.is_name(tok):
            self.take()
            return self.build(r.SegmentRef, tok.start, tok.end, tok.value)
        if tok.kind == "ident":
            self.fail(
                f"'{tok.value}' is a keyword, not a segment name", tok, suggestion=f"`{tok.value}`"
            )
        self.unexpected(tok, "a segment name", "names with spaces go in backticks: `vip users`")


# -- public API ---------------------------------------------------------------


def _start(parser: _Parser, what: str) -> None:
    if parser.peek().kind == "eof":
        raise RuleSyntaxError(f"empty {what}", hint='write a condition, e.g. city = "Shenzhen"')


def _example_event(entity: Entity) -> str:
    """An event name of ``entity`` known without a query, for examples in hints."""
    for source in entity.events:
        if source.event or source.declared:
            return quote_name(source.event or source.declared[0])
    return "event"


def parse_rule(
    text: str,
    catalog: Catalog,
    entity: Entity | str | None = None,
    *,
    segments: Collection[str] | None = None,
    scores: Collection[str] | None = None,
) -> r.Node:
    """Parse a rule (one boolean condition) and check it against the catalog.

    Parameters
    ----------
    text
        The rule, e.g. ``count(purchase, T-6..T) >= 2 and not is_black_list``.
    catalog, entity
        The catalog and the target object (name or :class:`Entity`; the first when None).
    segments, scores
        Known segment / prediction-segment names for ``in_segment()`` and
        ``score()``; None leaves them unchecked.

    Raises
    ------
    RuleSyntaxError, UnknownNameError, RuleTypeError
        With the line, column and a caret under the offending text.

    Examples
    --------
    >>> parse_rule("trade_cnt_7d between 5 and 20", catalog)  # doctest: +SKIP
    Between(left=Tag(name='trade_cnt_7d', at=None), low=5, high=20)
    """
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a rule is text, not {type(text).__name__}")
    ent = resolve_entity(catalog, entity)
    parser = _Parser(text, ent)
    _start(parser, "rule")
    tree = parser.rule()
    check(tree, catalog, ent, text=text, segments=segments, scores=scores)
    return tree


def parse_sets(text: str, segments: Collection[str] | None = None) -> r.Node:
    """Parse a set body: segment names with ``&`` (intersection), ``|`` (union), ``-`` (difference).

    ``&`` binds tighter than ``|`` and ``-``, which are left-associative.

    Examples
    --------
    >>> print(parse_sets("vip & active - churned"))
    vip & active - churned
    >>> parse_sets("a | b & c").right
    SetOp(op='&', left=SegmentRef(name='b'), right=SegmentRef(name='c'))
    """
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a set expression is text, not {type(text).__name__}")
    parser = _SetParser(text)
    _start(parser, "set expression")
    tree = parser.expr()
    check(tree, None, text=text, segments=segments)
    return tree


def is_set_expression(text: str) -> bool:
    """True when ``text`` is only segment names, ``& | -`` and parentheses (at least one operator).

    >>> is_set_expression("vip & (active | new) - churned"), is_set_expression("is_member")
    (True, False)
    """
    try:
        toks = tokenize(text)
    except RuleError:
        return False
    ops = names = 0
    for tok in toks[:-1]:
        if tok.kind in ("&", "|", "-"):
            ops += 1
        elif tok.kind == "qname" or (tok.kind == "ident" and tok.value.lower() not in RESERVED):
            names += 1
        elif tok.kind not in ("(", ")"):
            return False
    return ops > 0 and names > 0


def parse(
    text: str,
    catalog: Catalog,
    entity: Entity | str | None = None,
    *,
    segments: Collection[str] | None = None,
    scores: Collection[str] | None = None,
) -> r.Node:
    """A set expression (:func:`parse_sets`) or a rule (:func:`parse_rule`), whichever ``text`` is."""
    if not is_set_expression(text):
        return parse_rule(text, catalog, entity, segments=segments, scores=scores)
    tree = parse_sets(text, segments)
    ent = resolve_entity(catalog, entity)
    for node in r.walk(tree):
        if not isinstance(node, r.SegmentRef) or (segments is not None and node.name in segments):
            continue
        if ent.has_tag(node.name) or node.name in ent.attributes:
            kind = "tag" if ent.has_tag(node.name) else "attribute"
            raise UnknownNameError(
                f"{node.name!r} is a {kind} of {ent.name}, not a segment",
                text=text,
                start=node.span[0],
                end=node.span[1],
                hint="& | - combine segments; conditions join with and / or",
            )
    return tree
