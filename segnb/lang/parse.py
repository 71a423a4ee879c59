"""Rule text -> rule tree, or set expression -> set tree: the entry points of the language.

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

:func:`parse` takes either, tokenising the text once: the tokens tell a set
expression from a rule, then one grammar parses them (rules:
:mod:`segnb.lang.grammar`, sets: :mod:`segnb.lang.setgrammar`). The parser
resolves bare names (tag, else attribute), then :func:`segnb.lang.check.check`
validates names and types; every error points at the line and column of the
offending text.

Examples
--------
>>> rule = parse('city = "Shenzhen" and count(purchase, T-6..T) >= 2', catalog)  # doctest: +SKIP
>>> print(rule)                                                                # doctest: +SKIP
city = "Shenzhen" and count(purchase, T-6..T) >= 2
>>> parse("vip & active - churned", catalog)                                   # doctest: +SKIP
SetOp(op='-', left=SetOp(op='&', ...), right=SegmentRef(name='churned'))
"""

from __future__ import annotations

from collections.abc import Collection

from segnb.catalog.model import Catalog, Entity
from segnb.errors import RuleError, RuleSyntaxError, UnknownNameError
from segnb.lang import nodes as r
from segnb.lang.check import check, resolve_entity
from segnb.lang.cursor import Cursor
from segnb.lang.grammar import RuleParser
from segnb.lang.lex import Token, TokenKind, tokenize
from segnb.lang.setgrammar import SetParser, looks_like_sets

__all__ = ["Token", "is_set_expression", "parse", "parse_rule", "parse_sets", "tokenize"]


def _text(text: object, what: str) -> None:
    if not isinstance(text, str):
        raise RuleSyntaxError(f"{what} is text, not {type(text).__name__}")


def _start(parser: Cursor, what: str) -> None:
    if parser.peek().kind is TokenKind.EOF:
        raise RuleSyntaxError(f"empty {what}", hint='write a condition, e.g. city = "Shenzhen"')


def _rule(
    text: str,
    toks: list[Token],
    catalog: Catalog,
    ent: Entity,
    segments: Collection[str] | None,
    scores: Collection[str] | None,
) -> r.Node:
    parser = RuleParser(text, toks, ent)
    _start(parser, "rule")
    tree = parser.rule()
    check(tree, catalog, ent, text=text, segments=segments, scores=scores)
    return tree


def _sets(text: str, toks: list[Token], segments: Collection[str] | None) -> r.Node:
    parser = SetParser(text, toks)
    _start(parser, "set expression")
    tree = parser.expr()
    check(tree, None, text=text, segments=segments)
    return tree


def parse(
    text: str,
    catalog: Catalog,
    entity: Entity | str | None = None,
    *,
    segments: Collection[str] | None = None,
    scores: Collection[str] | None = None,
) -> r.Node:
    """A checked rule tree, or a set tree (``SetOp``/``SegmentRef``): whichever ``text`` is.

    The text is tokenised once. It is a set expression when it holds only
    segment names, ``& | -`` and parentheses, with at least one operator;
    otherwise it is a rule.

    Parameters
    ----------
    text
        A rule (``count(purchase, T-6..T) >= 2 and not is_black_list``) or a
        set expression (``vip & active - churned``).
    catalog, entity
        The catalog and the target object (name or :class:`Entity`; the first when None).
    segments, scores
        Known segment / prediction-segment names for ``in_segment()``,
        ``score()`` and the names of a set expression; None leaves them unchecked.

    Raises
    ------
    RuleSyntaxError, UnknownNameError, RuleTypeError
        With the line, column and a caret under the offending text. A set
        expression that names a tag or attribute of ``entity`` (not a known
        segment) is an :class:`UnknownNameError`.

    Examples
    --------
    >>> parse("vip & active", catalog)  # doctest: +SKIP
    SetOp(op='&', left=SegmentRef(name='vip'), right=SegmentRef(name='active'))
    >>> parse("is_black_list", catalog)  # doctest: +SKIP
    Truth(left=Tag(name='is_black_list', at=None))
    """
    _text(text, "a rule")
    try:
        toks, lex_error = tokenize(text), None
    except RuleError as exc:
        toks, lex_error = None, exc
    if toks is None or not looks_like_sets(toks):
        ent = resolve_entity(catalog, entity)
        if lex_error is not None:
            raise lex_error
        return _rule(text, toks, catalog, ent, segments, scores)
    tree = _sets(text, toks, segments)
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


def parse_rule(
    text: str,
    catalog: Catalog,
    entity: Entity | str | None = None,
    *,
    segments: Collection[str] | None = None,
    scores: Collection[str] | None = None,
) -> r.Node:
    """Parse a rule (one boolean condition) and check it against the catalog.

    :func:`parse` takes a rule or a set expression; this only a rule.

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
    _text(text, "a rule")
    ent = resolve_entity(catalog, entity)
    return _rule(text, tokenize(text), catalog, ent, segments, scores)


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
    _text(text, "a set expression")
    return _sets(text, tokenize(text), segments)


def is_set_expression(text: str) -> bool:
    """True when ``text`` is only segment names, ``& | -`` and parentheses (at least one operator).

    >>> is_set_expression("vip & (active | new) - churned"), is_set_expression("is_member")
    (True, False)
    """
    if not isinstance(text, str):
        return False
    try:
        return looks_like_sets(tokenize(text))
    except RuleError:
        return False
