"""The errors a user sees in a notebook: what is wrong, where (line, column, caret), what is right."""

from __future__ import annotations

import ibis
import pytest

from segnb.catalog.model import Catalog
from segnb.errors import (
    RuleError,
    RuleSyntaxError,
    RuleTypeError,
    SegnbError,
    UnknownNameError,
)
from segnb.lang.check import check, operand_type
from segnb.lang.nodes import (
    Attribute,
    Compare,
    Count,
    EventField,
    In,
    InSegment,
    Score,
    Span,
    Sum,
    Tag,
    Today,
    Truth,
    Window,
    from_json,
    to_json,
)
from segnb.lang.parse import parse_rule

S, U, T = RuleSyntaxError, UnknownNameError, RuleTypeError

# (rule text, error class, message, line, column, the text under the caret, suggestion, hint part)
CASES = [
    # misspelt names
    ('cty = "Shenzhen"', U, "'cty' is not a tag or attribute of users", 1, 1, "cty", "city", None),
    (
        "count(purchse, T-6..T) >= 1",
        U,
        "unknown event 'purchse' for users",
        1,
        7,
        "purchse",
        "purchase",
        None,
    ),
    (
        "purchase >= 2",
        U,
        "'purchase' is an event, not a tag or attribute of users",
        1,
        1,
        "purchase",
        "count(purchase, T-6..T) >= 2",
        "window of days",
    ),
    (
        "view_product",
        U,
        "'view_product' is an event, not a tag or attribute of users",
        1,
        1,
        "view_product",
        "did(view_product, T-6..T)",
        None,
    ),
    (
        "count(purchase where industy = 'x', T-6..T) > 1",
        U,
        "purchase events have no field 'industy'",
        1,
        22,
        "industy",
        "industry",
        None,
    ),
    (
        "count(purchase where city = 'x', T-6..T) > 1",
        U,
        "purchase events have no field 'city'",
        1,
        22,
        "city",
        None,
        "city is a tag of users: test it outside the where filter",
    ),
    (
        "industry = 'Food'",
        U,
        "'industry' is a field of events, not a tag or attribute of users",
        1,
        1,
        "industry",
        None,
        'where industry = "Food"',
    ),
    (
        "change(trade_cnt, T-7, T-1) > 1",
        U,
        "'trade_cnt' is not a tag of users",
        1,
        8,
        "trade_cnt",
        "trade_cnt_7d",
        None,
    ),
    ("cont(purchase, T-6..T) > 1", S, "unknown function cont()", 1, 1, "cont", "count", None),
    # operators
    ('city == "Shenzhen"', S, "'==' is not an operator", 1, 6, "==", "=", None),
    (
        'city = "a" && is_member',
        S,
        "'&&' is not an operator here",
        1,
        12,
        "&&",
        "and",
        "and / or",
    ),
    ('city = "a" || is_member', S, "'||' is not an operator here", 1, 12, "||", "or", None),
    ("city = 'a' & is_member", S, "'&' is not an operator here", 1, 12, "&", "and", None),
    ("!is_black_list", S, "'!' is not an operator here", 1, 1, "!", "not", None),
    ("city => 'a'", S, "'=>' is not an operator", 1, 6, "=>", ">=", None),
    (
        "city not = 'a'",
        S,
        "expected 'in' or 'between' after 'not'",
        1,
        10,
        "=",
        None,
        "not city",
    ),
    ('city "a"', S, 'missing operator before the string "a"', 1, 6, '"a"', 'city = "a"', None),
    # structure
    (
        '(city = "a" and trade_cnt_7d > 1',
        S,
        "unclosed parenthesis: this ( is never closed",
        1,
        1,
        "(",
        None,
        "add a )",
    ),
    (
        "count(purchase, T-6..T >= 1",
        S,
        "expected ')', found '>='",
        1,
        24,
        ">=",
        None,
        "close count( with )",
    ),
    (
        "count(purchase, T-6..T",
        S,
        "unclosed parenthesis: this ( is never closed",
        1,
        6,
        "(",
        None,
        None,
    ),
    ("city = 'a')", S, "unmatched ')': there is no ( before it", 1, 11, ")", None, None),
    (
        'city = "Shenzhen',
        S,
        "unterminated string",
        1,
        8,
        '"Shenzhen',
        None,
        'close the string with "',
    ),
    ("city = 'a\\q'", S, "unknown escape \\q in a string", 1, 10, "\\q", None, "\\n"),
    (
        "`signup channel = 1",
        S,
        "unterminated name: the backtick is never closed",
        1,
        1,
        None,
        None,
        None,
    ),
    ("city = ", S, "missing value after '='", 1, 6, "=", None, "a number"),
    ("city in ('a', , 'b')", S, "missing value after ','", 1, 13, ",", None, None),
    (
        "trade_cnt_7d between 5",
        S,
        "unexpected end of the rule: expected 'and' in between … and …",
        1,
        23,
        None,
        None,
        None,
    ),
    (
        "city = Shenzhen",
        S,
        "expected a value after '=', found the name Shenzhen",
        1,
        8,
        "Shenzhen",
        '"Shenzhen"',
        "quotes",
    ),
    ("city = null", S, "null is not a value", 1, 8, "null", None, "is null"),
    ('city in "a"', S, "'in' needs a list of values in parentheses", 1, 9, '"a"', None, None),
    ("city = 'a' and", S, "missing condition after 'and'", 1, 12, "and", None, None),
    (
        'city = "a" "b"',
        S,
        "expected 'and', 'or' or the end of the rule, found the string \"b\"",
        1,
        12,
        '"b"',
        None,
        "join conditions with and / or",
    ),
    (
        "did(purchase, T-6..T) = true",
        S,
        "a condition cannot be compared",
        1,
        23,
        "=",
        None,
        None,
    ),
    (
        "count(purchase) >= 1",
        S,
        "count() needs a window after the event",
        1,
        15,
        ")",
        None,
        "count(purchase, T-6..T)",
    ),
    (
        "count(purchase where count(login, T-1..T) > 1, T-6..T) > 1",
        S,
        "count() cannot be used inside a where filter",
        1,
        22,
        "count",
        None,
        "fields of the purchase events",
    ),
    ("T = 1", S, "'T' is a keyword, not a name", 1, 1, "T", "`T`", "backticks"),
    (
        'city = "a" and 城市 = "深圳"',
        S,
        "unexpected character '城'",
        1,
        16,
        "城市",
        "`城市`",
        None,
    ),
    (
        "city = \u201ca\u201d",
        S,
        "unexpected character '\u201c'",
        1,
        8,
        "\u201c",
        None,
        "straight quotes",
    ),
    # dates and windows
    (
        "register_time > 2024-02-30",
        S,
        "bad date 2024-02-30: day is out of range for month",
        1,
        17,
        "2024-02-30",
        None,
        "YYYY-MM-DD",
    ),
    (
        "register_time > 2024-8-6",
        S,
        "bad date 2024-8-6: write dates as YYYY-MM-DD",
        1,
        17,
        "2024-8-6",
        None,
        None,
    ),
    (
        "count(purchase, T..T-5) >= 1",
        S,
        "empty window: it ends before it starts",
        1,
        17,
        "T..T-5",
        None,
        "T-5..T",
    ),
    (
        "count(purchase, T-1.5..T) >= 1",
        S,
        "a day offset must be a whole number of days",
        1,
        17,
        "T-1.5",
        None,
        None,
    ),
    (
        "trade_cnt_7d between 20 and 5",
        S,
        "empty range: between 20 and 5",
        1,
        1,
        "trade_cnt_7d between 20 and 5",
        None,
        "between 5 and 20",
    ),
    # types
    (
        'trade_cnt_7d > "5"',
        T,
        'trade_cnt_7d is a number but "5" is a string',
        1,
        16,
        '"5"',
        "trade_cnt_7d > 5",
        "without quotes",
    ),
    (
        "city = 3",
        T,
        "city is an enum of strings but 3 is a number",
        1,
        8,
        "3",
        'city = "3"',
        "quotes",
    ),
    (
        "trade_cnt_7d in (1, 2, 3)",
        T,
        "trade_cnt_7d is a number: use between or comparisons, not in",
        1,
        14,
        "in",
        None,
        "trade_cnt_7d between 1 and 3",
    ),
    (
        "trade_cnt_7d not in (1)",
        T,
        "trade_cnt_7d is a number: use between or comparisons, not not in",
        1,
        14,
        "not in",
        None,
        None,
    ),
    (
        "city in ('a', 'b', 3)",
        T,
        "the values of 'in' differ in type: \"a\" is a string, 3 is a number",
        1,
        20,
        "3",
        None,
        None,
    ),
    (
        'city < "m"',
        T,
        "city is an enum: compare it with = or != (or in), not <",
        1,
        6,
        "<",
        None,
        None,
    ),
    (
        "city between 'a' and 'b'",
        T,
        "city is an enum of strings: between needs a number or a datetime",
        1,
        6,
        "between",
        None,
        "in",
    ),
    (
        "is_black_list > false",
        T,
        "is_black_list is a boolean: use = true or = false, not >",
        1,
        15,
        ">",
        None,
        None,
    ),
    (
        "is_black_list = 'true'",
        T,
        'is_black_list is a boolean but "true" is a string',
        1,
        17,
        "'true'",
        "is_black_list = true",
        None,
    ),
    (
        'register_time >= "2024-08-06"',
        T,
        'register_time is a datetime but "2024-08-06" is a string',
        1,
        18,
        '"2024-08-06"',
        "register_time >= 2024-08-06",
        "without quotes",
    ),
    (
        "register_time in (T, T-1)",
        T,
        "register_time is a datetime: use between or comparisons, not in",
        1,
        15,
        "in",
        None,
        None,
    ),
    (
        "signup_date between 1 and 2",
        T,
        "signup_date is a datetime but 1 is a number",
        1,
        21,
        "1",
        None,
        "a date",
    ),
    (
        "trade_cnt_7d between 1 and T-1",
        T,
        "between needs two values of one type: 1 is a number, T-1 is a date",
        1,
        28,
        "T-1",
        None,
        None,
    ),
    (
        "channel@T-1 = 'ads'",
        T,
        "channel is an attribute of users, not a tag: it has no dated snapshots",
        1,
        8,
        "@T-1",
        None,
        "drop the @date",
    ),
    (
        "count(purchase, T-6..T)",
        T,
        "count(purchase, T-6..T) is a number, not a condition: compare it",
        1,
        1,
        "count(purchase, T-6..T)",
        "count(purchase, T-6..T) >= 1",
        None,
    ),
    (
        "city",
        T,
        "city is an enum of strings, not a condition: compare it",
        1,
        1,
        "city",
        None,
        'city = "…"',
    ),
    (
        "sum(purchase.industry, T-29..T) > 1",
        T,
        "sum() needs a number field, but purchase.industry is an enum of strings",
        1,
        14,
        "industry",
        None,
        "number fields of purchase: amount",
    ),
    (
        "change(city, T-7, T-1) > 0",
        T,
        "change() needs a number tag, but city is an enum of strings",
        1,
        8,
        "city",
        None,
        None,
    ),
    (
        "change(channel, T-7, T-1) > 0",
        T,
        "channel is an attribute of users, not a tag: it has no dated snapshots for change()",
        1,
        8,
        "channel",
        None,
        None,
    ),
    (
        "score(churn_risk) = 'high'",
        T,
        'score(churn_risk) is a number but "high" is a string',
        1,
        21,
        "'high'",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("text", "cls", "message", "line", "column", "under", "suggestion", "hint"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_error(schema_catalog, text, cls, message, line, column, under, suggestion, hint):
    with pytest.raises(cls) as info:
        parse_rule(text, schema_catalog)
    err = info.value
    if message is not None:
        assert err.message == message
    assert (err.line, err.column) == (line, column)
    if under is not None:
        assert text[err.start : err.end] == under
    assert err.suggestion == suggestion
    if hint is not None:
        assert hint in err.hint
    assert err.suggestion or err.hint, "every error says what would be right"
    # str() shows the location, the line, a caret under the span, and the advice
    shown = str(err)
    assert shown.startswith(f"line {line}, column {column}: {err.message}")
    assert "^" in shown
    if suggestion:
        assert f"did you mean {suggestion!r}?" in shown


def test_error_on_line_three_of_a_multiline_rule(schema_catalog):
    text = 'city = "Shenzhen"\n  and count(purchase, T-6..T) >= 2\n  and trade_cnt_7d in (1, 2)\n'
    with pytest.raises(RuleTypeError) as info:
        parse_rule(text, schema_catalog)
    err = info.value
    assert (err.line, err.column) == (3, 20)
    assert str(err).splitlines()[1:3] == [
        "    and trade_cnt_7d in (1, 2)",
        "                     ^^",
    ]


def test_syntax_error_on_line_three(schema_catalog):
    text = "# buyers\ncount(purchase, T-6..T) >= 2\nand city == 'Shenzhen'  # south\n"
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(text, schema_catalog)
    assert (info.value.line, info.value.column, info.value.suggestion) == (3, 10, "=")
    assert str(info.value).splitlines() == [
        "line 3, column 10: '==' is not an operator",
        "  and city == 'Shenzhen'  # south",
        "           ^^",
        "did you mean '='?",
        "compare with a single =",
    ]


def test_unknown_name_in_later_line(schema_catalog):
    text = "is_black_list = false and\n\n    trade_cnt_7d > 1 and\n    membr_level = 'gold'"
    with pytest.raises(UnknownNameError) as info:
        parse_rule(text, schema_catalog)
    assert (info.value.line, info.value.column, info.value.suggestion) == (4, 5, "member_level")


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "# only a comment\n  # and another"])
def test_empty_rule(schema_catalog, text):
    with pytest.raises(RuleSyntaxError, match="empty rule") as info:
        parse_rule(text, schema_catalog)
    assert info.value.hint


def test_errors_are_value_errors_too(schema_catalog):
    for text in ["cty = 1", "city == 1", "trade_cnt_7d in (1)"]:
        with pytest.raises(ValueError):
            parse_rule(text, schema_catalog)
    with pytest.raises(LookupError):
        parse_rule("cty = 1", schema_catalog)
    with pytest.raises(TypeError):
        parse_rule("trade_cnt_7d in (1)", schema_catalog)


def test_known_segments_and_scores(schema_catalog):
    with pytest.raises(UnknownNameError) as info:
        parse_rule("in_segment(vip_q5)", schema_catalog, segments=["vip_q4", "active"])
    assert info.value.message == "unknown segment 'vip_q5'"
    assert (info.value.column, info.value.suggestion) == (12, "vip_q4")
    with pytest.raises(UnknownNameError) as info:
        parse_rule("score(vip_q4) > 0.5", schema_catalog, segments=["vip_q4"], scores=["churn"])
    assert "use in_segment(vip_q4)" in info.value.hint
    with pytest.raises(UnknownNameError) as info:
        parse_rule("vip_q4", schema_catalog, segments=["vip_q4"])
    assert info.value.suggestion == "in_segment(vip_q4)"
    with pytest.raises(UnknownNameError) as info:
        parse_rule("churn > 0.5", schema_catalog, scores=["churn"])
    assert info.value.suggestion == "score(churn)"


@pytest.fixture(scope="module")
def attributes_only():
    """A catalog whose users have attributes but neither tags nor events."""
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE people(id BIGINT, channel VARCHAR, score_x DOUBLE)")
    return Catalog.load({"entities": {"people": {"table": "people", "id": "id"}}}, con)


def test_entity_without_tags_or_events(attributes_only):
    assert parse_rule("channel = 'ads'", attributes_only) == Compare(
        Attribute("channel"), "=", "ads"
    )
    with pytest.raises(RuleTypeError) as info:
        parse_rule("channel@T-1 = 'ads'", attributes_only)
    assert (
        info.value.message
        == "channel is an attribute of people, not a tag: it has no dated snapshots"
    )
    assert "people has no tag tables" in info.value.hint
    with pytest.raises(RuleTypeError) as info:
        parse_rule("change(score_x, T-7, T-1) > 0", attributes_only)
    assert "people has no tag tables" in info.value.hint
    with pytest.raises(UnknownNameError) as info:
        parse_rule("change(nope, T-7, T-1) > 0", attributes_only)
    assert info.value.message == "change() needs a tag, but people has no tag tables"
    with pytest.raises(UnknownNameError) as info:
        parse_rule("count(purchase, T-6..T) > 0", attributes_only)
    assert info.value.message == "people has no events, so there is no event 'purchase'"
    assert (info.value.column, info.value.hint) == (
        7,
        "declare an events table for it in the catalog",
    )


def test_numeric_enum_takes_numbers(schema_con):
    spec = {"entities": {"users": {"table": "users", "id": "user_id", "types": {"age": "enum"}}}}
    catalog = Catalog.load(spec, schema_con)
    assert parse_rule("age in (18, 19)", catalog) == In(Attribute("age"), (18, 19))
    with pytest.raises(RuleTypeError) as info:
        parse_rule('age = "18"', catalog)
    assert info.value.message == 'age is an enum of numbers but "18" is a string'
    assert info.value.suggestion == "age = 18"
    with pytest.raises(RuleTypeError, match="age is an enum: compare it with = or !="):
        parse_rule("age >= 18", catalog)


def test_merchants_have_no_events(schema_catalog):
    with pytest.raises(UnknownNameError, match="merchants has no events"):
        parse_rule("did(purchase, T-6..T)", schema_catalog, "merchants")


# -- check() on trees from JSON (no text, no spans) ---------------------------


def test_check_trees_without_text(schema_catalog):
    check(Compare(Tag("city"), "=", "a"), schema_catalog)
    with pytest.raises(UnknownNameError) as info:
        check(Compare(Tag("cty"), "=", "a"), schema_catalog)
    assert info.value.line is None and info.value.suggestion == "city"
    with pytest.raises(RuleTypeError, match="channel is an attribute of users, not a tag"):
        check(Compare(Tag("channel"), "=", "a"), schema_catalog)
    with pytest.raises(RuleTypeError, match="city is a tag of users, not an attribute"):
        check(Compare(Attribute("city"), "=", "a"), schema_catalog)
    with pytest.raises(RuleTypeError, match="can only be used in the where filter"):
        check(Compare(EventField("amount"), ">", 1), schema_catalog)
    with pytest.raises(UnknownNameError, match="unknown segment"):
        check(InSegment("x"), schema_catalog, segments=[])
    window = Window(Today(-6), Today())
    tree = from_json(to_json(Compare(Sum("purchase", "amount", window), ">", "5")))
    with pytest.raises(RuleTypeError) as info:
        check(tree, schema_catalog, "users")
    assert info.value.suggestion == "sum(purchase.amount, T-6..T) > 5"


def test_check_locates_with_text(schema_catalog):
    text = "trade_cnt_7d in (1, 2)"
    span = Span(0, len(text), keyword=(13, 15), values=((17, 18), (20, 21)))
    tree = In(Tag("trade_cnt_7d", span=(0, 12)), (1, 2), span=span)
    with pytest.raises(RuleTypeError) as info:
        check(tree, schema_catalog, text=text)
    assert (info.value.column, text[info.value.start : info.value.end]) == (14, "in")
    # a plain (start, end) span records no parts: the error points at the whole condition
    tree = In(Tag("trade_cnt_7d", span=(0, 12)), (1, 2), span=(0, len(text)))
    with pytest.raises(RuleTypeError) as info:
        check(tree, schema_catalog, text=text)
    assert (info.value.column, text[info.value.start : info.value.end]) == (1, text)


def test_operand_type(schema_catalog):
    window = Window(Today(-6), Today())
    assert operand_type(Tag("city"), None, schema_catalog) == "enum"
    assert operand_type(Tag("is_black_list", at=Today(-1)), "users", schema_catalog) == "boolean"
    assert operand_type(Attribute("signup_date"), "users", schema_catalog) == "datetime"
    assert operand_type(Count("purchase", window), "users", schema_catalog) == "number"
    assert operand_type(Score("x"), "users", schema_catalog) == "number"
    assert operand_type(EventField("amount"), "users", schema_catalog, event="purchase") == "number"
    with pytest.raises(UnknownNameError):
        operand_type(Tag("nope"), "users", schema_catalog)


def test_truth_of_a_count_from_json(schema_catalog):
    tree = Truth(Count("purchase", Window(Today(-6), Today())))
    with pytest.raises(RuleTypeError, match="is a number, not a condition"):
        check(tree, schema_catalog)


def test_every_error_is_a_segnb_error(schema_catalog):
    for case in CASES:
        with pytest.raises(SegnbError):
            parse_rule(case[0], schema_catalog)
    assert issubclass(RuleSyntaxError, RuleError)
