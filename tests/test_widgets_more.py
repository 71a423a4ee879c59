"""Upload, lookalike and prediction apps; the state contract on a warehouse with other names."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEMO_END, EDGE_CATALOG, EDGE_DAYS

pytest.importorskip("ipywidgets")

import segnb
from segnb.widgets import (
    LookalikeWizard,
    PredictWizard,
    SegmentBrowser,
    SegmentWizard,
    SetWizard,
    UploadWizard,
)

pytest_plugins = ("store_helpers",)

FAST = {"n_jobs": 1, "random_state": 0}


def test_upload_wizard_reports_matches_and_writes_the_unmatched(store_ws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = store_ws
    devices = (
        ws.catalog.table("users").select("device_id").limit(20).to_pandas()["device_id"].tolist()
    )
    body = "device_id\n" + "\n".join(devices + devices[:3] + ["d-nobody-1", "d-nobody-2"]) + "\n"
    app = UploadWizard(ws)
    app.state.name = "crm"
    assert app.create() is None and "File: choose" in app.state.error
    app.load(body.encode(), filename="crm.csv")
    app.state.id_type = "device_id"
    app.state.as_of = DEMO_END
    app.create_button.click()
    assert app.state.error == ""
    seg = ws.segment("crm")
    assert seg.method == "upload" and seg.size == 20
    r = app.state.report
    assert (r["matched"], r["unmatched"], r["duplicates"]) == (20, 2, 3) and "malformed" in r
    app.unmatched_button.click()
    unmatched = Path(app.state.unmatched_file).read_text().split()[1:]
    assert sorted(unmatched) == ["d-nobody-1", "d-nobody-2"]


def test_upload_of_no_known_ids_keeps_the_report_and_saves_nothing(store_ws, tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("user_id\n999999991\n999999992\n")
    app = UploadWizard(store_ws)
    app.load(path)
    app.state.name = "nobody"
    assert app.create() is None
    assert "none of the 2" in app.state.error and app.state.report["matched"] == 0
    assert store_ws.segment_names() == []


@pytest.fixture
def inputs(store_ws):
    ws = store_ws
    ws.from_table("everyone", table="users", id_column="user_id", as_of=DEMO_END)
    ws.create_segment("viewers", "count(view_product, T-13..T) >= 3", as_of=DEMO_END)
    ws.create_segment("few", "trade_cnt_7d >= 6", as_of=DEMO_END)
    return ws


def test_lookalike_wizard(inputs):
    ws = inputs
    app = LookalikeWizard(ws)
    app.training = FAST
    app.state.name, app.state.as_of = "lal", DEMO_END
    assert app.create() is None and "Seed: pick" in app.state.error
    app.state.seed, app.state.size = "viewers", 300
    assert app.state.seed_size == ws.segment("viewers").size
    seg = app.create()
    assert (
        seg is not None
        and ws.segment("lal").method == "lookalike"
        and ws.segment("lal").size == 300
    )


def test_predict_wizard_minimums_then_training(inputs):
    ws = inputs
    app = PredictWizard(ws)
    app.training = {**FAST, "importances": False}
    s = app.state
    s.name, s.as_of = "will_view", DEMO_END
    s.audience, s.positive = "everyone", "few"
    few = ws.segment("few").size
    assert s.counts["positive"] == few < 500
    assert f"Positive: {few:,} members; at least 500 are needed" in s.problems
    s.negative = "few"
    assert any("Negative" in p for p in s.problems)
    assert (
        app.create() is None and "at least 500" in s.error and "will_view" not in ws.segment_names()
    )
    s.negative, s.positive, s.model, s.tendency = "", "viewers", "logistic", "high_precision"
    s.horizon = 7
    assert s.problems == []
    app.create_button.click()
    assert s.error == "" and s.progress == app.steps
    seg = ws.segment("will_view")
    assert seg.method == "prediction" and seg.size > 0
    # the horizon goes to the engine as a horizon: a daily refresh trains 7 days before its own T
    assert s.evaluation["horizon_days"] == 7
    assert s.evaluation["feature_date_rule"] == "horizon=7 before as_of"
    assert s.evaluation["roc_auc"] > 0.6 and "ROC AUC" in app._evaluation.value
    roc = app._charts.children[0].children[0]
    assert "segnb-roc-curve" in roc._dom_classes
    assert roc.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"][0]["x"]


def test_the_state_contract_on_other_table_and_column_names(
    backend, ws_factory, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the upload keeps its file under ./uploads
    base = ws_factory()
    ws = segnb.Workspace(base.con, segnb.Catalog.load(EDGE_CATALOG, base.con))
    ws.open_store(
        base.schema + "_edge" if backend.name == "postgres" else "segnb_edge", owner="tester"
    )
    as_of = EDGE_DAYS[-1]
    rule = 'region in ("north", "south") and count(order, T-13..T) >= 1'
    app = SegmentWizard(ws)
    assert app.entity.name == "accounts"
    app.state.as_of = as_of
    app.state.rule = rule
    app.wait()
    assert [c.kind for c in app.groups[0]] == ["tag", "event"]
    assert app.state.estimate == ws.estimate(rule, as_of=as_of)
    app.state.name = "edge_rule"
    assert app.create() is not None and ws.segment("edge_rule").size == app.state.estimate
    app.state.name = ""
    assert app.create() is None and app.state.problems == ["Name: give the segment a name"]
    ws.create_segment("vips", "vip", as_of=as_of)
    sets = SetWizard(ws)
    sets.state.expression = "edge_rule | vips"
    sets.state.name = "edge_set"
    assert sets.create().size == ws.set_size("edge_rule | vips") == sets.wait().state.estimate
    browser = SegmentBrowser(ws)
    assert sorted(browser.state.names) == ["edge_rule", "edge_set", "vips"]
    browser.state.view = "list"
    browser.state.selected = "edge_set"
    assert "edge_rule | vips" in browser._details.children[0].value
    ids = ws.catalog.table("acct").select("acct_no").limit(5).to_pandas()["acct_no"].tolist()
    upload = UploadWizard(ws)
    upload.load("\n".join(["acct_no", *map(str, ids)]).encode(), filename="a.csv")
    upload.state.name = "edge_list"
    assert upload.create().size == 5 and upload.state.report["matched"] == 5
    if backend.name == "postgres":
        backend.con.raw_sql(f'DROP SCHEMA IF EXISTS "{base.schema}_edge" CASCADE').close()


class _SlowForTimers:
    """A lock a timer's thread takes only after a pause: the gap between taking a change and running it."""

    def __init__(self):
        import threading

        self._lock = threading.RLock()

    def __enter__(self):
        import threading
        import time

        if isinstance(threading.current_thread(), threading.Timer):
            time.sleep(0.3)
        self._lock.acquire()

    def __exit__(self, *exc):
        self._lock.release()


def test_wait_returns_only_after_a_run_a_timer_has_started():
    import time

    from segnb.widgets._base import Debounced

    done = []
    job = Debounced(lambda: done.append(True), 0.01, _SlowForTimers())
    job.call()  # a quiet spell: the timer's thread takes the change at once
    while job.pending:
        time.sleep(0.001)
    job.wait(5)
    assert done, "wait() returned while a run that had taken the change was still to come"
