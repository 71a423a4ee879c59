"""The one dependency graph: every kind of use refuses a delete and orders refreshes (SPEC §6)."""

from __future__ import annotations

import json

import pytest
from conftest import DEMO_END

from segnb.errors import SegmentStateError
from segnb.lang.nodes import to_json
from segnb.lang.parse import parse_rule, parse_sets
from segnb.refresh.due import due_segments
from segnb.segments.graph import Graph, Use

pytest_plugins = ("store_helpers",)

FAST = {"n_jobs": 1, "progress": False, "random_state": 0}
AFTER = "2025-04-01"  # a day after DEMO_END: daily segments made as of DEMO_END are due


def _row(name, method, definition):
    return {"name": name, "method": method, "definition": json.dumps(definition)}


def _rule(catalog, text):
    names = ["a", "b", "p", "x", "y"]
    tree = parse_rule(text, catalog, segments=names, scores=names)
    return {"text": text, "rule": to_json(tree)}


def test_every_kind_of_edge_from_definitions(schema_catalog):
    rows = [
        _row("r", "rules", _rule(schema_catalog, "in_segment(a) and score(p) >= 0.5")),
        _row("s", "sets", {"sets": to_json(parse_sets("a & b")), "segments": ["a", "b"]}),
        _row("l", "lookalike", {"inputs": {"seed": "a", "audience": "b"}}),
        _row("p", "prediction", {"inputs": {"audience": "b", "positive": "a", "negative": None}}),
        _row("t", "table", {"table": "users", "id_column": "user_id"}),
        _row("broken", "rules", "{not json"),
    ]
    rows[-1]["definition"] = "{not json"
    graph = Graph(rows)
    assert graph.users("a") == [
        Use("l", "a", "seed"), Use("p", "a", "positive"), Use("r", "a", "in_segment"),
        Use("s", "a", "set input"),
    ]  # fmt: skip
    assert graph.users("p") == [Use("r", "p", "score")]
    assert [u.kind for u in graph.users("b")] == ["audience", "audience", "set input"]
    assert graph.users("t") == [] and graph.used_by("broken") == []
    assert graph.all_users("a") == {"l", "p", "r", "s"}
    # dependencies first, input order otherwise
    assert graph.order(["r", "p", "a", "b", "l"]) == ["a", "b", "p", "r", "l"]


def test_order_survives_a_loop(schema_catalog):
    rows = [
        _row("x", "rules", _rule(schema_catalog, "in_segment(y)")),
        _row("y", "rules", _rule(schema_catalog, "in_segment(x)")),
    ]
    assert sorted(Graph(rows).order(["x", "y"])) == ["x", "y"]


@pytest.fixture
def uses(store_ws):
    """A segment of every method, each using others in every way there is."""
    ws = store_ws
    daily = {"as_of": DEMO_END, "refresh": "daily"}
    ws.from_table("everyone", table="users", id_column="user_id", **daily)
    ws.create_segment("viewers", "count(view_product, T-13..T) >= 3", **daily)
    ws.create_segment("z_members", "is_member", **daily)
    ws.create_segment("quiet", "count(view_product, T-13..T) = 0", **daily)
    ws.create_segment("by_rule", "in_segment(z_members) and not is_black_list", **daily)
    ws.combine("by_set", "z_members & viewers", **daily)
    ws.lookalike("a_lal", seed="z_members", size=100, audience="everyone", **daily, **FAST)
    ws.predict("b_pred", audience="everyone", positive="viewers", negative="quiet",
               model="logistic", importances=False, **daily, **FAST)  # fmt: skip
    ws.create_segment("by_score", "score(b_pred) >= 0.5", **daily)
    return ws


def test_delete_is_refused_for_every_kind_of_use(uses):
    ws = uses
    refused = {
        "z_members": ["'a_lal' (through seed)", "'by_rule' (through in_segment)",
                      "'by_set' (through set input)"],
        "quiet": ["'b_pred' (through negative)"],
        "viewers": ["'b_pred' (through positive)", "'by_set' (through set input)"],
        "everyone": ["'a_lal' (through audience)", "'b_pred' (through audience)"],
        "b_pred": ["'by_score' (through score)"],
    }  # fmt: skip
    for name, users in refused.items():
        with pytest.raises(SegmentStateError) as info:
            ws.segment(name).delete()
        assert str(info.value) == (
            f"segment {name!r} is used by {', '.join(users)}; delete those first"
        )
        assert ws.segment(name).status == "active"  # nothing was deleted
    for name in ["by_score", "b_pred", "a_lal", "by_set", "by_rule", "z_members", "viewers",
                 "quiet"]:  # fmt: skip
        ws.segment(name).delete()
    ws.segment("everyone").delete()
    assert ws.segment_names() == []


def test_refresh_due_follows_the_graph(uses):
    ws = uses
    order = due_segments(ws, as_of=AFTER)
    assert set(order) == {
        "everyone", "viewers", "z_members", "quiet", "by_rule", "by_set", "a_lal", "b_pred",
        "by_score",
    }  # fmt: skip
    for use in Graph.of(ws.ctx).edges:
        assert order.index(use.used) < order.index(use.user), use
    # by name alone a_lal and b_pred would come before the segments they are built on
    assert order.index("z_members") < order.index("a_lal") < order.index("by_score")
