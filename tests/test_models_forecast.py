"""Forecast mode (SPEC §2): dates, history features against pandas, training and backtest on every backend."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from conftest import DEMO_END, EDGE_TZ
from models_oracle import assert_frames_close
from models_oracle import features as oracle_features

from segnb.errors import InvalidValueError
from segnb.lang.parse import parse_rule
from segnb.models._sampling import _training_rows
from segnb.models.api import predict
from segnb.models.features import build_features
from segnb.models.forecast import (
    earliest_day,
    outcome_metrics,
    parse_horizon,
    reliability,
    resolve_dates,
)
from segnb.models.kinds import HISTORY_KINDS
from segnb.workspace import Workspace

D = datetime.date
FAST = {"n_jobs": 1, "progress": False, "importances": False, "model": "logistic"}
BUYERS = "did(purchase, T-6..T)"
SCORES: dict[str, object] = {}


def _pulled(plan):
    return plan.table.to_pyarrow().to_pandas().set_index(plan.id).sort_index()


# -- dates ------------------------------------------------------------------------------


def test_horizons():
    assert parse_horizon("7d") == 7 and parse_horizon("39w") == 273 and parse_horizon(" 2W ") == 14
    assert parse_horizon(3) == 3 and parse_horizon(datetime.timedelta(days=5)) == 5
    assert parse_horizon("10") == 10  # a bare number is days
    for bad in ("7m", "0d", "-1d", True, 1.5, "d", datetime.timedelta(hours=5)):
        with pytest.raises(InvalidValueError, match="is not a horizon"):
            parse_horizon(bad)


def test_training_date_follows_the_positive_rule(schema_catalog):
    as_of = D(2025, 3, 31)

    def rule(text):
        return parse_rule(text, schema_catalog)

    assert earliest_day(rule("count(purchase, T-29..T-7) >= 1"), as_of) == D(2025, 3, 2)
    assert earliest_day(rule("change(trade_cnt_7d, T-7, T-1) > 0"), as_of) == D(2025, 3, 24)
    assert earliest_day(rule("city@2025-01-05 = 'Shenzhen'"), as_of) == D(2025, 1, 5)
    assert earliest_day(rule("is_member"), as_of) is None
    assert earliest_day(rule("city = 'Shenzhen'"), as_of) == as_of

    d = resolve_dates(as_of, positive_rules=[rule("did(purchase, T-6..T) and is_member")])
    assert (d.mode, d.feature_date, d.horizon) == ("forecast", D(2025, 3, 24), 7)
    assert d.label_window == (D(2025, 3, 25), as_of) and "earliest day" in d.why
    d = resolve_dates(as_of, horizon="2w", positive_rules=[rule("did(purchase, T-6..T)")])
    assert d.feature_date == D(2025, 3, 17) and d.label_window == (D(2025, 3, 25), as_of)
    d = resolve_dates(as_of, train_as_of=D(2025, 3, 1))  # a table of positives: no rule
    assert d.mode == "forecast" and d.label_window == (D(2025, 3, 2), as_of)
    for text in ("is_member", "city = 'Shenzhen'"):  # nothing read before as_of: look-alike
        d = resolve_dates(as_of, positive_rules=[rule(text)])
        assert d.mode == "lookalike" and d.feature_date == as_of
    d = resolve_dates(as_of, positive_rules=[rule(BUYERS)], mode="lookalike")
    assert d.mode == "lookalike" and d.describe()["mode"] == "look-alike"
    with pytest.raises(InvalidValueError, match="needs a training date"):
        resolve_dates(as_of, positive_rules=[rule("is_member")], mode="forecast")
    with pytest.raises(InvalidValueError, match="disagree"):
        resolve_dates(as_of, train_as_of=D(2025, 3, 20), horizon="7d")
    with pytest.raises(InvalidValueError, match="is after as_of"):
        resolve_dates(as_of, train_as_of=D(2025, 4, 2))
    with pytest.raises(InvalidValueError, match="mode='soon' is not one of"):
        resolve_dates(as_of, mode="soon")


def test_outcome_metrics_against_hand_counts():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 1])
    p = np.array([0.05, 0.15, 0.95, 0.85, 0.25, 0.55, 0.05, 0.35, 0.45, 0.75])
    m = outcome_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(1.0) and m["pr_auc"] == pytest.approx(1.0)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert m["lift_10"] == pytest.approx(1 / 0.4) and m["lift_20"] == pytest.approx(1 / 0.4)
    table = reliability(y, p, bins=2)
    assert [r["weight"] for r in table] == [6, 4]
    assert table[0]["observed_rate"] == 0 and table[1]["observed_rate"] == 1.0
    assert table[1]["mean_score"] == pytest.approx(np.mean([0.95, 0.85, 0.55, 0.75]))
    w = np.where(y == 1, 2.0, 1.0)  # weights count rows as that many entities
    assert reliability(y, p, bins=2, sample_weight=w)[1]["weight"] == 8


# -- history features, against pandas -----------------------------------------------------


def test_demo_history_features_match_pandas(backend, frames):
    ent = backend.catalog.entity("users")
    plan = build_features(backend.catalog, ent, as_of=DEMO_END - datetime.timedelta(days=3),
                          windows=(7, 30), history=True)  # fmt: skip
    assert set(HISTORY_KINDS) <= {f.kind for f in plan.features}
    assert "count_purchase_ever" in plan.names and "tenure_purchase" in plan.names
    assert_frames_close(_pulled(plan), oracle_features(frames, ent, plan).sort_index())
    described = plan.describe().set_index("name")["description"]
    assert described["trend_purchase_7d"] == "count(purchase, T-6..T) - count(purchase, T-13..T-7)"
    assert described["mean_purchase_amount_ever"] == "avg(purchase.amount, ever)"


@pytest.mark.parametrize("tz", ["UTC", EDGE_TZ])
def test_edge_history_features_match_pandas(backend, frames, tz):
    """DATE, naive and tz-aware times, events at midnight, constant event names."""
    ent = backend.edge.entity("accounts")
    plan = build_features(backend.edge, ent, as_of=D(2025, 3, 12), tz=tz, windows=(3, 10),
                          history=True)  # fmt: skip
    history = [f for f in plan.features if f.kind in HISTORY_KINDS]
    assert {f.table for f in history} == {"acct_log", "acct_orders", "acct_visits"}
    assert_frames_close(_pulled(plan), oracle_features(frames, ent, plan, tz=tz).sort_index())


# -- training ----------------------------------------------------------------------------


def test_forecast_trains_before_the_label_window(backend):
    """Default training date, label history kept, same scores on every backend, backtest."""
    ws = Workspace(backend.con, backend.catalog)
    everyone = backend.catalog.table("users").select("user_id")
    # trees: the same sample gives the same model on every backend (a logistic regression's
    # solver path moves with the last bits of floating-point sums)
    res = predict(ws, audience=everyone, positive=BUYERS, as_of=DEMO_END,
                  **{**FAST, "model": "gradient_boosting"})  # fmt: skip
    e = res.evaluation()
    assert e["mode"] == "forecast" and e["sample"] == "positive-unlabelled"
    assert e["feature_date"] == e["train_as_of"] == "2025-03-24"
    assert e["label_window"] == ["2025-03-25", "2025-03-31"] and e["horizon_days"] == 7
    assert "purchase" in e["label_history"] and e["excluded"] == [] and e["exclusions"] == {}
    assert res.plan.as_of == D(2025, 3, 24)
    assert {"count_purchase_7d", "tenure_purchase", "trend_purchase_30d"} <= set(res.plan.names)
    assert e["roc_auc"] > 0.7
    bt = res.backtest()
    assert bt["available"] and bt["trained_on"] == "2025-03-17" and bt["scored_on"] == "2025-03-24"
    assert bt["trained_label_window"] == ["2025-03-18", "2025-03-24"]
    assert bt["checked_label_window"] == e["label_window"]
    for key in ("roc_auc", "pr_auc", "lift_10", "lift_20", "brier"):
        assert np.isfinite(bt[key]), key
    assert bt["roc_auc"] > 0.65 and 0 < bt["brier"] < 0.3
    assert sum(r["weight"] for r in bt["reliability"]) == pytest.approx(e["counts"]["audience"])
    scores = _pulled_scores(res)
    assert len(scores) == e["counts"]["audience"]
    SCORES[backend.name] = scores
    if {"duckdb", "postgres"} <= set(SCORES):
        assert np.allclose(SCORES["duckdb"], SCORES["postgres"], rtol=0, atol=1e-9)
    # scored in the engine exactly as the fitted model scores the features in Python
    rows = _pulled(res.model.plan(backend.catalog, as_of=DEMO_END))
    want = res.model.predict_proba(rows[res.plan.names].to_numpy(float))[:, 1]
    assert np.allclose(scores.loc[rows.index].to_numpy(), want, rtol=0, atol=1e-9)


def test_both_samples_from_the_training_date(duckdb_backend):
    """Given negatives: their features describe the training date too; label columns stay."""
    ws = Workspace(duckdb_backend.con, duckdb_backend.catalog)
    res = predict(ws, audience="did(login, T-29..T)", positive=BUYERS, horizon="7d",
                  negative="did(view_product, T-6..T) and not did(purchase, T-6..T)",
                  as_of=DEMO_END, backtest=False, exclude="trade_cnt_7d", **FAST)  # fmt: skip
    e = res.evaluation()
    assert e["mode"] == "forecast" and e["sample"] == "supervised" and "backtest" not in e
    assert (
        e["feature_date"] == "2025-03-24" and e["feature_date_rule"] == "horizon='7d' before as_of"
    )
    assert e["exclusions"] == {"trade_cnt_7d": "excluded by the caller"}
    assert {"purchase", "view_product"} <= set(e["label_history"])
    # the training rows are the features of 2025-03-24, for positives and negatives alike
    plan = res.plan
    users = duckdb_backend.catalog.table("users")
    P, N = users.filter(users.user_id <= 40), users.filter(users.user_id.between(41, 80))
    X, y = _training_rows(ws, plan.entity, plan, P.select("user_id"), N.select("user_id"),
                          40, 40, 40, 40, 0)  # fmt: skip
    rows = _pulled(plan)
    assert list(y) == [1] * 40 + [0] * 40
    assert np.allclose(X, rows.loc[range(1, 81), plan.names].to_numpy(float), equal_nan=True)
    assert e["counts"]["positive_in_audience"] <= e["counts"]["positive"]


def test_lookalike_mode_is_unchanged(duckdb_backend):
    ws = Workspace(duckdb_backend.con, duckdb_backend.catalog)
    everyone = duckdb_backend.catalog.table("users").select("user_id")
    res = predict(ws, audience=everyone, positive=BUYERS, as_of=DEMO_END, mode="lookalike", **FAST)
    e = res.evaluation()
    assert e["mode"] == "look-alike" and e["feature_date"] == DEMO_END.isoformat()
    assert "purchase" in e["excluded"] and "gives the label away" in e["exclusions"]["purchase"]
    assert not {f.kind for f in res.plan.features} & set(HISTORY_KINDS)
    assert res.backtest()["available"] is False and "backtest" not in e


def _pulled_scores(res):
    return res.scores.to_pyarrow().to_pandas().set_index("user_id").sort_index()["score"]
