"""Lookalike and AI prediction segments in the store, on every backend (SPEC §2, §5)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DEMO_END, DEMO_USERS

from segnb.errors import SegnbError, UnknownNameError
from segnb.models.api import SampleSizeError
from segnb.models.saved import ModelVersionError
from segnb.reports.page import SegmentReport
from segnb.segments.registry import get_method, method_names

pytest_plugins = ("store_helpers",)

FAST = {"n_jobs": 1, "progress": False, "random_state": 0}
POSITIVE = "count(view_product, T-13..T) >= 3"


def _frame(table, id_column="user_id"):
    return table.to_pyarrow().to_pandas().set_index(id_column).sort_index()


def _model_rows(ws, segment_id):
    return ws.store.select("models", {"segment_id": segment_id}, columns=("version", "model"))


@pytest.fixture
def inputs(store_ws):
    ws = store_ws
    ws.from_table("everyone", table="users", id_column="user_id", as_of=DEMO_END)
    ws.create_segment("viewers", POSITIVE, as_of=DEMO_END)
    ws.create_segment("members", "is_member", as_of=DEMO_END)
    return ws


def test_methods_come_from_entry_points():
    assert {"lookalike", "prediction"} <= set(method_names())
    assert type(get_method("prediction")).__module__ == "segnb.models.segments"
    with pytest.raises(SegnbError, match=r"no segment method 'predicton' is installed; did you"):
        get_method("predicton")


def test_prediction_segment(inputs):
    ws = inputs
    seg = ws.predict("will_view", audience="everyone", positive="viewers",
                     model="logistic", as_of=DEMO_END, importances=False, **FAST)  # fmt: skip
    assert seg.method == "prediction" and seg.status == "active"
    e = seg.evaluation()
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "threshold", "counts"):
        assert key in e, key
    assert e["counts"]["audience"] == DEMO_USERS and e["roc_auc"] > 0.6
    # forecast mode: the positive's rule reads T-13..T, so the features describe the day before
    # and keep the label's own history (view_product) up to it
    assert e["mode"] == "forecast" and e["feature_date"] == "2025-03-17"
    assert e["label_window"] == ["2025-03-18", "2025-03-31"]
    assert "view_product" in e["label_history"] and "view_product" not in e["excluded"]
    bt = seg.backtest()
    assert bt["available"] and bt["trained_on"] == "2025-03-03" and bt["roc_auc"] > 0.6
    assert 0 <= bt["brier"] <= 1 and sum(r["weight"] for r in bt["reliability"]) > 0
    # the report shows the backtest and its calibration
    section = SegmentReport(ws, "will_view").model()
    assert section.data["backtest"] == bt and "Backtest" in section.html
    assert section.html.count("<tr>") >= len(bt["reliability"]) and "observed rate" in section.html
    scores = _frame(seg.scores())
    assert len(scores) == DEMO_USERS and scores["score"].between(0, 1).all()
    members = set(seg.members().to_pandas()["user_id"])
    want = set(scores.index[scores["score"] >= e["threshold"]])
    assert members == want and seg.size == len(want) > 0
    # score(name) in rules: the same as filtering the scores
    assert "will_view" in ws.score_names()
    got = set(ws.members("score(will_view) >= 0.5", as_of=DEMO_END).to_pandas()["user_id"])
    assert got == set(scores.index[scores["score"] >= 0.5])
    with pytest.raises(UnknownNameError, match=r"did you mean"):
        ws.parse("score(will_vew) >= 0.5")
    ws.create_segment("likely", "score(will_view) >= 0.5", as_of=DEMO_END)
    assert ws.segment("likely").size == len(got)

    # refresh re-scores with the stored model: same bytes, no new model row
    (first,) = _model_rows(ws, seg.id)
    seg.refresh(as_of="2025-03-24")
    assert seg.version == 2 and [r["version"] for r in _model_rows(ws, seg.id)] == [1]
    later = _frame(seg.scores())
    assert len(later) == DEMO_USERS and not np.allclose(later["score"], scores["score"])
    assert seg.evaluation() == e
    # retrain: a new model row, evaluation of the new training
    seg.refresh(as_of=DEMO_END, retrain=True)
    rows = _model_rows(ws, seg.id)
    assert [r["version"] for r in rows] == [1, 3]
    assert seg.evaluation()["as_of"] == DEMO_END.isoformat()
    assert np.allclose(_frame(seg.scores())["score"], scores["score"], atol=1e-9)
    assert bytes(first["model"]) == bytes(rows[0]["model"])

    # deleting (after the rule that uses its scores) removes the model rows and tables
    ws.segment("likely").delete()
    seg_id = seg.id
    tables = [v["scores_table"] for v in ws.store.version_rows(seg_id) if not v["dropped"]]
    assert len(tables) == 3 and all(tables)
    seg.delete()
    assert _model_rows(ws, seg_id) == []
    left = set(ws.store.data.names())
    assert not left & set(tables)


def test_lookalike_segment(inputs):
    ws = inputs
    seg = ws.lookalike("like_members", seed="members", size=300, as_of=DEMO_END,
                       validate=False, **FAST)  # fmt: skip
    assert seg.method == "lookalike" and seg.size == 300
    e = seg.evaluation()
    assert e["counts"]["size"] == 300 and "is_member" in e["excluded"]
    seeds = set(ws.segment("members").members().to_pandas()["user_id"])
    members = set(seg.members().to_pandas()["user_id"])
    assert not members & seeds
    scores = _frame(seg.scores())
    assert len(scores) == DEMO_USERS - len(seeds)
    top = scores.sort_values("score", ascending=False, kind="stable")
    assert members == set(top.index[top["score"] > top["score"].iloc[300]]) | (
        members & set(top.index[top["score"] == top["score"].iloc[300]])
    )
    # score(name) takes lookalikes too: the similarity of each non-seed entity, as a tag
    assert "like_members" in ws.score_names()
    cut = float(top["score"].iloc[100])
    got = set(ws.members(f"score(like_members) >= {cut!r}", as_of=DEMO_END).to_pandas()["user_id"])
    assert got == set(scores.index[scores["score"] >= cut]) and not got & seeds
    blob = bytes(_model_rows(ws, seg.id)[0]["model"])
    seg.refresh(as_of=DEMO_END)
    assert seg.size == 300 and [bytes(r["model"]) for r in _model_rows(ws, seg.id)] == [blob]
    assert set(seg.members().to_pandas()["user_id"]) == members
    with pytest.raises(SegnbError, match=r"is used by 'like_members'"):
        ws.segment("members").delete()


def test_inputs_are_checked(inputs):
    ws = inputs
    with pytest.raises(SegnbError, match=r"no segment named 'membres'; did you mean 'members'"):
        ws.lookalike("x", seed="membres", size=10, **FAST)
    with pytest.raises(SampleSizeError, match=r"the audience has [\d,]+ entities; at least 1,000"):
        ws.predict("x", audience="members", positive="viewers", **FAST)
    ws.from_table("few", query="SELECT user_id FROM users ORDER BY user_id LIMIT 348",
                  id_column="user_id", as_of=DEMO_END)  # fmt: skip
    with pytest.raises(
        SampleSizeError, match=r"the positive sample has 348 entities; at least 500"
    ):
        ws.predict("x", audience="everyone", positive="few", as_of=DEMO_END, **FAST)
    with pytest.raises(SegnbError, match=r"predict does not take n_job=; did you mean n_jobs="):
        ws.predict("x", audience="everyone", positive="viewers", n_job=1)
    assert "x" not in ws.segment_names()  # nothing was written


def test_model_from_another_sklearn(inputs, monkeypatch):
    ws = inputs
    seg = ws.predict("p", audience="everyone", positive="viewers", model="logistic",
                     as_of=DEMO_END, importances=False, **FAST)  # fmt: skip
    import sklearn

    monkeypatch.setattr(sklearn, "__version__", "0.0.1")
    with pytest.raises(ModelVersionError, match=r"trained with scikit-learn .* but this "
                       r"environment has scikit-learn 0\.0\.1.*retrain=True"):  # fmt: skip
        seg.refresh(as_of=DEMO_END)
    assert seg.status == "active" and seg.version == 1
    extra = json.loads(ws.store.version_row(seg.id, 1)["extra"])
    assert extra["model_version"] == 1 and extra["trained"]


def test_the_engine_never_imports_models():
    import ast
    import pathlib

    import segnb

    root = pathlib.Path(segnb.__file__).parent
    engine = ["lang", "catalog", "compile", "store", "segments", "analysis"]
    for path in [p for d in engine for p in (root / d).glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any(n.startswith("segnb.models") for n in names), path.name
