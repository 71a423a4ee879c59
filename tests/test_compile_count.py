"""``ws.estimate``: one count query per rule and day, compiled once and kept, on every backend.

A repeated estimate runs the kept SQL again; what it counts must still be
what the rule selects now: after another day, another target object, a new
catalog, and a new version of a segment the rule names.
"""

from __future__ import annotations

import datetime

import pytest
from store_tools import AS_OF

from segnb.catalog.model import Catalog

pytest_plugins = ("store_helpers",)  # the store_ws fixture

BUYERS = "count(purchase, T-6..T) >= 1"
GROUPS = '(city = "Shenzhen" and trade_cnt_7d >= 1) or (city = "Beijing" and not is_black_list)'


def size(ws, rule, as_of=AS_OF) -> int:
    return int(ws.members(rule, as_of=as_of).count().execute())


def no_compiling(monkeypatch, ws) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the rule was compiled again")

    monkeypatch.setattr(ws.ctx, "compile", fail)
    monkeypatch.setattr(ws.ctx, "parse", fail)


@pytest.mark.parametrize("rule", [BUYERS, GROUPS, "not is_black_list"])
def test_a_repeated_estimate_runs_the_kept_query(store_ws, monkeypatch, rule):
    ws = store_ws
    expected = size(ws, rule)
    assert ws.estimate(rule, as_of=AS_OF) == expected
    no_compiling(monkeypatch, ws)
    assert ws.estimate(rule, as_of=AS_OF) == expected


def test_another_day_is_another_query(store_ws):
    ws = store_ws
    earlier = AS_OF - datetime.timedelta(days=20)
    assert ws.estimate(BUYERS, as_of=AS_OF) == size(ws, BUYERS)
    assert ws.estimate(BUYERS, as_of=earlier) == size(ws, BUYERS, earlier)
    assert size(ws, BUYERS) != size(ws, BUYERS, earlier)  # the data tells the days apart
    assert ws.estimate(BUYERS, as_of=AS_OF) == size(ws, BUYERS)


def test_a_new_catalog_drops_the_kept_queries(store_ws):
    ws = store_ws
    ws.estimate(BUYERS, as_of=AS_OF)
    assert ws.ctx._count_sql
    ws.ctx.catalog = Catalog.load(ws.catalog.spec or None, ws.con)
    assert ws.estimate(BUYERS, as_of=AS_OF) == size(ws, BUYERS)
    assert list(ws.ctx._count_sql) == [(BUYERS, ws.catalog.entity().name, AS_OF, ws.ctx.tz)]


def test_rules_naming_segments_follow_their_versions(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    rule = "in_segment(buyers)"
    assert ws.estimate(rule, as_of=AS_OF) == seg.size
    earlier = AS_OF - datetime.timedelta(days=20)
    seg.refresh(as_of=earlier)
    assert seg.size == size(ws, BUYERS, earlier) != size(ws, BUYERS)
    assert ws.estimate(rule, as_of=AS_OF) == seg.size
    assert not ws.ctx._count_sql


def test_the_kept_queries_are_bounded(store_ws, monkeypatch):
    ws = store_ws
    monkeypatch.setattr("segnb.segments.context.COUNT_CACHE_SIZE", 2)
    for n in range(1, 5):
        ws.estimate(f"count(purchase, T-6..T) >= {n}", as_of=AS_OF)
    assert [key[0] for key in ws.ctx._count_sql] == [
        "count(purchase, T-6..T) >= 3",
        "count(purchase, T-6..T) >= 4",
    ]
