"""In-engine scores equal predict_proba: every compiled model, on every backend."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import DEMO_END
from sklearn.ensemble import GradientBoostingClassifier
from threadpoolctl import threadpool_limits

from segnb.errors import NotAvailableError
from segnb.models import estimators as E
from segnb.models.features import build_features
from segnb.models.to_ibis import score_table

#: max abs difference between engine and Python scores, per backend and model (printed at the end)
DIFFS: dict[str, float] = {}


def _pipelines(X, y):
    s = np.zeros(len(y), dtype=int)
    s[np.flatnonzero(y)[:300]] = 1
    with threadpool_limits(1):
        out = {name: E.make_pipeline(E.make_classifier(name, 0)).fit(X, y) for name in E.MODELS}
        out["sklearn_gradient_boosting"] = E.make_pipeline(
            GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0)
        ).fit(X, y)
        out["lookalike_pu"] = E.fit_lookalike(X, s, random_state=0, validate=False).pipeline
        out["lookalike_centroid"] = E.lookalike_pipeline("centroid").fit(X, s)
        out["elkan_noto"] = E.make_pipeline(
            E.ElkanNotoPU(E.make_classifier("logistic"), random_state=0)
        ).fit(X, s)
    return out


@pytest.fixture(scope="module")
def fitted(duckdb_backend):
    catalog = duckdb_backend.catalog
    plan = build_features(catalog, "users", as_of=DEMO_END, windows=(7, 30))
    frame = plan.table.to_pyarrow().to_pandas().sort_values("user_id")
    truth = duckdb_backend.con.table("ground_truth").to_pandas().set_index("user_id")
    X = frame[plan.names].to_numpy(dtype=float, na_value=np.nan)
    y = truth.loc[frame["user_id"], "will_purchase"].to_numpy().astype(int)
    assert np.isnan(X).any(), "the demo features should have missing values to impute"
    return plan, frame["user_id"].to_numpy(), X, _pipelines(X, y)


@pytest.mark.parametrize(
    "model",
    ["logistic", "random_forest", "gradient_boosting", "sklearn_gradient_boosting",
     "lookalike_pu", "lookalike_centroid", "elkan_noto"],
)  # fmt: skip
@pytest.mark.parametrize("mode", ["view", "ibis", "python"])
def test_engine_scores_equal_predict_proba(backend, fitted, model, mode):
    plan, ids, X, pipelines = fitted
    if mode == "python" and backend.name == "spark":
        pytest.skip("on Spark mode='view' runs the estimator in Python workers too: checked there")
    slow = ("random_forest", "lookalike_pu", "gradient_boosting")
    if mode == "ibis" and (backend.name != "duckdb" or model in slow):
        # the same handlers build both paths; Ibis expressions of forests take seconds to compile
        pytest.skip("the Ibis-expression path is checked on DuckDB, without the large forests")
    if backend.name != "duckdb" and model == "lookalike_pu":
        pytest.skip("its forests and linear models are each checked on PostgreSQL already")
    pipe = pipelines[model]
    engine_plan = build_features(backend.catalog, "users", as_of=DEMO_END, features=plan.spec())
    if mode == "python" and backend.name == "postgres":
        with pytest.raises(NotAvailableError, match="PostgreSQL scores as SQL"):
            score_table(pipe, engine_plan.table, "user_id", plan.names, mode=mode)
        return
    scores = score_table(pipe, engine_plan.table, "user_id", plan.names, mode=mode)
    got = scores.to_pyarrow().to_pandas().set_index("user_id").loc[ids, "score"].to_numpy()
    # the scores of the features as this engine computed them: sums of doubles may differ in
    # the last bit between engines (summation order), and a tree cut can fall between them
    frame = engine_plan.table.to_pyarrow().to_pandas().set_index("user_id").loc[ids]
    here = frame[plan.names].to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_allclose(here, X, rtol=1e-12, atol=1e-12)  # the same features, to rounding
    want = pipe.predict_proba(here)[:, 1]
    diff = float(np.max(np.abs(got - want)))
    DIFFS[f"{backend.name}/{mode}/{model}"] = diff
    print(f"max |engine - predict_proba| {backend.name} {mode} {model}: {diff:.3g}")
    assert diff < 1e-9


def test_forests_score_in_duckdb_as_their_own_predict_proba(duckdb_backend, fitted):
    """``auto`` runs a forest's predict_proba inside DuckDB, registered once per model."""
    plan, _, X, pipelines = fitted
    pipe = pipelines["random_forest"]
    first = score_table(pipe, plan.table, "user_id", plan.names)
    again = score_table(pipe, plan.table, "user_id", plan.names)
    views = [_view_sql(duckdb_backend, t) for t in (first, again)]
    functions = {f for v in views for f in re.findall(r"segnb_proba_\d+_\d+", v)}
    assert len(functions) == 1, views  # one function, registered once for both
    # it composes like any table: filtered, joined and counted in the engine
    top = first.filter(first.score > 0.5).join(again, "user_id")
    want = pipe.predict_proba(X)[:, 1]
    assert top.count().execute() == int((want > 0.5).sum())
    logistic = score_table(pipelines["logistic"], plan.table, "user_id", plan.names)
    assert "segnb_proba_" not in _view_sql(duckdb_backend, logistic)


