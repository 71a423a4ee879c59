"""Estimators (scikit-learn conventions) and the training recipes built on them.

Estimators: :class:`BaggingPU` (Mordelet & Vert's bagged positive-unlabelled
classifier), :class:`ElkanNotoPU` (Elkan & Noto's calibrated PU classifier)
and :class:`CentroidSimilarity` (cosine similarity to the seed centroid, the
plain baseline). ``__init__`` stores its arguments; ``fit`` validates and
returns ``self``; fitted attributes end in ``_``.

Recipes: :func:`make_pipeline` (median imputation with missing indicators,
scaling where the model needs it, the model), :func:`fit_candidates`
(logistic regression, random forest, gradient boosting; picked by validation
ROC AUC) and :func:`fit_lookalike`. :func:`choose_threshold` (by tendency)
and :func:`evaluate` (held-out metrics, curves, permutation importances) live
in :mod:`segnb.models.evaluation` and are re-exported here.

The scikit-learn models are bounded so that the compiled in-engine
expression stays small: forests of 60 trees of depth 8 at most, boosting of
100 trees of 15 leaves at most.

Examples
--------
>>> pipe = make_pipeline(BaggingPU(make_classifier("logistic"), random_state=0))  # doctest: +SKIP
>>> pipe.fit(X, s).predict_proba(X)[:, 1]                                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state, check_X_y

from segnb.errors import InvalidValueError
from segnb.models.evaluation import (
    TENDENCIES,
    choose_threshold,
    evaluate,
    lift,
    permutation_importances,
)

__all__ = [
    "LOOKALIKE_METHODS",
    "MODELS",
    "TENDENCIES",
    "BaggingPU",
    "CentroidSimilarity",
    "ElkanNotoPU",
    "Trained",
    "choose_threshold",
    "evaluate",
    "fit_candidates",
    "fit_lookalike",
    "lift",
    "lookalike_pipeline",
    "make_classifier",
    "make_pipeline",
    "permutation_importances",
    "split3",
]

MODELS = ("logistic", "random_forest", "gradient_boosting")


# -- estimators --------------------------------------------------------------------


class CentroidSimilarity(ClassifierMixin, BaseEstimator):
    """Similarity to the centroid of the positives: ``(1 + cos(x, centroid)) / 2``.

    Meant after imputation and scaling (see :func:`make_pipeline`): the
    centroid of standardised seed features points where seeds differ from
    everyone. The baseline lookalike; it ignores the unlabelled rows.
    """

    def __init__(self) -> None:
        pass

    def fit(self, X, y):
        X, y = check_X_y(X, y, dtype=np.float64)
        self.classes_ = np.array([0, 1])
        positives = X[np.asarray(y) == 1]
        if not len(positives):
            raise InvalidValueError("CentroidSimilarity needs at least one positive row")
        self.centroid_ = positives.mean(axis=0)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        check_is_fitted(self, "centroid_")
        X = check_array(X, dtype=np.float64)
        norm = np.linalg.norm(X, axis=1) * np.linalg.norm(self.centroid_)
        dot = X @ self.centroid_
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)
        return cos

    def predict_proba(self, X):
        p = (1.0 + self.decision_function(X)) / 2.0
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class ElkanNotoPU(ClassifierMixin, BaseEstimator):
    """Elkan & Noto (2008): a labelled-vs-unlabelled classifier ``g`` rescaled by ``c``.

    ``c`` is the mean of ``g`` over held-out labelled positives, and
    ``p(y=1|x) = min(1, g(x) / c)``. The ranking is that of ``g``.

    Parameters
    ----------
    estimator
        Probabilistic classifier (default: logistic regression).
    hold_out
        Share of the labelled positives held out to estimate ``c``.
    random_state
        Seed of the hold-out split.
    """

    def __init__(self, estimator=None, hold_out: float = 0.2, random_state=None) -> None:
        self.estimator = estimator
        self.hold_out = hold_out
        self.random_state = random_state

    def fit(self, X, y):
        X, y = check_X_y(X, y, dtype=np.float64)
        y = np.asarray(y).astype(int)
        if not 0 < self.hold_out < 1:
            raise InvalidValueError(f"hold_out must be in (0, 1), not {self.hold_out!r}")
        if y.sum() < 2 or (1 - y).sum() < 2:
            raise InvalidValueError("ElkanNotoPU needs at least 2 labelled and 2 unlabelled rows")
        base = clone(self.estimator) if self.estimator is not None else make_classifier("logistic")
        fit_idx, held = train_test_split(
            np.arange(len(y)), test_size=self.hold_out, stratify=y, random_state=self.random_state
        )
        self.estimator_ = base.fit(X[fit_idx], y[fit_idx])
        held_pos = held[y[held] == 1]
        self.c_ = float(np.mean(self.estimator_.predict_proba(X[held_pos])[:, 1]))
        if not self.c_ > 0:
            self.c_ = 1.0
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "estimator_")
        p = np.minimum(1.0, self.estimator_.predict_proba(check_array(X))[:, 1] / self.c_)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class BaggingPU(ClassifierMixin, BaseEstimator):
    """Bagged PU classifier (Mordelet & Vert 2014).

    Each of ``n_estimators`` classifiers learns all labelled positives
    against a bootstrap of ``max_samples`` unlabelled rows (default: as many
    as there are positives); the score is their mean probability.
    ``oob_score_`` holds, for each unlabelled training row, the mean over the
    classifiers that did not see it (NaN where all did).

    Parameters
    ----------
    estimator
        Probabilistic classifier (default: logistic regression).
    n_estimators
        Number of bags.
    max_samples
        Unlabelled rows per bag (an int, a share of the positives as a
        float, or None for as many as the positives).
    random_state
        Seed of the bags.
    """

    def __init__(
        self, estimator=None, n_estimators: int = 10, max_samples=None, random_state=None
    ) -> None:
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X, y):
        X, y = check_X_y(X, y, dtype=np.float64)
        y = np.asarray(y).astype(int)
        if int(self.n_estimators) < 1:
            raise InvalidValueError(f"n_estimators must be >= 1, not {self.n_estimators!r}")
        pos, unl = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        if len(pos) < 2 or len(unl) < 2:
            raise InvalidValueError("BaggingPU needs at least 2 labelled and 2 unlabelled rows")
        if self.max_samples is None:
            k = len(pos)
        elif isinstance(self.max_samples, float):
            k = round(self.max_samples * len(pos))
        else:
            k = int(self.max_samples)
        k = max(2, min(k, len(unl)))
        rng = check_random_state(self.random_state)
        base = self.estimator if self.estimator is not None else make_classifier("logistic")
        self.estimators_ = []
        oob_sum, oob_n = np.zeros(len(unl)), np.zeros(len(unl))
        for _ in range(int(self.n_estimators)):
            bag = rng.choice(len(unl), size=k, replace=True)
            rows = np.concatenate([pos, unl[bag]])
            est = clone(base)
            _seed(est, rng)
            est.fit(X[rows], y[rows])
            self.estimators_.append(est)
            out = np.ones(len(unl), dtype=bool)
            out[bag] = False
            if out.any():
                oob_sum[out] += est.predict_proba(X[unl[out]])[:, 1]
                oob_n[out] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            self.oob_score_ = np.where(oob_n > 0, oob_sum / np.maximum(oob_n, 1), np.nan)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "estimators_")
        X = check_array(X, dtype=np.float64)
        p = np.mean([est.predict_proba(X)[:, 1] for est in self.estimators_], axis=0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _seed(est, rng) -> None:
    if "random_state" in est.get_params():
        est.set_params(random_state=int(rng.randint(0, 2**31 - 1)))


# -- recipes -----------------------------------------------------------------------


def make_classifier(
    name: str, random_state=None, *, balanced: bool = False, trees: int = 60, C: float = 1.0,
    n_jobs: int | None = None,
):  # fmt: skip
    """A bounded scikit-learn classifier: ``logistic``, ``random_forest`` or ``gradient_boosting``."""
    weight = "balanced" if balanced else None
    if name == "logistic":
        return LogisticRegression(C=C, max_iter=2000, class_weight=weight)
    if name == "random_forest":
        return RandomForestClassifier(
            n_estimators=trees, max_depth=8, min_samples_leaf=10 if trees < 60 else 20,
            max_features="sqrt", class_weight=weight, n_jobs=n_jobs, random_state=random_state,
        )  # fmt: skip
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False, class_weight=weight,
            random_state=random_state,
        )  # fmt: skip
    raise InvalidValueError(f"model={name!r} is not one of {', '.join(('auto', *MODELS))}")


def make_pipeline(model, *, scale: bool | None = None) -> Pipeline:
    """Median imputation (with missing indicators), scaling for linear and centroid models, ``model``."""
    if scale is None:
        inner = getattr(model, "estimator", None)
        inner = model if inner is None else inner
        scale = isinstance(model, CentroidSimilarity) or isinstance(inner, LogisticRegression)
    steps = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if scale:
        steps.append(("scale", StandardScaler()))
    steps.append(("model", model))
    return Pipeline(steps)


def split3(X, y, random_state=None, sizes=(0.6, 0.2, 0.2)):
    """Stratified train / validation / test split of ``X`` and ``y``."""
    train, rest = train_test_split(
        np.arange(len(y)), train_size=sizes[0], stratify=y, random_state=random_state
    )
    val, test = train_test_split(
        rest, test_size=sizes[2] / (sizes[1] + sizes[2]), stratify=np.asarray(y)[rest],
        random_state=random_state,
    )  # fmt: skip
    return train, val, test


@dataclass
class Trained:
    """A fitted pipeline with what was learnt while choosing it."""

    pipeline: Any
    model: str
    threshold: float | None = None
    rule: str = ""
    candidates: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)


def fit_candidates(
    X, y, X_val, y_val, models: Sequence[str], *, random_state=None, progress=None
) -> Trained:
    """Fit each model on the training rows; keep the best validation ROC AUC."""
    best: Trained | None = None
    candidates: dict[str, float] = {}
    for name in models:
        pipe = make_pipeline(make_classifier(name, random_state)).fit(X, y)
        auc = float(roc_auc_score(y_val, pipe.predict_proba(X_val)[:, 1]))
        candidates[name] = auc
        if best is None or auc > candidates[best.model]:
            best = Trained(pipe, name)
        if progress is not None:
            progress.update()
    assert best is not None
    best.candidates = candidates
    return best


# -- lookalike -----------------------------------------------------------------------

LOOKALIKE_METHODS = ("pu", "centroid")


def lookalike_pipeline(
    method: str = "pu", random_state=None, n_jobs: int | None = None
) -> Pipeline:
    """The pipeline of a lookalike ``method``.

    ``pu`` (the default): the mean probability of two bagged PU learners, one
    over a strongly regularised logistic regression (10 bags) and one over
    small random forests (6 bags of 10 trees); ``centroid``: the
    cosine-similarity baseline. On the demo warehouse and on CoIL 2000 the
    PU ensemble ranks better than either PU learner alone and than the
    centroid (``tests/test_models_quality.py``).
    """
    if method == "centroid":
        return make_pipeline(CentroidSimilarity())
    if method != "pu":
        raise InvalidValueError(f"method={method!r} is not one of {', '.join(LOOKALIKE_METHODS)}")
    from sklearn.ensemble import VotingClassifier

    logistic = BaggingPU(
        make_classifier("logistic", C=0.01), n_estimators=10, random_state=random_state
    )
    forest = BaggingPU(
        make_classifier("random_forest", trees=10, n_jobs=n_jobs), n_estimators=6,
        random_state=random_state,
    )  # fmt: skip
    vote = VotingClassifier([("logistic", logistic), ("random_forest", forest)], voting="soft")
    return make_pipeline(vote, scale=True)


def fit_lookalike(
    X, s, *, method: str = "pu", random_state=None, n_jobs: int | None = None, progress=None,
    validate: bool = True,
) -> Trained:  # fmt: skip
    """Fit a lookalike pipeline on seeds (``s == 1``) against unlabelled rows (``s == 0``).

    With ``validate``, both methods are first fitted on 80% of the rows and
    scored on the other 20%: the ROC AUC of held-out seeds against held-out
    unlabelled rows (a PU ranking orders it like the true AUC) is kept in
    ``candidates`` (``centroid`` is the baseline).
    """
    X = np.asarray(X, dtype=np.float64)
    s = np.asarray(s).astype(int)
    pipeline = lookalike_pipeline(method, random_state, n_jobs)
    aucs: dict[str, float] = {}
    if validate:
        fit_idx, val_idx = train_test_split(
            np.arange(len(s)), test_size=0.2, stratify=s, random_state=random_state
        )
        for name in LOOKALIKE_METHODS:
            fitted = lookalike_pipeline(name, random_state, n_jobs).fit(X[fit_idx], s[fit_idx])
            aucs[name] = float(roc_auc_score(s[val_idx], fitted.predict_proba(X[val_idx])[:, 1]))
            if progress is not None:
                progress.update()
    pipeline.fit(X, s)
    if progress is not None:
        progress.update()
    return Trained(pipeline, method, candidates=aucs)
