"""Property tests of the rule language.

1. Any text, and any soup of the language's tokens: the parser answers with a
   tree or a SegnbError, never another exception; any tree it returns prints
   back to text that parses to the same tree.
2. Random valid trees over the schema catalog (every node kind, nesting,
   windows, filters) survive to_text -> parse_rule and to_json -> from_json.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segnb.errors import SegnbError
from segnb.lang import behaviour as b
from segnb.lang import nodes as r
from segnb.lang.parse import is_set_expression, parse, parse_rule, parse_sets
from segnb.lang.text import to_text

SETTINGS = settings(
    max_examples=int(os.environ.get("SEGNB_HYPOTHESIS_EXAMPLES", 300)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- 1. robustness ------------------------------------------------------------

TOKENS = [
    "city", "trade_cnt_7d", "is_black_list", "register_time", "channel", "is_member",
    "purchase", "amount", "industry", "vip", "cty", "purchse",
    "count", "sum", "did", "change", "score", "in_segment",
    "first", "last", "days_since", "avg", "min", "max", "distinct", "active_days",
    "then", "within", "1d", "2h", "30m", "2", "day", "login", "add_cart",
    "and", "or", "not", "in", "between", "is", "null", "true", "false", "where", "T", "AND",
    "(", ")", ",", ".", "..", "@", "=", "!=", "<>", "<", "<=", ">", ">=", "==", "=>",
    "&", "|", "-", "+", "&&", "||", "!", ";",
    '"x"', "'y'", '"a\\"b"', "'", '"', "`", "`a b`", "``",
    "5", "-3", "4.5", "1_000", "1e3", "1e999", "99999999999999999999", "-",
    "2024-08-06", "2024-02-30", "2024-8-6", "T-6", "T+1", "T-6..T", "T..T-5", "T-99999",
    "#c\n", "\n", "\t", "城市", "\u201c",
]  # fmt: skip


def _attempt(text: str, catalog) -> None:
    for kwargs in ({}, {"segments": ["vip", "active"], "scores": ["churn"]}):
        try:
            tree = parse_rule(text, catalog, **kwargs)
        except SegnbError:
            continue
        assert parse_rule(to_text(tree), catalog, **kwargs) == tree
        assert r.from_json(r.to_json(tree)) == tree
    with contextlib.suppress(SegnbError):
        parse(text, catalog)
    is_set_expression(text)
    try:
        tree = parse_sets(text)
    except SegnbError:
        return
    assert parse_sets(to_text(tree)) == tree


@SETTINGS
@given(text=st.text(max_size=60))
def test_random_text_only_raises_segnb_errors(schema_catalog, text):
    _attempt(text, schema_catalog)


@SETTINGS
@given(
    parts=st.lists(st.sampled_from(TOKENS), max_size=25),
    seps=st.lists(st.sampled_from([" ", "", "  ", "\n"]), min_size=25, max_size=25),
)
def test_token_soup_only_raises_segnb_errors(schema_catalog, parts, seps):
    text = "".join(p + s for p, s in zip(parts, seps, strict=False))
    _attempt(text, schema_catalog)


def test_deep_nesting_is_a_clean_error(schema_catalog):
    for text in ["(" * 5000 + "is_black_list" + ")" * 5000, "not " * 5000 + "is_black_list"]:
        try:
            parse_rule(text, schema_catalog)
        except SegnbError as err:
            assert "nested" in err.message
        else:  # pragma: no cover
            raise AssertionError("expected an error")
    tree = parse_rule("(" * 50 + "is_black_list" + ")" * 50, schema_catalog)
    assert tree == r.Truth(r.Tag("is_black_list"))


# -- 2. valid trees round trip ------------------------------------------------

TAGS = {
    "enum": ["city", "member_level"],
    "boolean": ["is_black_list"],
    "datetime": ["register_time"],
    "number": ["trade_cnt_7d", "total_spend", "last_login_days"],
}
ATTRIBUTES = {
    "enum": ["channel", "gender", "device_id", "account_id"],
    "boolean": ["is_member"],
    "datetime": ["signup_date"],
    "number": ["age"],
}
FIELDS = {"enum": ["industry", "card_bin"], "number": ["amount"]}
EVENTS = ["login", "search", "view_product", "add_cart", "purchase", "refund"]
OPS = {
    "enum": ["=", "!="],
    "boolean": ["=", "!="],
    "datetime": list(r.COMPARE_OPS),
    "number": list(r.COMPARE_OPS),
}

names = st.text(min_size=1, max_size=12).filter(lambda s: "\n" not in s)
todays = st.integers(-36500, 36500).map(r.Today)
literals = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(r.DateLiteral)
daterefs = st.one_of(todays, literals)
numbers = st.one_of(
    st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False)
)
strings = st.text(  # NUL and lone surrogates: refused
    st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=15
)
VALUES = {"enum": strings, "boolean": st.booleans(), "datetime": daterefs, "number": numbers}


@st.composite
def windows(draw):
    start, end = draw(daterefs), draw(daterefs)
    if type(start) is type(end) and start.resolve(dt.date(2000, 1, 1)) > end.resolve(
        dt.date(2000, 1, 1)
    ):
        start, end = end, start
    return r.Window(start, end)


def _leaves(operands, kinds):
    """Comparisons, in, between, is null and truth over ``operands(kind)``."""

    def compare(kind):
        return st.builds(r.Compare, operands(kind), st.sampled_from(OPS[kind]), VALUES[kind])

    @st.composite
    def between(draw, kind):
        low, high = draw(VALUES[kind]), draw(VALUES[kind])
        if kind == "number" and low > high:
            low, high = high, low
        both_dates = isinstance(low, r.DateLiteral) and isinstance(high, r.DateLiteral)
        if both_dates and low.value > high.value:
            low, high = high, low
        return r.Between(draw(operands(kind)), low, high)

    options = [compare(k) for k in kinds]
    options.append(
        st.builds(
            r.In,
            operands("enum"),
            st.lists(strings, min_size=1, max_size=4).map(tuple),
            st.booleans(),
        )
    )
    options += [between(k) for k in ("number", "datetime") if k in kinds]
    options.append(st.builds(r.IsNull, st.one_of(*[operands(k) for k in kinds]), st.booleans()))
    if "boolean" in kinds:
        options.append(st.builds(r.Truth, operands("boolean")))
    return options


def _combine(children):
    parts = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(r.And, parts), st.builds(r.Or, parts), st.builds(r.Not, children))


def _field(kind):
    return st.sampled_from(FIELDS[kind]).map(r.EventField)


filters = st.recursive(st.one_of(*_leaves(_field, ("enum", "number"))), _combine, max_leaves=4)
wheres = st.one_of(st.none(), filters)


def _operand(kind):
    options = [st.builds(r.Tag, st.sampled_from(TAGS[kind]), st.one_of(st.none(), daterefs))]
    options.append(st.sampled_from(ATTRIBUTES[kind]).map(r.Attribute))
    events = st.sampled_from(EVENTS)
    maybe_windows = st.one_of(st.none(), windows())
    if kind == "datetime":
        options += [st.builds(cls, events, maybe_windows, wheres) for cls in (b.First, b.Last)]
    if kind == "number":
        options += [
            st.builds(b.DaysSince, events, wheres),
            *[
                st.builds(cls, events, st.just("amount"), maybe_windows, wheres)
                for cls in b.FIELD_AGGREGATES
            ],
            st.builds(
                b.Distinct,
                events,
                st.sampled_from(FIELDS["enum"] + FIELDS["number"]),
                windows(),
                wheres,
            ),
            st.builds(b.ActiveDays, events, windows(), wheres),
        ]
        options += [
            st.builds(r.Change, st.sampled_from(TAGS["number"]), daterefs, daterefs),
            st.builds(r.Count, events, windows(), wheres),
            st.builds(r.Sum, events, st.just("amount"), windows(), wheres),
            st.builds(r.Score, names),
        ]
    return st.one_of(*options)


conditions = st.recursive(
    st.one_of(
        *_leaves(_operand, ("enum", "boolean", "datetime", "number")),
        st.builds(r.Did, st.sampled_from(EVENTS), windows(), wheres),
        st.builds(r.InSegment, names),
        st.builds(
            b.DidSequence,
            st.lists(
                st.builds(b.Step, st.sampled_from(EVENTS), wheres), min_size=2, max_size=4
            ).map(tuple),
            windows(),
            st.one_of(st.none(), st.sampled_from(["1d", "2h", "30m", "90m", "3650d"])),
        ),
    ),
    _combine,
    max_leaves=8,
)


@SETTINGS
@given(tree=conditions)
def test_valid_trees_round_trip_through_text(schema_catalog, tree):
    text = to_text(tree)
    assert parse_rule(text, schema_catalog) == tree, text
    assert to_text(parse_rule(text, schema_catalog)) == text
    assert r.from_json(r.to_json(tree)) == tree


set_trees = st.recursive(
    names.map(r.SegmentRef),
    lambda children: st.builds(r.SetOp, st.sampled_from(r.SET_OPS), children, children),
    max_leaves=8,
)


@SETTINGS
@given(tree=set_trees)
def test_set_trees_round_trip_through_text(tree):
    text = to_text(tree)
    assert parse_sets(text) == tree, text
    assert r.from_json(r.to_json(tree)) == tree
    if isinstance(tree, r.SetOp):
        assert is_set_expression(text)
