"""Segments from rules and sets: versions, lifecycle, groups, listing, verify, export."""

from __future__ import annotations

import datetime

import pandas as pd
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from store_tools import AS_OF

from segnb.errors import (
    DuplicateNameError,
    InvalidValueError,
    RuleError,
    SegmentNotFoundError,
    SegmentStateError,
    StoreError,
    UnknownNameError,
)
from segnb.store import schema as schema_module
from segnb.store import versions as versions_module
from segnb.store.store import SCHEMA_VERSION, Store

BUYERS = "count(purchase, T-6..T) >= 1"
MEMBERS = "is_member"

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures


def ids(table) -> set:
    return set(table.to_pyarrow().column(0).to_pylist())


def test_create_rules_segment(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF, group="Q4", description="7d")
    assert seg.status == "active"
    assert seg.size == ws.estimate(BUYERS, as_of=AS_OF) > 0
    assert ids(seg.members()) == ids(ws.members(BUYERS, as_of=AS_OF))
    assert seg.members().columns == ("user_id",)
    assert "SELECT" in seg.sql.upper()
    d = seg.to_dict()
    assert d["group"] == "Q4" and d["method"] == "rules" and d["text"] == BUYERS
    assert d["owner"] == "tester" and d["version"] == 1 and d["as_of"] == AS_OF
    assert d["refresh"] == "once" and d["scope"] == "public" and d["timezone"] == "UTC"
    assert "'buyers' active" in repr(seg) and "version 1" in repr(seg)
    history = seg.history()
    assert list(history.index) == [1] and int(history["size"].iloc[0]) == seg.size
    assert ws.segment("buyers") == seg
    assert "Q4" in ws.groups


