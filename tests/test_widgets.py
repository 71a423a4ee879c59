"""The widget apps driven through their state and buttons, asserting on the store (SPEC §4.1)."""

from __future__ import annotations

import datetime

import pytest
from store_tools import AS_OF

pytest.importorskip("ipywidgets")

from segnb.reports.charts import history_points
from segnb.widgets import SegmentBrowser, SegmentWizard, SetWizard, rule_warnings

pytest_plugins = ("store_helpers",)

LATER = datetime.date.today() + datetime.timedelta(days=200)
BUYERS = "count(purchase, T-6..T) >= 2 and not is_black_list"


def wizard(ws, **state):
    app = SegmentWizard(ws)
    app.state.as_of = AS_OF
    for key, value in state.items():
        setattr(app.state, key, value)
    return app.wait()


def test_rule_text_fills_the_form_and_the_form_rewrites_it(store_ws):
    ws = store_ws
    app = wizard(ws, rule='city in ("Shenzhen", "Guangzhou") and trade_cnt_7d >= 2 or ' + BUYERS)
    assert [len(g) for g in app.groups] == [2, 2]
    city, trade = app.groups[0]
    assert (city.kind, city.name, city.op, city.values) == (
        "tag",
        "city",
        "in",
        ["Shenzhen", "Guangzhou"],
    )
    assert (trade.type, trade.op, trade.value) == ("number", ">=", 2)
    count, black = app.groups[1]
    assert (count.kind, count.measure, count.name, count.days) == ("event", "count", "purchase", 7)
    assert (black.name, black.value) == ("is_black_list", False)
    assert app.state.estimate == ws.estimate(app.state.rule, as_of=AS_OF)
    assert app.state.share == pytest.approx(app.state.estimate / 3000)
    assert app.state.sql.lstrip().upper().startswith(("SELECT", "WITH"))
    trade.value = 3.0  # editing the form rewrites the rule and the estimate
    app.wait()
    assert "trade_cnt_7d >= 3" in app.state.rule
    assert app.state.estimate == ws.estimate(app.state.rule, as_of=AS_OF)
    app.remove_condition(count)
    app.wait()
    assert (
        app.state.rule
        == 'city in ("Shenzhen", "Guangzhou") and trade_cnt_7d >= 3 or is_black_list = false'
    )


def test_the_form_builds_a_segment_with_every_field(store_ws):
    ws = store_ws
    app = wizard(ws)
    city = app.add_condition("tag")
    city.name = "city"
    assert (city.type, city.op) == ("enum", "in")
    city.values = ["Shenzhen"]
    buys = app.add_condition("event", name="purchase", measure="count", days=30, op=">=", value=1)
    buys.where_field, buys.where_value = "industry", "Food & Beverages"
    group = app.add_group()
    app.add_condition("attribute", group=1, name="is_member", type="boolean", op="=", value=True)
    assert group
    app.wait()
    rule = ('city in ("Shenzhen") and count(purchase where industry = "Food & Beverages", '
            "T-29..T) >= 1 or is_member = true")  # fmt: skip
    assert app.state.rule == rule
    before = app.state.estimate
    assert before == ws.estimate(rule, as_of=AS_OF) > 0
    s = app.state
    s.name, s.group, s.description = "sz_food", "Q4", "Shenzhen food buyers or members"
    s.refresh, s.scenario, s.expires, s.email = "daily", "delivery", LATER, "team@example.com"
    app.create_button.click()
    assert s.error == "" and "active" in s.status
    seg = ws.segment("sz_food")
    d = seg.to_dict()
    assert (d["text"], d["size"], d["group"], d["refresh"]) == (rule, before, "Q4", "daily")
    assert (d["scenario"], d["expires_at"], d["email"]) == ("delivery", LATER, "team@example.com")
    assert d["description"] == "Shenzhen food buyers or members"


