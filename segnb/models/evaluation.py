"""Held-out evaluation and thresholds: metrics, curves, lift, permutation importances.

:func:`choose_threshold` turns scores into members by tendency, on
validation data; :func:`evaluate` reports, on test data, what
``PredictionResult.evaluation()`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_random_state

from segnb.errors import InvalidValueError

__all__ = [
    "MIN_RECALL",
    "TENDENCIES",
    "choose_threshold",
    "evaluate",
    "lift",
    "permutation_importances",
]

TENDENCIES = ("high_recall", "high_precision")
MIN_RECALL = 0.8


def _weights(y, sample_weight):
    if sample_weight is None:
        return np.ones(len(y))
    return np.asarray(sample_weight, dtype=float)


def choose_threshold(
    y_true,
    scores,
    tendency: str,
    *,
    min_recall: float = MIN_RECALL,
    min_share: float = 0.05,
    sample_weight=None,
) -> tuple[float, str]:
    """The score threshold for a tendency, chosen on validation data.

    - ``high_recall``: the highest threshold whose recall is at least
      ``min_recall`` (0.8), i.e. the best precision among those.
    - ``high_precision``: the threshold with the best precision among those
      selecting at least ``min_share`` (5%) of the rows and at least 20 rows;
      of equal precisions the lower threshold (the larger segment).

    ``sample_weight`` counts each row as that many entities (a sample whose
    classes were drawn at different rates is weighted back to the audience).
    Returns the threshold and the rule, in words.
    """
    if tendency not in TENDENCIES:
        raise InvalidValueError(f"tendency={tendency!r} is not one of {', '.join(TENDENCIES)}")
    y_true = np.asarray(y_true).astype(int)
    scores = np.asarray(scores, dtype=float)
    w_all = _weights(y_true, sample_weight)
    order = np.argsort(-scores, kind="mergesort")
    s, y, w = scores[order], y_true[order], w_all[order]
    tp = np.cumsum(y * w)
    n = np.cumsum(w)
    rows = np.arange(1, len(y) + 1)
    last = np.r_[s[1:] != s[:-1], True]  # a cut can only fall between distinct scores
    tp, n, rows, cuts = tp[last], n[last], rows[last], s[last]
    positives = max(float((y * w).sum()), 1e-12)
    recall, precision = tp / positives, tp / n
    if tendency == "high_recall":
        ok = np.flatnonzero(recall >= min_recall)
        i = int(ok[0]) if len(ok) else len(cuts) - 1
        rule = f"highest threshold with validation recall >= {min_recall:g} (best precision among them)"
    else:
        ok = np.flatnonzero((n >= min_share * w.sum()) & (rows >= 20))
        if not len(ok):
            ok = np.array([len(cuts) - 1])
        best = precision[ok].max()
        i = int(ok[precision[ok] >= best - 1e-12][-1])
        rule = (
            f"best validation precision among thresholds selecting >= {min_share:.0%} "
            "of rows (and >= 20); ties go to the larger segment"
        )
    return float(cuts[i]), rule


def lift(y_true, scores, share: float, sample_weight=None) -> float:
    """Positive rate in the top ``share`` of scores over the overall positive rate."""
    y_true = np.asarray(y_true).astype(int)
    w = _weights(y_true, sample_weight)
    base = (y_true * w).sum() / w.sum()
    if base == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    y, w = y_true[order], w[order]
    top = np.cumsum(w) <= max(share * w.sum(), w[0])
    return float((y[top] * w[top]).sum() / w[top].sum() / base)


def _curve(xs, ys, thresholds, points: int = 200) -> dict[str, list[float]]:
    idx = np.unique(np.linspace(0, len(xs) - 1, min(points, len(xs))).round().astype(int))
    th = np.asarray(thresholds, dtype=float)
    th = np.r_[th, np.nan] if len(th) < len(xs) else th
    th = np.where(np.isfinite(th), th, np.nan)
    return {
        "x": [float(v) for v in np.asarray(xs)[idx]],
        "y": [float(v) for v in np.asarray(ys)[idx]],
        "threshold": [None if np.isnan(v) else float(v) for v in th[idx]],
    }


def evaluate(
    pipeline,
    X,
    y,
    threshold: float,
    feature_names: Sequence[str],
    *,
    random_state=None,
    importances: bool = True,
    max_rows: int = 2000,
    sample_weight=None,
) -> dict[str, Any]:
    """Held-out metrics at ``threshold``, ROC and PR curves, permutation importances.

    With ``sample_weight`` (see :func:`choose_threshold`) every metric is
    that of the audience the sample was drawn from.
    """
    y = np.asarray(y).astype(int)
    w = sample_weight
    scores = pipeline.predict_proba(X)[:, 1]
    predicted = (scores >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    fpr, tpr, roc_th = (
        roc_curve(y, scores, sample_weight=w) if both else ([0, 1], [0, 1], [np.inf, 0])
    )
    prec, rec, pr_th = (
        precision_recall_curve(y, scores, sample_weight=w) if both else ([1], [0], [])
    )
    out: dict[str, Any] = {
        "accuracy": float(accuracy_score(y, predicted, sample_weight=w)),
        "precision": float(precision_score(y, predicted, zero_division=0, sample_weight=w)),
        "recall": float(recall_score(y, predicted, zero_division=0, sample_weight=w)),
        "f1": float(f1_score(y, predicted, zero_division=0, sample_weight=w)),
        "roc_auc": float(roc_auc_score(y, scores, sample_weight=w)) if both else float("nan"),
        "lift_10": lift(y, scores, 0.10, w),
        "lift_20": lift(y, scores, 0.20, w),
        "threshold": float(threshold),
        "selected_share": float(np.average(predicted, weights=_weights(y, w))),
        "roc_curve": _curve(fpr, tpr, roc_th),
        "pr_curve": _curve(rec[::-1], prec[::-1], np.r_[pr_th, np.nan][::-1]),
    }
    if importances:
        out["feature_importances"] = permutation_importances(
            pipeline, X, y, feature_names, random_state=random_state, max_rows=max_rows
        )
    return out


def permutation_importances(
    pipeline, X, y, feature_names: Sequence[str], *, random_state=None, max_rows: int = 2000,
    repeats: int = 2,
) -> dict[str, float]:  # fmt: skip
    """Mean drop of ROC AUC when one feature's column is shuffled, largest first.

    On a stratified sample of at most ``max_rows`` held-out rows; a column
    constant there scores 0 without a prediction.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        return {}
    rng = check_random_state(random_state)
    if len(y) > max_rows:
        keep, _ = train_test_split(
            np.arange(len(y)), train_size=max_rows, stratify=y, random_state=random_state
        )
        X, y = X[keep], y[keep]
    base = roc_auc_score(y, pipeline.predict_proba(X)[:, 1])
    drops = {}
    stacked = np.tile(X, (repeats, 1))  # one predict call per feature, all repeats at once
    n = len(y)
    for j, name in enumerate(feature_names):
        column = X[:, j]
        if np.all((column == column[0]) | (np.isnan(column) & np.isnan(column[0]))):
            drops[name] = 0.0
            continue
        for r in range(repeats):
            stacked[r * n : (r + 1) * n, j] = X[rng.permutation(n), j]
        p = pipeline.predict_proba(stacked)[:, 1]
        stacked[:, j] = np.tile(X[:, j], repeats)
        values = [base - roc_auc_score(y, p[r * n : (r + 1) * n]) for r in range(repeats)]
        drops[name] = float(np.mean(values))
    return dict(sorted(drops.items(), key=lambda kv: -kv[1]))
