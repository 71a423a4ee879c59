"""The estimators follow scikit-learn's conventions; thresholds, lift and model files."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import precision_score, recall_score, roc_auc_score

from segnb.errors import InvalidValueError, SegnbError
from segnb.models import estimators as E
from segnb.models.saved import ModelVersionError, SegmentModel


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.random((n, 6)) < 0.05] = np.nan
    logit = 1.5 * np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.mark.parametrize(
    "estimator",
    [
        E.CentroidSimilarity(),
        E.ElkanNotoPU(random_state=0),
        E.BaggingPU(n_estimators=3, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_sklearn_conventions(estimator):
    X, y = _data()
    params = estimator.get_params()
    twin = clone(estimator)
    assert twin.get_params() == params  # __init__ only stores its arguments
    with pytest.raises(NotFittedError):
        twin.predict_proba(np.zeros((2, 6)))
    pipe = E.make_pipeline(twin)
    assert pipe.fit(X, y) is pipe
    fitted = pipe[-1]
    assert [k for k in vars(fitted) if k.endswith("_") and not k.startswith("_")]
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(y), 2) and np.allclose(proba.sum(axis=1), 1)
    assert roc_auc_score(y, proba[:, 1]) > 0.7
    assert set(pipe.predict(X)) <= {0, 1}


def test_validation_happens_in_fit():
    X, y = _data(100)
    X = np.nan_to_num(X)
    with pytest.raises(InvalidValueError):
        E.BaggingPU(n_estimators=0).fit(X, y)
    with pytest.raises(InvalidValueError):
        E.ElkanNotoPU(hold_out=1.5).fit(X, y)
    with pytest.raises(InvalidValueError, match="model='svm'"):
        E.make_classifier("svm")


def test_bagging_pu_out_of_bag_scores():
    X, y = _data()
    pu = E.BaggingPU(n_estimators=5, random_state=1).fit(np.nan_to_num(X), y)
    assert len(pu.estimators_) == 5
    assert pu.oob_score_.shape == ((y == 0).sum(),)
    assert np.isfinite(pu.oob_score_).mean() > 0.5


def test_elkan_noto_rescales_by_c():
    X, y = _data()
    en = E.ElkanNotoPU(random_state=0).fit(np.nan_to_num(X), y)
    g = en.estimator_.predict_proba(np.nan_to_num(X))[:, 1]
    assert 0 < en.c_ <= 1
    assert np.allclose(en.predict_proba(np.nan_to_num(X))[:, 1], np.minimum(1, g / en.c_))


def test_threshold_by_tendency():
    rng = np.random.default_rng(3)
    y = (rng.random(4000) < 0.2).astype(int)
    scores = np.clip(0.35 * y + rng.normal(0.3, 0.2, len(y)), 0, 1)
    cut, rule = E.choose_threshold(y, scores, "high_recall")
    picked = (scores >= cut).astype(int)
    assert recall_score(y, picked) >= 0.8 and "recall >= 0.8" in rule
    # the highest such threshold: one step up and recall falls below 0.8
    higher = np.unique(scores[scores > cut])[0]
    assert recall_score(y, (scores >= higher).astype(int)) < 0.8
    cut_p, rule_p = E.choose_threshold(y, scores, "high_precision")
    picked_p = (scores >= cut_p).astype(int)
    assert picked_p.mean() >= 0.05 and "precision" in rule_p
    assert precision_score(y, picked_p) >= precision_score(y, picked)
    with pytest.raises(InvalidValueError, match="tendency"):
        E.choose_threshold(y, scores, "balanced")


def test_lift():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    scores = np.arange(10)[::-1]
    assert E.lift(y, scores, 0.2) == pytest.approx(1.0 / 0.2)
    assert E.lift(y, scores[::-1], 0.2) == 0.0


def test_evaluate_reports_everything():
    X, y = _data()
    pipe = E.make_pipeline(E.make_classifier("logistic")).fit(X, y)
    report = E.evaluate(pipe, X, y, 0.5, [f"f{i}" for i in range(6)], random_state=0)
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "lift_10", "lift_20",
                "threshold", "roc_curve", "pr_curve", "feature_importances"):  # fmt: skip
        assert key in report
    assert next(iter(report["feature_importances"])) == "f0"
    assert len(report["roc_curve"]["x"]) == len(report["roc_curve"]["y"]) <= 200


def _model():
    X, y = _data(500)
    pipe = E.make_pipeline(E.make_classifier("logistic")).fit(X, y)
    spec = {"version": 1, "entity": "users", "windows": [7], "excluded": [], "features": []}
    return SegmentModel("prediction", pipe, spec, "users", "logistic", threshold=0.4), X


def test_model_file_roundtrip(tmp_path):
    model, X = _model()
    path = model.save(tmp_path / "m.joblib")
    back = SegmentModel.load(path)
    assert back.threshold == 0.4 and back.method == "logistic"
    assert np.allclose(back.pipeline.predict_proba(X), model.pipeline.predict_proba(X))


def test_model_from_another_sklearn_is_refused(tmp_path):
    model, _ = _model()
    model.sklearn_version = "0.24.2"
    path = model.save(tmp_path / "old.joblib")
    with pytest.raises(ModelVersionError, match=r"scikit-learn 0\.24\.2.*retrain") as info:
        SegmentModel.load(path)
    assert isinstance(info.value, SegnbError)
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(ModelVersionError, match="not a segnb model file"):
        SegmentModel.load(tmp_path / "junk.joblib")