def test_mistakes_are_shown_and_nothing_is_saved(store_ws):
    ws = store_ws
    ws.create_segment("taken", "is_member", as_of=AS_OF)
    app = wizard(ws, rule=BUYERS)
    assert app.create() is None
    assert app.state.problems == ["Name: give the segment a name"]
    assert "give the segment a name" in app._message.value
    app.state.name = "taken"
    app.state.expires = "2001-01-01"
    app.state.email = "not-an-address"
    assert app.create() is None
    text = "\n".join(app.state.problems)
    assert "'taken' already exists" in text and "2001-01-01 is in the past" in text
    assert "not an address" in text
    app.state.rule = "cty = 1"  # a wrong rule: the error names it, the form keeps the old rule
    assert "'cty' is not a tag" in app.state.error and "did you mean 'city'" in app.state.error
    app.state.name, app.state.expires, app.state.email = "fresh", None, ""
    assert app.create() is None and any("'cty' is not a tag" in p for p in app.state.problems)
    app.add_condition("tag")  # an incomplete condition blocks Create
    app.state.rule = BUYERS
    app.add_condition("tag")
    assert app.create() is None and any("pick a tag" in p for p in app.state.problems)
    assert ws.segment_names() == ["taken"]


def test_misspelt_enum_values_warn_with_did_you_mean(store_ws):
    ws = store_ws
    app = wizard(ws, rule='city = "Shenzen"')
    assert app.state.estimate == 0
    assert app.state.warnings == [
        "city: no users have the value 'Shenzen'; did you mean 'Shenzhen'?"
    ]
    assert "did you mean" in app._warnings.value
    assert rule_warnings(ws, 'channel in ("ads", "organik")')[0].endswith("did you mean 'organic'?")
    assert rule_warnings(ws, 'city = "Shenzhen"') == []


def test_loading_a_segment_and_the_combination_step(store_ws):
    ws = store_ws
    ws.create_segment("buyers", BUYERS, as_of=AS_OF, group="Q4", description="buyers")
    ws.create_segment("members", "is_member", as_of=AS_OF)
    app = wizard(ws)
    app.load("buyers")
    app.wait()
    assert app.state.rule == BUYERS and app.state.group == "Q4" and app.state.name == ""
    assert [c.kind for c in app.groups[0]] == ["event", "tag"]
    app.state.name = "buyers2"
    app.state.combine_op, app.state.combine_with = "&", "members"
    app.copy_fields()
    assert app.state.combine_name == "buyers2_and_members"
    seg = app.create()
    assert seg.name == "buyers2"
    combo = ws.segment("buyers2_and_members")
    assert combo.method == "sets" and combo.size == ws.set_size("buyers2 & members")
    assert combo.group == "Q4"


def test_set_wizard(store_ws):
    ws = store_ws
    ws.create_segment("buyers", BUYERS, as_of=AS_OF)
    ws.create_segment("members", "is_member", as_of=AS_OF)
    app = SetWizard(ws)
    app.append("buyers")
    app.segment_box.value, app.op_box.value = "members", "-"
    app.append_button.click()
    app.wait()
    assert app.state.expression == "buyers - members"
    assert app.state.estimate == ws.set_size("buyers - members")
    app.state.expression = "buyers & nobody"
    app.wait()
    assert "nobody" in app.state.error and app.state.estimate is None
    app.state.expression = "buyers | members"
    app.state.name = "either"
    app.create_button.click()
    assert ws.segment("either").size == ws.set_size("buyers | members")


