"""The rule language: text -> tree for every SPEC §3 example, printing, JSON, set bodies."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest

from segnb.catalog.model import Catalog
from segnb.errors import RuleSyntaxError, UnknownNameError
from segnb.lang.nodes import (
    And,
    Attribute,
    Between,
    Change,
    Compare,
    Count,
    DateLiteral,
    Did,
    EventField,
    In,
    InSegment,
    IsNull,
    Not,
    Or,
    Score,
    SegmentRef,
    SetOp,
    Sum,
    Tag,
    Today,
    Truth,
    Window,
    from_json,
    to_json,
    walk,
)
from segnb.lang.parse import is_set_expression, parse, parse_rule, parse_sets, tokenize
from segnb.lang.text import quote_name, to_text


def D(text: str) -> DateLiteral:
    return DateLiteral(dt.date.fromisoformat(text))


def W(start, end) -> Window:
    return Window(start, end)


LAST_7 = W(Today(-6), Today())
LAST_30 = W(Today(-29), Today())

# SPEC §3, copied verbatim (comments included), each with the tree it must give.
SPEC_EXAMPLES = [
    (
        'city in ("Shenzhen", "Guangzhou", "Shanghai")',
        In(Tag("city"), ("Shenzhen", "Guangzhou", "Shanghai")),
    ),
    (
        "is_black_list = false              # or simply: not is_black_list",
        Compare(Tag("is_black_list"), "=", False),
    ),
    ("register_time >= 2024-08-06", Compare(Tag("register_time"), ">=", D("2024-08-06"))),
    ("trade_cnt_7d between 5 and 20", Between(Tag("trade_cnt_7d"), 5, 20)),
    ('city@2024-08-01 = "Shenzhen"', Compare(Tag("city", at=D("2024-08-01")), "=", "Shenzhen")),
    (
        "change(trade_cnt_7d, 2024-07-30, 2024-08-04) > 100",
        Compare(Change("trade_cnt_7d", D("2024-07-30"), D("2024-08-04")), ">", 100),
    ),
    (
        "change(trade_cnt_7d, T-7, T-1) < 0",
        Compare(Change("trade_cnt_7d", Today(-7), Today(-1)), "<", 0),
    ),
    (
        "count(purchase, 2025-03-26..2025-04-01) >= 4",
        Compare(Count("purchase", W(D("2025-03-26"), D("2025-04-01"))), ">=", 4),
    ),
    (
        'count(purchase where industry = "Food & Beverages", T-6..T) >= 1',
        Compare(
            Count("purchase", LAST_7, Compare(EventField("industry"), "=", "Food & Beverages")),
            ">=",
            1,
        ),
    ),
    (
        "sum(purchase.amount, T-29..T) > 500",
        Compare(Sum("purchase", "amount", LAST_30), ">", 500),
    ),
    (
        "did(view_product, T-6..T) and not did(purchase, T-6..T)",
        And((Did("view_product", LAST_7), Not(Did("purchase", LAST_7)))),
    ),
    (
        "count(purchase, T-29..T) = 0       # includes entities with no events at all",
        Compare(Count("purchase", LAST_30), "=", 0),
    ),
    ('channel in ("ads", "organic")', In(Attribute("channel"), ("ads", "organic"))),
    ("in_segment(vip_q4)", InSegment("vip_q4")),
    ("score(churn_risk) >= 0.8", Compare(Score("churn_risk"), ">=", 0.8)),
    # the alternative named in the comment, and the examples of SPEC §4 and §5
    ("not is_black_list", Not(Truth(Tag("is_black_list")))),
    (
        "count(purchase, T-6..T) >= 2 and not is_black_list",
        And(
            (
                Compare(Count("purchase", LAST_7), ">=", 2),
                Not(Truth(Tag("is_black_list"))),
            )
        ),
    ),
    ("city = 'Shenzhen'", Compare(Tag("city"), "=", "Shenzhen")),
]

# The whole example block of SPEC §3 as one multi-line text (comments, blank lines).
SPEC_BLOCK = """\
# profile tags, latest value (the default date mode)
city in ("Shenzhen", "Guangzhou", "Shanghai")
is_black_list = false              # or simply: not is_black_list
register_time >= 2024-08-06
trade_cnt_7d between 5 and 20

# value on a given date, and change between two dates
city@2024-08-01 = "Shenzhen"
change(trade_cnt_7d, 2024-07-30, 2024-08-04) > 100
change(trade_cnt_7d, T-7, T-1) < 0