def test_refresh_writes_a_new_version(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    first = ids(seg.members())
    earlier = AS_OF - datetime.timedelta(days=10)
    seg.refresh(as_of=earlier)
    assert seg.version == 2
    assert ids(seg.members()) == ids(ws.members(BUYERS, as_of=earlier))
    history = seg.history()
    assert list(history.index) == [1, 2]
    assert list(history["current"]) == [False, True]
    assert list(history["as_of"]) == [AS_OF, earlier]
    assert int(history["size"].iloc[0]) == len(first)
    assert list(seg.runs()["status"]) == ["succeeded", "succeeded"]


def test_old_member_tables_are_dropped_but_history_kept(ws_factory):
    ws = ws_factory(keep_versions=2)
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    for days in (1, 2, 3):
        seg.refresh(as_of=AS_OF - datetime.timedelta(days=days))
    history = seg.history()
    assert list(history.index) == [1, 2, 3, 4]
    assert list(history["members"]) == ["pruned", "pruned", "kept", "kept"]
    tables = set(ws.store.data.names())
    assert f"segnb_m_{seg.id}_1" not in tables and f"segnb_m_{seg.id}_4" in tables


def test_failed_refresh_keeps_last_good_version(store_ws, monkeypatch):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    before = ids(seg.members())

    def boom(stage):
        if stage == "members_written":
            raise RuntimeError("disk full")

    monkeypatch.setattr(versions_module, "checkpoint", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        seg.refresh(as_of=AS_OF - datetime.timedelta(days=5))
    assert seg.status == "failed" and "disk full" in seg.error
    assert seg.version == 1 and ids(seg.members()) == before
    assert list(seg.runs()["status"]) == ["succeeded", "failed"]
    assert len(seg.history()) == 1
    assert f"segnb_m_{seg.id}_2" not in ws.store.data.names()
    with pytest.raises(SegmentStateError, match="failed"):
        ws.combine("c", "buyers | buyers")
    monkeypatch.undo()
    seg.refresh(as_of=AS_OF)
    assert seg.status == "active" and seg.error is None and seg.version == 2


def test_bad_input_writes_nothing(store_ws):
    ws = store_ws
    with pytest.raises(UnknownNameError) as err:
        ws.create_segment("x", rules="cty = 'Shenzhen'", as_of=AS_OF)
    assert err.value.suggestion == "city"
    bad = [
        dict(refresh="hourly"),
        dict(scenario="spam"),
        dict(email="not-an-address"),
        dict(expires="2001-01-01"),
        dict(expires="next week"),
        dict(time_sensitive=True),
        dict(scope="secret"),
        dict(scope="shared"),
    ]
    for kw in bad:
        with pytest.raises(InvalidValueError):
            ws.create_segment("x", rules=BUYERS, as_of=AS_OF, **kw)
    with pytest.raises(InvalidValueError):
        ws.create_segment(" x", rules=BUYERS, as_of=AS_OF)
    assert list(ws.segments()) == []
    ws.create_segment("x", rules=BUYERS, as_of=AS_OF, scenario="messages/ad delivery")
    assert ws.segment("x").to_dict()["scenario"] == "delivery"
    with pytest.raises(DuplicateNameError, match="already exists"):
        ws.create_segment("x", rules=MEMBERS, as_of=AS_OF)
    with pytest.raises(SegmentNotFoundError, match="did you mean 'x'"):
        ws.segment("X")


def test_in_segment_compiles_against_the_store(store_ws):
    ws = store_ws
    buyers = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    seg = ws.create_segment("buyer_members", rules="in_segment(buyers) and is_member", as_of=AS_OF)
    expected = ids(buyers.members()) & ids(ws.members(MEMBERS, as_of=AS_OF))
    assert ids(seg.members()) == expected
    outside = ws.create_segment("others", rules="not in_segment(buyers)", as_of=AS_OF)
    assert ids(outside.members()).isdisjoint(ids(buyers.members()))
    with pytest.raises(UnknownNameError) as err:
        ws.create_segment("y", rules="in_segment(buyer)", as_of=AS_OF)
    assert err.value.suggestion == "buyers"
    # the unsaved faces resolve in_segment() through the store too
    rule = "in_segment(buyers) and is_member"
    assert ws.estimate(rule, as_of=AS_OF) == len(expected)
    assert ids(ws.members(rule, as_of=AS_OF)) == expected
    assert "in_segment(" not in ws.sql(rule, as_of=AS_OF)
    with pytest.raises(UnknownNameError, match="did you mean 'buyers'"):
        ws.estimate("in_segment(buyer)", as_of=AS_OF)
    assert ws.estimate("buyers & buyer_members") == len(expected)


def test_segment_sets(store_ws):
    ws = store_ws
    a = ids(ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF).members())
    b = ids(ws.create_segment("members", rules=MEMBERS, as_of=AS_OF).members())
    c = ids(ws.create_segment("shenzhen", rules="city = 'Shenzhen'", as_of=AS_OF).members())
    cases = {
        "buyers & members": a & b,
        "buyers | members": a | b,
        "buyers - members": a - b,
        "(buyers | shenzhen) & members - buyers": ((a | c) & b) - a,
        "buyers - (members | shenzhen)": a - (b | c),
    }
    for i, (expr, expected) in enumerate(cases.items()):
        seg = ws.combine(f"combo{i}", expr)
        assert seg.method == "sets"
        assert ids(seg.members()) == expected, expr
        assert ws.set_size(expr) == len(expected), expr
    seg = ws.create_segment("via_rules", rules="buyers & members")
    assert seg.method == "sets" and seg.size == len(a & b)
    matrix = ws.overlap(["buyers", "members", "shenzhen"])
    assert matrix.loc["buyers", "buyers"] == len(a)
    assert matrix.loc["buyers", "members"] == matrix.loc["members", "buyers"] == len(a & b)
    assert matrix.loc["members", "shenzhen"] == len(b & c)
    with pytest.raises(UnknownNameError) as err:
        ws.combine("bad", "buyers & member")
    assert err.value.suggestion == "members"
    with pytest.raises(UnknownNameError, match="unknown segment 'buyers2'"):
        ws.combine("buyers2", "buyers2 | buyers")  # not yet a segment: no self-reference


def test_sets_refresh_follow_their_inputs(store_ws):
    ws = store_ws
    buyers = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    ws.create_segment("members", rules=MEMBERS, as_of=AS_OF)
    combo = ws.combine("combo", "buyers - members")
    buyers.refresh(as_of=AS_OF - datetime.timedelta(days=9))
    combo.refresh()
    expected = ids(buyers.members()) - ids(ws.segment("members").members())
    assert ids(combo.members()) == expected


def test_expiry_and_extend(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF, expires="2999-01-01")
    assert seg.expires_at == datetime.date(2999, 1, 1)
    ws.store.update("segments", {"id": seg.id}, {"expires_at": datetime.date(2020, 1, 1)})
    assert seg.status == "expired"
    assert ws.segments(status="expired") == [seg]
    with pytest.raises(SegmentStateError, match="expired"):
        ws.combine("c", "buyers | buyers")
    with pytest.raises(SegmentStateError, match="expired"):
        ws.plans.create("p", segment="buyers", channel="sms")
    with pytest.raises(SegmentStateError, match="expired"):
        seg.refresh()
    with pytest.raises(InvalidValueError, match="past"):
        seg.extend(expires="2020-06-01")
    seg.extend(expires="2999-06-01")
    assert seg.status == "active" and seg.expires_at == datetime.date(2999, 6, 1)
    seg.extend(expires=None)
    assert seg.expires_at is None


def test_time_sensitive_daily_refuses_stale_versions(store_ws):
    ws = store_ws
    seg = ws.create_segment(
        "fresh", rules=MEMBERS, as_of=AS_OF, refresh="daily", time_sensitive=True
    )
    assert seg.due and not ws.create_segment("once", rules=MEMBERS, as_of=AS_OF).due
    with pytest.raises(SegmentStateError, match="time-sensitive"):
        seg.members()
    with pytest.raises(SegmentStateError, match="time-sensitive"):
        seg.export("/tmp/never.csv")
    seg.refresh()  # as of today
    assert seg.members().count().execute() == seg.size
    assert not seg.due and seg.to_dict()["due"] is False


def test_groups(store_ws):
    ws = store_ws
    ws.groups.create("Q4", description="fourth quarter")
    with pytest.raises(DuplicateNameError):
        ws.groups.create("Q4")
    ws.create_segment("a", rules=BUYERS, as_of=AS_OF, group="Q4")
    ws.create_segment("b", rules=MEMBERS, as_of=AS_OF, group="Q4")
    ws.create_segment("c", rules=MEMBERS, as_of=AS_OF)
    assert [s.name for s in ws.segments(group="Q4")] == ["a", "b"]
    ws.groups.rename("Q4", "Q4 2026")
    assert [s.name for s in ws.segments(group="Q4 2026")] == ["a", "b"]
    frame = ws.groups.list()
    assert dict(zip(frame["name"], frame["segments"], strict=True)) == {
        "Default Group": 1,
        "Q4 2026": 2,
    }
    assert ws.groups.delete("Q4 2026") == 2
    assert {s.group for s in ws.segments()} == {"Default Group"}
    with pytest.raises(InvalidValueError, match="default group"):
        ws.groups.delete("Default Group")
    with pytest.raises(SegmentNotFoundError, match="did you mean"):
        ws.groups.rename("default group", "x")


def test_listing_filters(store_ws):
    ws = store_ws
    ws.create_segment("active_buyers", rules=BUYERS, as_of=AS_OF, description="bought lately")
    ws.create_segment("members", rules=MEMBERS, as_of=AS_OF)
    ws.combine("both", "active_buyers & members")
    assert [s.name for s in ws.segments(search="BUY")] == ["active_buyers"]
    assert [s.name for s in ws.segments(search="lately")] == ["active_buyers"]
    assert [s.name for s in ws.segments(method="sets")] == ["both"]
    assert len(ws.segments(status="active")) == 3
    frame = ws.segments().to_frame()
    assert list(frame["name"]) == ["active_buyers", "both", "members"]
    assert set(frame["status"]) == {"active"}


def test_expose_scope(ws_factory):
    alice = ws_factory(owner="alice")
    alice.create_segment("mine", rules=MEMBERS, as_of=AS_OF, scope="private")
    alice.create_segment("ours", rules=MEMBERS, as_of=AS_OF, shared_with=["bob"])
    alice.create_segment("all", rules=MEMBERS, as_of=AS_OF)
    bob, carol = ws_factory(owner="bob"), ws_factory(owner="carol")
    assert [s.name for s in alice.segments()] == ["all", "mine", "ours"]
    assert [s.name for s in bob.segments()] == ["all", "ours"]
    assert [s.name for s in carol.segments()] == ["all"]
    with pytest.raises(SegmentNotFoundError, match=r"^no segment named 'mine' \(ws.segments"):
        carol.segment("mine")
    with pytest.raises(SegmentStateError, match="alice"):
        bob.segment("ours").delete()


def test_verify(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    member = sorted(ids(seg.members()))[0]
    seg.refresh(as_of=AS_OF)
    check = seg.verify(member)
    assert check.member and check.since_version == 1 and check.version == 2
    assert bool(seg.verify(str(member)))
    others = ids(ws.members("not " + BUYERS.replace(">= 1", ">= 1"), as_of=AS_OF))
    outsider = sorted(ids(ws.members("count(purchase, T-6..T) = 0", as_of=AS_OF)))[0]
    assert outsider not in ids(seg.members()) and others is not None
    assert not seg.verify(outsider) and seg.verify(outsider).known
    assert not seg.verify(10**12).known
    with pytest.raises(InvalidValueError, match="whole numbers"):
        seg.verify("abc")
    assert seg.verify(member).to_dict()["since_as_of"] == AS_OF


def test_export(store_ws, tmp_path):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    path = seg.export(tmp_path / "out.parquet", columns=["device_id", "channel"])
    table = pq.read_table(path)
    assert table.column_names == ["user_id", "device_id", "channel"]
    assert set(table.column("user_id").to_pylist()) == ids(seg.members())
    csv = pacsv.read_csv(seg.export(tmp_path / "out.csv"))
    assert csv.column_names == ["user_id"] and csv.num_rows == seg.size
    with pytest.raises(InvalidValueError, match="did you mean 'device_id'"):
        seg.export(tmp_path / "x.csv", columns=["devce_id"])
    with pytest.raises(InvalidValueError, match=r"\.csv or \.parquet"):
        seg.export(tmp_path / "x.json")
    with pytest.raises(InvalidValueError, match="does not exist"):
        seg.export(tmp_path / "nowhere" / "x.csv")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_plans_and_delete(store_ws, tmp_path):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF, expires="2999-01-01")
    with pytest.raises(SegmentStateError, match="before the plan ends"):
        ws.plans.create("too long", segment="buyers", channel="sms", ends="2999-02-01")
    plan = ws.plans.create("xmas push", segment="buyers", channel="sms", ends="2998-12-24")
    assert plan["status"] == "running" and plan["segment"] == "buyers"
    with pytest.raises(DuplicateNameError):
        ws.plans.create("xmas push", segment="buyers", channel="sms", ends="2998-12-24")
    with pytest.raises(SegmentStateError, match="xmas push"):
        seg.extend(expires="2998-01-01")
    with pytest.raises(SegmentStateError, match="unfinished operation plan"):
        seg.delete()
    out = ws.plans.export("xmas push", tmp_path)
    assert out.parent.name == "sms" and out.name.startswith("xmas_push-")
    assert pacsv.read_csv(out).num_rows == seg.size
    assert list(ws.plans.list()["name"]) == ["xmas push"]
    ws.plans.finish("xmas push")
    assert ws.plans.get("xmas push")["status"] == "finished"
    seg_id = seg.id
    seg.delete()
    with pytest.raises(SegmentNotFoundError):
        ws.segment("buyers")
    log = ws.deleted()
    assert list(log["name"]) == ["buyers"] and log["deleted_by"][0] == "tester"
    assert not [t for t in ws.store.data.names() if t.startswith(f"segnb_m_{seg_id}_")]
    again = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    assert again.id != seg_id
    ws.plans.delete("xmas push")
    assert ws.plans.list().empty
    with pytest.raises(SegmentNotFoundError, match="no operation plan"):
        ws.plans.finish("xmas push")


def test_delete_refused_while_used_by_another_segment(store_ws):
    ws = store_ws
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    ws.create_segment("members", rules=MEMBERS, as_of=AS_OF)
    ws.create_segment("r", rules="in_segment(buyers) and is_member", as_of=AS_OF)
    ws.combine("c", "members - buyers")
    with pytest.raises(
        SegmentStateError, match=r"'c' \(through set input\), 'r' \(through in_segment\)"
    ):
        ws.segment("buyers").delete()
    ws.segment("r").delete()
    ws.segment("c").delete()
    ws.segment("buyers").delete()
    assert [s.name for s in ws.segments()] == ["members"]


def test_store_schema_version(store_ws):
    ws = store_ws
    assert ws.store.schema_version == SCHEMA_VERSION
    again = Store(
        ws.con, ws.catalog, ws.schema, location=ws.ctx.settings.store_location
    )  # opening twice changes nothing
    assert again.schema_version == SCHEMA_VERSION
    ws.store.insert(
        "schema", {"version": SCHEMA_VERSION + 1, "applied_at": None, "segnb_version": "9"}
    )
    with pytest.raises(StoreError, match="newer"):
        Store(ws.con, ws.catalog, ws.schema, location=ws.ctx.settings.store_location)
    with pytest.raises(StoreError, match="plain name"):
        Store(ws.con, ws.catalog, "bad schema;", location=ws.ctx.settings.store_location)


def test_refresh_of_rules_rechecks_names(store_ws):
    ws = store_ws
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    seg = ws.create_segment("r", rules="in_segment(buyers)", as_of=AS_OF)
    ws.store.update("segments", {"name": "buyers"}, {"status": "failed", "error": "x"})
    with pytest.raises(SegmentStateError, match="buyers"):
        seg.refresh()
    assert seg.status == "failed" and "buyers" in seg.error
    assert seg.size == len(ids(seg.members()))
    assert isinstance(seg.history(), pd.DataFrame)
    with pytest.raises(RuleError):
        ws.create_segment("z", rules="count(purchase, T..T-3) > 1", as_of=AS_OF)


def test_read_only_warehouse_without_store(duckdb_backend):
    from segnb.workspace import Workspace

    ws = Workspace(duckdb_backend.con, duckdb_backend.catalog)  # opened read-only
    with pytest.raises(StoreError, match=r"no segment store .* read-only"):
        ws.segments()


def test_sql_of_every_method_and_the_resolver(store_ws, tmp_path):
    from segnb.compile.rules import compile_rule
    from segnb.lang.parse import parse_rule

    ws = store_ws
    buyers = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    ws.create_segment("members", rules=MEMBERS, as_of=AS_OF)
    combo = ws.combine("combo", "buyers - members")
    path = tmp_path / "ids.csv"
    path.write_text("user_id\n" + "\n".join(str(i) for i in sorted(ids(buyers.members()))[:5]))
    listed = ws.upload("listed", path)
    for seg in (buyers, combo, listed):
        assert "SELECT" in seg.sql.upper(), seg.name
    assert "EXCEPT" in combo.sql.upper()
    assert ws.segment_names() == ["buyers", "combo", "listed", "members"]
    tree = parse_rule("in_segment(buyers) and is_member", ws.catalog, segments=ws.segment_names())
    expr = compile_rule(tree, ws.catalog, as_of=AS_OF, resolver=ws.segment_resolver())
    assert ids(expr) == ids(buyers.members()) & ids(ws.members(MEMBERS, as_of=AS_OF))


def test_store_migrates_an_older_layout(store_ws, monkeypatch):
    ws = store_ws
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    later = {
        **schema_module.MIGRATIONS,
        SCHEMA_VERSION + 1: ["ALTER TABLE {t:segments} ADD COLUMN tags TEXT"],
    }
    monkeypatch.setattr(schema_module, "MIGRATIONS", later)
    monkeypatch.setattr(schema_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = Store(ws.con, ws.catalog, ws.schema, location=ws.ctx.settings.store_location)
    assert store.schema_version == SCHEMA_VERSION + 1
    columns = ws.store.meta_table("segnb_segments").columns
    assert "tags" in columns
    assert ws.segment("buyers").size > 0  # the data came along


def test_redefine_keeps_id_options_and_history(store_ws, monkeypatch):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF, group="Q4", description="d")
    first_id = seg.id
    seg.redefine("count(purchase, T-6..T) >= 2", as_of=AS_OF)
    assert seg.id == first_id and seg.group == "Q4" and seg.to_dict()["description"] == "d"
    assert seg.text == "count(purchase, T-6..T) >= 2"
    assert ids(seg.members()) == ids(ws.members("count(purchase, T-6..T) >= 2", as_of=AS_OF))
    assert list(seg.history().index) == [1, 2]

    # a definition that fails to build leaves the old definition and version served
    from segnb.segments.builtin import RulesMethod

    def broken(*args, **kwargs):
        raise RuntimeError("warehouse went away")

    monkeypatch.setattr(RulesMethod, "build", broken)
    with pytest.raises(RuntimeError):
        seg.redefine("is_member", as_of=AS_OF)
    monkeypatch.undo()
    assert seg.text == "count(purchase, T-6..T) >= 2" and seg.version == 2
    assert seg.status == "failed"
    assert seg.refresh(as_of=AS_OF).status == "active" and seg.version == 3

    # a rules segment can become a sets segment, but not one built on itself
    ws.create_segment("members", rules=MEMBERS, as_of=AS_OF)
    both = ws.combine("both", "buyers & members", as_of=AS_OF)
    seg.redefine("members | members", as_of=AS_OF)
    assert seg.method == "sets"
    with pytest.raises(InvalidValueError, match="built on 'buyers'"):
        seg.redefine("in_segment(both)", as_of=AS_OF)
    with pytest.raises(InvalidValueError, match="cannot be made from itself"):
        seg.redefine("buyers & members", as_of=AS_OF)
    with pytest.raises(UnknownNameError):
        seg.redefine("cty = 'x'", as_of=AS_OF)
    assert both.refresh(as_of=AS_OF).size == ws.segment("members").size