def test_browser_filters_views_and_actions(store_ws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = store_ws
    ws.groups.create("Q4")
    ws.create_segment("buyers", BUYERS, as_of=AS_OF, group="Q4", refresh="daily")
    ws.create_segment("members", "is_member", as_of=AS_OF)
    ws.combine("loyal", "buyers & members", as_of=AS_OF)
    app = SegmentBrowser(ws)
    s = app.state
    assert s.names == ["buyers", "members", "loyal"] or sorted(s.names) == [
        "buyers",
        "loyal",
        "members",
    ]
    assert len(app._results.children) == 3 and all(
        "segnb-card" in c._dom_classes for c in app._results.children
    )
    s.view = "list"
    assert all("segnb-row" in c._dom_classes for c in app._results.children)
    s.search = "buy"
    assert s.names == ["buyers"]
    s.search, s.method = "", "sets"
    assert s.names == ["loyal"]
    s.method, s.group = "", "Q4"
    assert s.names == ["buyers"]
    app._results.children[0].children[0].click()  # "open"
    assert s.selected == "buyers" and "count(purchase" in app._details.children[0].value
    history = next(c for c in app._details.children if "segnb-size-history" in c._dom_classes)
    spec = history.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    days = [p[0].isoformat() for p in history_points(ws.segment("buyers"))]
    assert [x[:10] for x in spec["data"][0]["x"]] == days  # by date, as in the report
    s.as_of = AS_OF
    app.refresh_button.click()
    assert s.error == "" and ws.segment("buyers").version == 2
    app.export_button.click()
    assert app.exported.exists() and "segnb-export-link" in app._result.value
    assert app.exported.read_text().count("\n") == ws.segment("buyers").size + 1  # a header line
    member = int(ws.segment("buyers").members().limit(1).to_pandas().iloc[0, 0])
    s.verify_id = str(member)
    app.verify_button.click()
    assert bool(app.verification) and "is in buyers" in s.result
    s.extend_to = LATER
    app.extend_button.click()
    assert ws.segment("buyers").expires_at == LATER
    s.plan_name, s.plan_channel, s.plan_ends = "xmas", "sms", LATER
    app.plan_button.click()
    assert ws.plans.get("xmas")["segment"] == "buyers"
    s.group, s.selected = "", "members"
    app.delete_button.click()
    assert s.confirm.startswith("Delete segment 'members' (id ") and "members" in ws.segment_names()
    app.cancel_button.click()
    assert s.confirm == "" and "members" in ws.segment_names()
    s.selected = "buyers"
    app.delete_button.click()
    app.confirm_button.click()  # refused: a plan and a set use it
    assert s.error and "buyers" in ws.segment_names()
    # groups: add, rename, delete with a confirmation
    s.group_name = "Spring"
    app.add_group_button.click()
    assert "Spring" in list(ws.groups)
    s.group, s.group_name = "Q4", "Q4 2026"
    app.rename_group_button.click()
    assert s.group == "Q4 2026" and ws.segment("buyers").group == "Q4 2026"
    app.delete_group_button.click()
    assert "1 segment(s) move" in s.confirm
    app.confirm_button.click()
    assert "Q4 2026" not in list(ws.groups) and ws.segment("buyers").group == ws.groups.default


def test_browser_delete_names_id_and_name(store_ws):
    ws = store_ws
    seg = ws.create_segment("gone", "is_member", as_of=AS_OF)
    app = SegmentBrowser(ws)
    app.state.selected = "gone"
    app.delete_button.click()
    assert f"'gone' (id {seg.id})" in app._confirm_text.value.replace("&#x27;", "'")
    app.confirm_button.click()
    assert "gone" not in ws.segment_names() and app.state.names == []


def test_live_estimates_reuse_the_ids_of_unchanged_conditions(store_ws):
    """Each change counts what the rule's own query counts, also where kept ids are reused."""
    ws = store_ws
    app = wizard(ws, rule='city in ("Shenzhen", "Shanghai") and trade_cnt_7d >= 1 '
                          "and count(purchase, T-13..T) >= 1 or not is_black_list and age >= 60")  # fmt: skip
    assert app.state.estimate == ws.estimate(app.state.rule, as_of=AS_OF)
    kept = len(app._live.tables)
    assert kept == 5  # every condition's ids, once the estimate was shown
    city, trade, buys = app.groups[0]
    for change in (lambda: setattr(trade, "value", 3.0),        # a tag: only it runs again
                   lambda: setattr(city, "values", ["Shanghai"]),
                   lambda: setattr(buys, "days", 30),           # behaviour: the rule's own query
                   lambda: setattr(trade, "value", 1.0),
                   lambda: setattr(app.groups[1][1], "value", 40.0)):  # fmt: skip
        change()
        app.wait()
        assert app.state.estimate == ws.estimate(app.state.rule, as_of=AS_OF), app.state.rule
    assert len(app._live.tables) > kept
    names = [t.get_name() for t in app._live.tables.values()]
    app._live.close()
    assert app._live.tables == {} and not set(names) & set(ws.con.list_tables())
