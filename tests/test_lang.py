"""The rule language's own machinery: the node registry, the visitors, token kinds, spans."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from segnb.errors import NotAvailableError, RuleError
from segnb.lang import nodes as r
from segnb.lang import parse as parse_module
from segnb.lang.check import Checker
from segnb.lang.lex import Token, TokenKind, tokenize
from segnb.lang.parse import parse, parse_rule
from segnb.lang.text import Printer
from segnb.lang.tree import NODE_KINDS, Node, Span, node_kinds
from segnb.lang.visitor import NodeVisitor

ALL_KINDS = [
    "Today", "DateLiteral", "Window", "Tag", "Attribute", "EventField", "Change", "Count", "Sum",
    "Score", "Compare", "In", "Between", "IsNull", "Truth", "Did", "InSegment", "And", "Or", "Not",
    "SegmentRef", "SetOp", "First", "Last", "DaysSince", "Avg", "Min", "Max", "Distinct",
    "ActiveDays", "Step", "DidSequence",
]  # fmt: skip


def test_every_node_kind_registers_itself():
    assert list(NODE_KINDS) == ALL_KINDS
    assert all(NODE_KINDS[name].__name__ == name for name in NODE_KINDS)
    assert node_kinds() == tuple(NODE_KINDS.values())
    assert r.NODE_KINDS is NODE_KINDS and r.node_kinds is node_kinds
    for abstract in (Node, r.DateRef, r.Operand, r.Condition, r.SetExpr):
        assert abstract.__name__ not in NODE_KINDS


def test_node_kinds_by_group():
    names = lambda base: [k.__name__ for k in node_kinds(base)]  # noqa: E731
    assert names(r.DateRef) == ["Today", "DateLiteral"]
    assert names(r.Operand) == [
        "Tag", "Attribute", "EventField", "Change", "Count", "Sum", "Score",
        "First", "Last", "DaysSince", "Avg", "Min", "Max", "Distinct", "ActiveDays",
    ]  # fmt: skip
    assert names(r.SetExpr) == ["SegmentRef", "SetOp"]
    assert names(r.Condition) == [
        "Compare", "In", "Between", "IsNull", "Truth", "Did", "InSegment", "And", "Or", "Not",
        "DidSequence",
    ]  # fmt: skip
    entity_level = [k.__name__ for k in node_kinds() if k.entity_level]
    assert entity_level == [
        "Tag", "Attribute", "Change", "Count", "Sum", "Score", "Did", "InSegment",
        "First", "Last", "DaysSince", "Avg", "Min", "Max", "Distinct", "ActiveDays", "DidSequence",
    ]  # fmt: skip


def test_a_second_node_kind_of_one_name_is_refused():
    with pytest.raises(TypeError, match="node kind Tag is defined twice"):

        @dataclasses.dataclass(frozen=True)
        class Tag(r.Operand):
            name: str

    assert NODE_KINDS["Tag"] is r.Tag


@pytest.mark.parametrize("visitor", [Checker, Printer], ids=lambda v: v.__name__)
def test_the_checker_and_the_printer_handle_every_node_kind(visitor):
    assert visitor.missing(node_kinds()) == []


def test_a_visitor_without_a_method_fails_naming_both():
    assert NodeVisitor.missing(node_kinds()) == sorted(NODE_KINDS)
    with pytest.raises(NotAvailableError, match="NodeVisitor has no translation for Tag"):
        NodeVisitor().visit(r.Tag("city"))


def test_json_reads_the_registry():
    with pytest.raises(RuleError) as info:
        r.from_json({"version": 1, "rule": {"node": "Operand"}})
    assert info.value.hint == f"known nodes: {', '.join(sorted(NODE_KINDS))}"
    with pytest.raises(RuleError, match="unknown node"):
        r.from_json({"version": 1, "rule": {"node": ["Tag"]}})


def test_token_kinds_are_an_enum_equal_to_their_text():
    toks = tokenize('a >= T-6 and b in ("x") .. @')
    assert all(isinstance(t, Token) and isinstance(t.kind, TokenKind) for t in toks)
    assert [t.kind for t in toks] == [
        TokenKind.IDENT, TokenKind.GE, TokenKind.IDENT, TokenKind.NUMBER, TokenKind.IDENT,
        TokenKind.IDENT, TokenKind.IDENT, TokenKind.LPAREN, TokenKind.STRING, TokenKind.RPAREN,
        TokenKind.DOTDOT, TokenKind.AT, TokenKind.EOF,
    ]  # fmt: skip
    assert TokenKind.GE == ">=" and f"{TokenKind.GE}" == ">=" and str(TokenKind.EOF) == "eof"


def test_parsed_operators_are_plain_strings(schema_catalog):
    tree = parse_rule("trade_cnt_7d <> 3", schema_catalog)
    assert type(tree.op) is str and tree.op == "!="
    tree = parse("vip & active", schema_catalog)
    assert type(tree.op) is str and tree.op == "&"


def _parts(text, node):
    return {k: text[v[0] : v[1]] if isinstance(v[0], int) else [text[a:b] for a, b in v]
            for k, v in node.span.parts.items()}  # fmt: skip


def test_the_parser_records_the_parts_of_each_node(schema_catalog):
    text = (
        'register_time not between 2024-01-01 and T - 6 or city in ("a", "b",) or total_spend >= 1_0\n'
        "or count(purchase where amount > 1, T-6..T) >= 1 or sum(purchase.amount, T..T) > 1\n"
        "or change(`trade_cnt_7d`, T-7, T-1) > 0 or city@T-1 = 'x' or in_segment(vip)\n"
        "or score(churn) > 0.5 or channel = 'web' or did(\"purchase\", T..T)"
    )
    tree = parse_rule(text, schema_catalog)
    found = [
        (type(n).__name__, _parts(text, n))
        for n in r.walk(tree)
        if isinstance(n.span, Span) and n.span.parts
    ]
    assert found == [
        ("Between", {"keyword": "not between", "values": ["2024-01-01", "T - 6"]}),
        ("Tag", {"name": "register_time"}),
        ("In", {"keyword": "in", "values": ['"a"', '"b"']}),
        ("Tag", {"name": "city"}),
        ("Compare", {"op": ">=", "value": "1_0"}),
        ("Tag", {"name": "total_spend"}),
        ("Compare", {"op": ">=", "value": "1"}),
        ("Count", {"event": "purchase"}),
        ("Compare", {"op": ">", "value": "1"}),
        ("EventField", {"name": "amount"}),
        ("Compare", {"op": ">", "value": "1"}),
        ("Sum", {"event": "purchase", "field": "amount"}),
        ("Compare", {"op": ">", "value": "0"}),
        ("Change", {"tag": "`trade_cnt_7d`"}),
        ("Compare", {"op": "=", "value": "'x'"}),
        ("Tag", {"name": "city", "at": "@T-1"}),
        ("InSegment", {"name": "vip"}),
        ("Compare", {"op": ">", "value": "0.5"}),
        ("Score", {"name": "churn"}),
        ("Compare", {"op": "=", "value": "'web'"}),
        ("Attribute", {"name": "channel"}),
        ("Did", {"event": '"purchase"'}),
    ]


def test_spans_survive_copy_and_pickle(schema_catalog):
    tree = parse_rule('city in ("a", "b")', schema_catalog)
    for again in (copy.deepcopy(tree), pickle.loads(pickle.dumps(tree))):
        assert again == tree and again.span == tree.span == (0, 18)
        assert again.span.parts == tree.span.parts
    assert repr(tree.span) == "(0, 18)"


def test_parse_tokenises_once(schema_catalog, monkeypatch):
    calls = []

    def counting(text, *args):
        calls.append(text)
        return tokenize(text, *args)

    monkeypatch.setattr(parse_module, "tokenize", counting)
    for text in ("vip & (active | new) - churned", 'city = "a" and count(purchase, T-6..T) >= 2'):
        calls.clear()
        parse(text, schema_catalog)
        assert calls == [text]
    calls.clear()
    with pytest.raises(RuleError, match="not a tag or attribute"):
        parse_rule('cty = "a"', schema_catalog)
    assert calls == ['cty = "a"']
