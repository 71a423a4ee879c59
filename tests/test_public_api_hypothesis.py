"""Whatever a user passes to the public API, only segnb errors come out, and the store stays usable.

Random rule text (tokens of the language mixed with hostile characters: NUL,
lone surrogates, huge numbers, far dates), names, paths, ids and option values
go to the entry points of SPEC §5 on a real DuckDB warehouse.
"""

from __future__ import annotations

import contextlib
import shutil

import pytest
from conftest import DEMO_END
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segnb
from segnb.errors import SegnbError

AS_OF = str(DEMO_END)
TOKENS = [
    "count(", "sum(", "did(", "change(", "score(", "in_segment(", "purchase", "purchase.amount",
    "view_product", "city", "is_member", "age", "register_time", "trade_cnt_7d", "channel", ",",
    ")", "(", " and ", " or ", "not ", "=", "!=", ">=", "<", " in ", " between ", "T", "T-6",
    "T-6..T", "2025-03-01..2025-03-31", "9999-12-31", "0001-01-01", "99999999999999999999999",
    "1e308", "-0", "'Shenzhen'", '"x"', "'\x00'", "'\udcff'", "\x00", "\udcff", "#", "\n", " ",
    "where ", "industry", "@", "vip", "&", "|", "-", "..", "true", "false", "null", "`",
    "first(", "last(", "days_since(", "avg(", "min(", "max(", "distinct(", "active_days(",
    "purchase.industry", " then ", "add_cart", " within ", "1d", "2h", "30m", "0m", "99999999d",
]  # fmt: skip
HOSTILE = st.characters(codec=None, categories=None)  # every code point, lone surrogates too

rule_text = st.one_of(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map("".join),
    st.text(HOSTILE, max_size=40),
)
names = st.one_of(
    st.sampled_from(["vip", "buyers", "", " x", "a" * 200, "x\x00y", "\udcff", "`b`", "ü"]),
    st.text(HOSTILE, max_size=20),
)
values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(HOSTILE, max_size=20),
    st.sampled_from(["9999-12-31", "0001-01-01", "2025-02-30", "daily", "once", "public"]),
    st.lists(st.text(max_size=5), max_size=3),
)  # fmt: skip
EXAMPLES = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


@pytest.fixture(scope="module")
def ws(warehouse, tmp_path_factory):
    path = tmp_path_factory.mktemp("hypothesis") / "warehouse.duckdb"
    shutil.copy(warehouse, path)
    ws = segnb.connect(str(path), settings=segnb.Settings(owner="tester"))
    ws.create_segment("vip", "is_member", as_of=AS_OF)
    ws.create_segment("buyers", "did(purchase, T-6..T)", as_of=AS_OF)
    yield ws
    ws.con.disconnect()


def _only_segnb_errors(call):
    with contextlib.suppress(SegnbError):
        call()


def _still_usable(ws):
    assert ws.segment("vip").size > 0 and ws.estimate("vip & buyers", as_of=AS_OF) >= 0


@EXAMPLES
@given(rule=rule_text, as_of=st.one_of(st.just(AS_OF), values))
def test_rules(ws, rule, as_of):
    _only_segnb_errors(lambda: ws.estimate(rule, as_of=as_of))
    _only_segnb_errors(lambda: ws.sql(rule, as_of=AS_OF))


@EXAMPLES
@given(name=names, rule=rule_text)
def test_creating(ws, name, rule):
    def create():
        seg = ws.create_segment(name, rule, as_of=AS_OF)
        seg.delete()

    _only_segnb_errors(create)
    _only_segnb_errors(lambda: ws.combine(name, rule, as_of=AS_OF))
    _only_segnb_errors(lambda: ws.segment(name))
    _still_usable(ws)
    for seg in ws.segments():
        if seg.name not in ("vip", "buyers"):
            _only_segnb_errors(seg.delete)


@EXAMPLES
@given(
    option=st.sampled_from(
        ["group", "description", "refresh", "scenario", "tz", "expires", "time_sensitive",
         "email", "scope", "shared_with"]
    ),
    value=values,
)  # fmt: skip
def test_options(ws, option, value):
    def create():
        ws.create_segment("opt", "is_member", as_of=AS_OF, **{option: value}).delete()

    _only_segnb_errors(create)
    _only_segnb_errors(
        lambda: ws.segment("vip").redefine("is_member", as_of=AS_OF, **{option: value})
    )
    _only_segnb_errors(lambda: ws.segment("vip").extend(value))
    _still_usable(ws)


@EXAMPLES
@given(path=st.one_of(names, st.sampled_from(["x.csv", "x.parquet", "/no/such/dir/x.csv"])),
       id_=values, table=values, column=values)  # fmt: skip
def test_paths_ids_and_tables(ws, tmp_path_factory, path, id_, table, column):
    folder = tmp_path_factory.mktemp("out")
    seg = ws.segment("vip")
    target = path if str(path).startswith("/") else str(folder / str(path))
    _only_segnb_errors(lambda: seg.export(target))
    _only_segnb_errors(lambda: seg.export(str(folder / "m.csv"), columns=[path, path]))
    _only_segnb_errors(lambda: seg.verify(id_))
    _only_segnb_errors(lambda: ws.upload("up", target))
    _only_segnb_errors(lambda: ws.from_table("tb", table=table, id_column=column))
    _only_segnb_errors(lambda: ws.from_table("tq", query=table, id_column="user_id"))
    for name in ("up", "tb", "tq"):
        if name in ws.segment_names():
            ws.segment(name).delete()
    _still_usable(ws)