def _view_sql(backend, table) -> str:
    rows = backend.con.raw_sql(
        "SELECT sql FROM duckdb_views() WHERE view_name = ?", parameters=[table.get_name()]
    ).fetchall()
    return rows[0][0]


def test_members_rank_like_python(duckdb_backend, fitted):
    """Ties aside, the engine's ranking is Python's ranking."""
    plan, ids, X, pipelines = fitted
    pipe = pipelines["gradient_boosting"]
    scores = score_table(pipe, plan.table, "user_id", plan.names)
    top = scores.order_by([scores.score.desc(), "user_id"]).limit(100).to_pandas()
    want = pipe.predict_proba(X)[:, 1]
    order = np.lexsort((ids, -want))[:100]
    assert list(top["user_id"]) == list(ids[order])


def test_unknown_estimator_is_named(fitted):
    from sklearn.neighbors import KNeighborsClassifier

    plan, _, X, _ = fitted
    pipe = E.make_pipeline(KNeighborsClassifier()).fit(X[:200], np.arange(200) % 2)
    with pytest.raises(NotAvailableError, match="KNeighborsClassifier cannot be compiled"):
        score_table(pipe, plan.table, "user_id", plan.names)


@pytest.mark.parametrize("mode", ["view", "ibis", "python"])
def test_trees_route_missing_values_like_scikit_learn(backend, mode):
    """Trees fitted on NaN compare NULLs as they route NaN, in each engine's CASE shape."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.tree import DecisionTreeClassifier

    if mode == "ibis" and backend.name != "duckdb":
        pytest.skip("the Ibis-expression path is checked on DuckDB")
    if mode == "python" and backend.name != "duckdb":
        pytest.skip("mode='python' runs in DuckDB (and on Spark as mode='view')")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    X[rng.random(X.shape) < 0.2] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.isnan(X[:, 1]) - np.isnan(X[:, 2]) > 0.2).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(row_id=np.arange(len(X)))
    name = f"segnb_parity_nulls_{mode}"
    if backend.name == "spark":  # Spark has temporary views, not temporary tables
        backend.con._session.createDataFrame(frame).createOrReplaceTempView(name)
        table = backend.con.table(name)
    else:
        table = backend.con.create_table(name, frame, temp=True, overwrite=True)
    with threadpool_limits(1):
        models = {
            "tree": DecisionTreeClassifier(max_depth=6, random_state=0).fit(X, y),
            "hist": HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y),
        }
    for label, model in models.items():
        scores = score_table(model, table, "row_id", ["a", "b", "c"], mode=mode)
        got = scores.to_pandas().set_index("row_id").loc[frame["row_id"], "score"].to_numpy()
        want = model.predict_proba(X)[:, 1]
        assert np.max(np.abs(got - want)) < 1e-9, label