# behaviour: counts and sums in fixed or dynamic windows, with attribute filters
count(purchase, 2025-03-26..2025-04-01) >= 4
count(purchase where industry = "Food & Beverages", T-6..T) >= 1
sum(purchase.amount, T-29..T) > 500
did(view_product, T-6..T) and not did(purchase, T-6..T)
count(purchase, T-29..T) = 0       # includes entities with no events at all

# entity attributes, other segments, predicted scores
channel in ("ads", "organic")
in_segment(vip_q4)
score(churn_risk) >= 0.8
"""

SEGMENTS = ["vip_q4", "active", "churned"]
SCORES = ["churn_risk"]


@pytest.mark.parametrize(("text", "tree"), SPEC_EXAMPLES, ids=[t for t, _ in SPEC_EXAMPLES])
def test_spec_examples_parse_to_the_expected_tree(schema_catalog, text, tree):
    assert parse_rule(text, schema_catalog) == tree
    # with known segment and score names as well
    assert parse_rule(text, schema_catalog, segments=SEGMENTS, scores=SCORES) == tree


@pytest.mark.parametrize(("text", "tree"), SPEC_EXAMPLES, ids=[t for t, _ in SPEC_EXAMPLES])
def test_spec_examples_round_trip(schema_catalog, text, tree):
    printed = to_text(parse_rule(text, schema_catalog))
    assert parse_rule(printed, schema_catalog) == tree
    assert to_text(parse_rule(printed, schema_catalog)) == printed  # canonical is a fixed point
    assert from_json(to_json(tree)) == tree
    assert str(tree) == printed


def test_spec_block_lines_each_parse(schema_catalog):
    lines = [line for line in SPEC_BLOCK.splitlines() if line.strip() and not line.startswith("#")]
    assert [parse_rule(line, schema_catalog) for line in lines] == [
        t for _, t in SPEC_EXAMPLES[:15]
    ]


def test_spec_block_as_one_rule_with_or(schema_catalog):
    lines = [line for line in SPEC_BLOCK.splitlines() if line.strip() and not line.startswith("#")]
    text = "\n".join(f"({line.split('#')[0].strip()}) or" for line in lines)[: -len(" or")]
    tree = parse_rule(text, schema_catalog)
    assert isinstance(tree, Or) and len(tree.parts) == 15
    assert parse_rule(to_text(tree), schema_catalog) == tree


def test_canonical_text_of_spec_examples(schema_catalog):
    printed = [to_text(t) for _, t in SPEC_EXAMPLES[:4]]
    assert printed == [
        'city in ("Shenzhen", "Guangzhou", "Shanghai")',
        "is_black_list = false",
        "register_time >= 2024-08-06",
        "trade_cnt_7d between 5 and 20",
    ]


def test_unknown_segment_and_score_checked_only_when_names_given(schema_catalog):
    assert parse_rule("in_segment(nope)", schema_catalog) == InSegment("nope")
    assert parse_rule("score(nope) > 0.5", schema_catalog) == Compare(Score("nope"), ">", 0.5)
    with pytest.raises(UnknownNameError, match="unknown segment 'vip_q'") as err:
        parse_rule("in_segment(vip_q)", schema_catalog, segments=SEGMENTS)
    assert err.value.suggestion == "vip_q4"
    with pytest.raises(UnknownNameError, match="unknown prediction segment 'churn'") as err:
        parse_rule("score(churn) >= 0.8", schema_catalog, scores=SCORES)
    assert err.value.suggestion == "churn_risk"
    assert (err.value.line, err.value.column) == (1, 7)


# -- the grammar in detail ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("CITY_x = 1", None),  # names are case-sensitive: CITY_x is unknown (checked below)
        ('city = "a" AND trade_cnt_7d > 1', "and"),
        ('city = "a" Or Not is_black_list', "or"),
    ],
)
def test_keywords_are_case_insensitive_names_are_not(schema_catalog, text, tree):
    if tree is None:
        with pytest.raises(UnknownNameError):
            parse_rule(text, schema_catalog)
    else:
        node = parse_rule(text, schema_catalog)
        assert type(node).__name__.lower() == tree


def test_precedence_not_and_or(schema_catalog):
    a, b, c = "is_black_list", "is_member", "trade_cnt_7d > 1"
    tree = parse_rule(f"{a} or not {b} and {c}", schema_catalog)
    assert tree == Or(
        (
            Truth(Tag(a)),
            And((Not(Truth(Attribute(b))), Compare(Tag("trade_cnt_7d"), ">", 1))),
        )
    )


def test_chains_flatten_but_parentheses_nest(schema_catalog):
    x, y, z = (Truth(Tag("is_black_list")), Truth(Attribute("is_member")), IsNull(Tag("city")))
    text = "is_black_list and is_member and city is null"
    assert parse_rule(text, schema_catalog) == And((x, y, z))
    assert parse_rule("is_black_list and (is_member and city is null)", schema_catalog) == And(
        (x, And((y, z)))
    )
    assert parse_rule("(is_black_list or is_member) or city is null", schema_catalog) == Or(
        (Or((x, y)), z)
    )
    assert parse_rule("((is_black_list))", schema_catalog) == x
    for tree in (And((x, And((y, z)))), Or((Or((x, y)), z)), And((Or((x, y)), z))):
        assert parse_rule(to_text(tree), schema_catalog) == tree
    assert to_text(And((x, And((y, z))))) == "is_black_list and (is_member and city is null)"
    assert to_text(Or((x, And((y, z))))) == "is_black_list or is_member and city is null"
    assert to_text(Not(And((x, y)))) == "not (is_black_list and is_member)"
    assert to_text(Not(Not(x))) == "not not is_black_list"


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('city != "a"', Compare(Tag("city"), "!=", "a")),
        ('city <> "a"', Compare(Tag("city"), "!=", "a")),
        ('city not in ("a", "b")', In(Tag("city"), ("a", "b"), negated=True)),
        ('city in ("a", "b",)', In(Tag("city"), ("a", "b"))),
        ("trade_cnt_7d not between 1 and 2", Not(Between(Tag("trade_cnt_7d"), 1, 2))),
        ("not trade_cnt_7d between 1 and 2", Not(Between(Tag("trade_cnt_7d"), 1, 2))),
        ("city is null", IsNull(Tag("city"))),
        ("city is not null", IsNull(Tag("city"), negated=True)),
        ("is_black_list", Truth(Tag("is_black_list"))),
        ("is_member = true", Compare(Attribute("is_member"), "=", True)),
        ("trade_cnt_7d > -3", Compare(Tag("trade_cnt_7d"), ">", -3)),
        ("total_spend >= 4.5", Compare(Tag("total_spend"), ">=", 4.5)),
        ("total_spend >= 1_000", Compare(Tag("total_spend"), ">=", 1000)),
        ("total_spend >= 1e3", Compare(Tag("total_spend"), ">=", 1000.0)),
        ("total_spend < 2.5e-3", Compare(Tag("total_spend"), "<", 0.0025)),
        ("register_time > T-30", Compare(Tag("register_time"), ">", Today(-30))),
        ("register_time > T+1", Compare(Tag("register_time"), ">", Today(1))),
        ("register_time > T - 30", Compare(Tag("register_time"), ">", Today(-30))),
        ("register_time <= T", Compare(Tag("register_time"), "<=", Today())),
        (
            "signup_date between 2024-01-01 and T",
            Between(Attribute("signup_date"), D("2024-01-01"), Today()),
        ),
        ("city@T-1 = 'a'", Compare(Tag("city", at=Today(-1)), "=", "a")),
        ("`city` = 'a'", Compare(Tag("city"), "=", "a")),
        (
            'city = "a \\"b\\" \\\\ \\n \\t \'c\'"',
            Compare(Tag("city"), "=", "a \"b\" \\ \n \t 'c'"),
        ),
        ("city = 'it\\'s'", Compare(Tag("city"), "=", "it's")),
        ("city = 'say \"hi\"'", Compare(Tag("city"), "=", 'say "hi"')),
        ("city = '#not a comment'", Compare(Tag("city"), "=", "#not a comment")),
        ("city = 'a' # comment ( and ) 'unbalanced", Compare(Tag("city"), "=", "a")),
        ('count("purchase", T-6..T) > 1', Compare(Count("purchase", LAST_7), ">", 1)),
        ("count(`purchase`, T-6..T) > 1", Compare(Count("purchase", LAST_7), ">", 1)),
        (
            'sum("purchase".amount, T-29..T) > 1',
            Compare(Sum("purchase", "amount", LAST_30), ">", 1),
        ),
        ("COUNT(purchase, T-6..T) > 1", Compare(Count("purchase", LAST_7), ">", 1)),
        ("count(purchase, t-6..t) > 1", Compare(Count("purchase", LAST_7), ">", 1)),
        (
            "did(purchase where amount > 100 and industry in ('x', 'y'), T-6..T)",
            Did(
                "purchase",
                LAST_7,
                And(
                    (
                        Compare(EventField("amount"), ">", 100),
                        In(EventField("industry"), ("x", "y")),
                    )
                ),
            ),
        ),
        (
            "sum(purchase.amount where not (card_bin is null or amount < 0), T-29..T) >= 10",
            Compare(
                Sum(
                    "purchase",
                    "amount",
                    LAST_30,
                    Not(
                        Or((IsNull(EventField("card_bin")), Compare(EventField("amount"), "<", 0)))
                    ),
                ),
                ">=",
                10,
            ),
        ),
        (
            "count(purchase where industry = 'a', T-6..T) >= 1 and city = 'b'",
            And(
                (
                    Compare(
                        Count("purchase", LAST_7, Compare(EventField("industry"), "=", "a")),
                        ">=",
                        1,
                    ),
                    Compare(Tag("city"), "=", "b"),
                )
            ),
        ),
        ("in_segment(`vip q4`)", InSegment("vip q4")),
        ("in_segment('vip q4')", InSegment("vip q4")),
        ("not in_segment(vip_q4)", Not(InSegment("vip_q4"))),
        ("score(`churn risk`) < 0.1", Compare(Score("churn risk"), "<", 0.1)),
    ],
)
def test_grammar(schema_catalog, text, tree):
    parsed = parse_rule(text, schema_catalog)
    assert parsed == tree
    assert parse_rule(to_text(parsed), schema_catalog) == tree


def test_multiline_rule_with_comments(schema_catalog):
    text = """
    # buyers of the last week
    count(purchase, T-6..T) >= 2   # at least two
    AND NOT is_black_list
    and city in (
        "Shenzhen",   # south
        "Beijing",
    )
    """
    tree = parse_rule(text, schema_catalog)
    assert tree == And(
        (
            Compare(Count("purchase", LAST_7), ">=", 2),
            Not(Truth(Tag("is_black_list"))),
            In(Tag("city"), ("Shenzhen", "Beijing")),
        )
    )


def test_function_names_are_names_unless_called():
    con = ibis.duckdb.connect()
    con.raw_sql(
        'CREATE TABLE odd_users(id BIGINT, "count" INTEGER, "and" VARCHAR, '
        '"T" BOOLEAN, "signup channel" VARCHAR, "a`b" VARCHAR)'
    )
    catalog = Catalog.load({"entities": {"odd": {"table": "odd_users", "id": "id"}}}, con)
    cases = {
        "count > 3": Compare(Attribute("count"), ">", 3),
        "`and` = 'x'": Compare(Attribute("and"), "=", "x"),
        "`T`": Truth(Attribute("T")),
        "`signup channel` in ('ads')": In(Attribute("signup channel"), ("ads",)),
        "`a``b` = 'x'": Compare(Attribute("a`b"), "=", "x"),
    }
    for text, tree in cases.items():
        assert parse_rule(text, catalog) == tree
        assert parse_rule(to_text(tree), catalog) == tree
    assert to_text(Compare(Attribute("count"), ">", 3)) == "`count` > 3"
    assert quote_name("a`b") == "`a``b`"


def test_other_entities(schema_catalog):
    tree = parse_rule(
        "gmv_7d > 1000 and city = 'Shenzhen' and is_active", schema_catalog, "merchants"
    )
    assert tree == And(
        (
            Compare(Tag("gmv_7d"), ">", 1000),
            Compare(Attribute("city"), "=", "Shenzhen"),
            Truth(Tag("is_active")),
        )
    )
    merchants = schema_catalog.entity("merchants")
    assert parse_rule("rating >= 4.5", schema_catalog, merchants) == Compare(
        Tag("rating"), ">=", 4.5
    )


def test_spans_point_into_the_text(schema_catalog):
    text = 'city = "a" and count(purchase where amount > 1, T-6..T) >= 2'
    tree = parse_rule(text, schema_catalog)
    pieces = {type(n).__name__: text[n.span[0] : n.span[1]] for n in walk(tree) if n.span}
    assert pieces["And"] == text
    assert pieces["Count"] == "count(purchase where amount > 1, T-6..T)"
    assert pieces["Window"] == "T-6..T"
    assert pieces["EventField"] == "amount"
    assert all(n.span is not None for n in walk(tree))


def test_tokenize_offsets():
    toks = tokenize("a >= T-6  # c\n`b c`")
    assert [(t.kind, t.value) for t in toks] == [
        ("ident", "a"),
        (">=", None),
        ("ident", "T"),
        ("number", -6),
        ("qname", "b c"),
        ("eof", None),
    ]
    assert toks[-2].start == 14


def test_json_round_trip_of_parsed_trees(schema_catalog):
    for text, _ in SPEC_EXAMPLES:
        tree = parse_rule(text, schema_catalog)
        assert from_json(to_json(tree)) == tree


# -- set expressions ----------------------------------------------------------


def ref(name):
    return SegmentRef(name)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "vip & active - churned",
            SetOp("-", SetOp("&", ref("vip"), ref("active")), ref("churned")),
        ),
        ("a | b & c", SetOp("|", ref("a"), SetOp("&", ref("b"), ref("c")))),
        ("a - b & c", SetOp("-", ref("a"), SetOp("&", ref("b"), ref("c")))),
        ("a - b | c", SetOp("|", SetOp("-", ref("a"), ref("b")), ref("c"))),
        ("a | b - c", SetOp("-", SetOp("|", ref("a"), ref("b")), ref("c"))),
        ("a - (b | c)", SetOp("-", ref("a"), SetOp("|", ref("b"), ref("c")))),
        ("(a | b) & c", SetOp("&", SetOp("|", ref("a"), ref("b")), ref("c"))),
        ("a & (b & c)", SetOp("&", ref("a"), SetOp("&", ref("b"), ref("c")))),
        ("a & b & c", SetOp("&", SetOp("&", ref("a"), ref("b")), ref("c"))),
        ("`vip users` | new_2024", SetOp("|", ref("vip users"), ref("new_2024"))),
        ("a-b", SetOp("-", ref("a"), ref("b"))),
        ("((a))", ref("a")),
    ],
)
def test_set_expressions(text, tree):
    parsed = parse_sets(text)
    assert parsed == tree
    assert parse_sets(to_text(parsed)) == tree
    assert from_json(to_json(tree)) == tree


def test_set_printing_adds_only_needed_parentheses():
    assert to_text(parse_sets("a | (b & c)")) == "a | b & c"
    assert to_text(parse_sets("(a - b) - c")) == "a - b - c"
    assert to_text(parse_sets("a - (b - c)")) == "a - (b - c)"
    assert to_text(parse_sets("(a | b) & c")) == "(a | b) & c"


def test_set_names_checked_when_known():
    assert parse_sets("vip & active", segments=["vip", "active"]) == SetOp(
        "&", ref("vip"), ref("active")
    )
    with pytest.raises(UnknownNameError) as err:
        parse_sets("vip & actve", segments=["vip", "active"])
    assert err.value.message == "unknown segment 'actve'"
    assert (err.value.line, err.value.column, err.value.suggestion) == (1, 7, "active")


def test_set_syntax_errors():
    with pytest.raises(RuleSyntaxError) as err:
        parse_sets("vip && active")
    assert err.value.suggestion == "&" and err.value.column == 5
    with pytest.raises(RuleSyntaxError) as err:
        parse_sets("vip and active")
    assert err.value.suggestion == "&"
    with pytest.raises(RuleSyntaxError, match="missing segment after '-'"):
        parse_sets("vip -")
    with pytest.raises(RuleSyntaxError, match="unclosed parenthesis") as err:
        parse_sets("vip & (a | b")
    assert err.value.column == 7
    with pytest.raises(RuleSyntaxError, match="empty set expression"):
        parse_sets("  # nothing")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vip & active - churned", True),
        ("(a | b) - `c d`", True),
        ("a-b", True),
        ("vip", False),  # a single name is a rule (a boolean tag), not a set
        ("is_black_list and vip", False),
        ("a & b = 1", False),
        ("a & 'b'", False),
        ("a & and", False),
        ("&", False),
        ("'unterminated", False),
        ("", False),
    ],
)
def test_is_set_expression(text, expected):
    assert is_set_expression(text) is expected


def test_parse_dispatches(schema_catalog):
    assert parse("vip & active", schema_catalog) == SetOp("&", ref("vip"), ref("active"))
    assert parse("is_black_list", schema_catalog) == Truth(Tag("is_black_list"))
    assert parse("in_segment(vip)", schema_catalog, segments=["vip"]) == InSegment("vip")
    with pytest.raises(UnknownNameError) as err:
        parse("is_black_list & is_member", schema_catalog)
    assert err.value.message == "'is_black_list' is a tag of users, not a segment"
    assert "and / or" in err.value.hint
