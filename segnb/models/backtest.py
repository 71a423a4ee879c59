"""Backtests of forecasts: the same model trained one horizon earlier, checked on what happened.

A forecast trains on features of the training date ``t`` against the label
window ``[A, B]`` (``B`` = ``as_of``). Its backtest shifts both back by the
horizon ``h = B - t``: it trains the chosen model on features of ``t - h``
against the positive rule evaluated on ``B - h``, scores the entities of the
forecast's own training sample with their features of ``t`` and compares
those scores with the memberships that actually happened in ``[A, B]``. The
backtest model never saw that window, so these are the numbers to show a
marketer: ROC AUC, PR AUC, lift at 10 and 20 %, and calibration (the Brier
score and a reliability table) of the scores as they would have been
served.

Examples
--------
>>> res = predict(ws, audience=everyone, positive="did(purchase, T-6..T)",
...               as_of="2025-03-31")                                # doctest: +SKIP
>>> res.backtest()["roc_auc"], res.backtest()["reliability"][:2]   # doctest: +SKIP
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import numpy as np

from segnb.models import estimators as est
from segnb.models._sampling import (
    MIN_AUDIENCE,
    MIN_NEGATIVE,
    MIN_POSITIVE,
    SampleSizeError,
    _count,
    _minus,
    _require,
    _training_rows,
)
from segnb.models.features import build_features
from segnb.models.forecast import outcome_metrics

__all__ = ["Samples", "run_backtest", "samples"]

ONE_DAY = datetime.timedelta(days=1)


@dataclass
class Samples:
    """Labelled ids: positives ``P`` and negatives ``N`` with their counts, checked against the minimums."""

    P: Any
    N: Any
    kind: str
    n_audience: int
    n_positive_given: int
    n_positive: int
    n_given: int
    n_negative: int


def samples(A, P, N, id_column: str, forecast: bool) -> Samples:
    """Positives and negatives to train on; :class:`SampleSizeError` below the minimums.

    In forecast mode the positives are those of the audience ``A`` (taken on
    the training date). Without negatives, the audience minus the positives
    is the unlabelled (negative) sample.
    """
    n_audience = _count(A)
    _require(n_audience, MIN_AUDIENCE, "the audience", "entities")
    n_given_pos = _count(P)
    _require(n_given_pos, MIN_POSITIVE, "the positive sample", "entities")
    n_positive = n_given_pos
    if forecast:
        P = P.filter(P[id_column].isin(A[id_column]))
        n_positive = _count(P)
        _require(n_positive, MIN_POSITIVE, "the positive sample within the audience on the "
                 "training date", "entities")  # fmt: skip
    if N is not None:
        n_given = _count(N)
        _require(n_given, MIN_NEGATIVE, "the negative sample", "entities")
        N = _minus(N, P, id_column)
        n_negative = _count(N)
        _require(n_negative, MIN_NEGATIVE, "the negative sample without the positives", "entities")
        kind = "supervised"
    else:
        N = _minus(A, P, id_column)
        n_given = n_negative = _count(N)
        _require(n_negative, MIN_NEGATIVE, "the audience without the positives (unlabelled)",
                 "entities")  # fmt: skip
        kind = "positive-unlabelled"
    return Samples(P, N, kind, n_audience, n_given_pos, n_positive, n_given, n_negative)


def run_backtest(
    ws: Any, ent: Any, plan: Any, dates: Any, method: str, X, y, weight, proba, *,
    rules: dict[str, Any], audience: Any, max_rows: int, random_state: int | None,
) -> dict[str, Any]:  # fmt: skip
    """Train ``method`` one horizon earlier and score the forecast's sample ``X`` against ``y``.

    ``X``, ``y`` and ``weight`` are the forecast's training rows (features
    of the training date, labels of the label window, sampling weights);
    ``proba`` is the forecast model's own ``predict_proba``, reported
    alongside as ``in_sample`` (it was fitted on most of those rows). The
    backtest needs the positive as a rule (a table has no earlier
    membership); otherwise, or when the earlier samples are too small,
    ``available`` is False with the ``reason``.
    """
    from sklearn.model_selection import train_test_split

    h = dates.horizon
    start, end = dates.label_window
    shifted = {
        "horizon_days": h,
        "trained_on": (dates.feature_date - h * ONE_DAY).isoformat(),
        "trained_label_window": [
            (start - h * ONE_DAY).isoformat(),
            (end - h * ONE_DAY).isoformat(),
        ],
        "scored_on": dates.feature_date.isoformat(),
        "checked_label_window": [start.isoformat(), end.isoformat()],
        "model": method,
    }
    if rules.get("positive") is None:
        return {"available": False, **shifted, "reason": "the positive sample is a table "
                "without a rule: its membership one horizon earlier is unknown"}  # fmt: skip
    day, tz = dates.as_of - h * ONE_DAY, plan.tz
    train_day = dates.feature_date - h * ONE_DAY
    A = audience
    if rules.get("audience") is not None:
        A = ws.members(rules["audience"], train_day, ent).select(ent.id)
    P = ws.members(rules["positive"], day, ent).select(ent.id)
    N = None if rules.get("negative") is None else ws.members(rules["negative"], day, ent)
    try:
        s = samples(A, P, None if N is None else N.select(ent.id), ent.id, True)
    except SampleSizeError as exc:
        return {"available": False, **shifted, "reason": f"one horizon earlier, {exc}"}
    earlier = build_features(ws.catalog, ent, as_of=train_day, tz=tz, features=plan.spec())
    take_pos = min(s.n_positive, max(1, int(max_rows) // 2))
    take_neg = min(s.n_negative, int(max_rows) - take_pos)
    Xb, yb = _training_rows(ws, ent, earlier, s.P, s.N, take_pos, take_neg, s.n_positive,
                            s.n_negative, random_state)  # fmt: skip
    fit_idx, val_idx = train_test_split(np.arange(len(yb)), test_size=0.2, stratify=yb,
                                        random_state=random_state)  # fmt: skip
    trained = est.fit_candidates(Xb[fit_idx], yb[fit_idx], Xb[val_idx], yb[val_idx], (method,),
                                 random_state=random_state)  # fmt: skip
    p = trained.pipeline.predict_proba(X)[:, 1]
    rp, rn = take_pos / s.n_positive, take_neg / s.n_negative
    if abs(rp - rn) >= 1e-12:  # the earlier sample's class ratio back to its audience's
        p = p * rn / (p * rn + (1.0 - p) * rp)
    out = {"available": True, **shifted, **outcome_metrics(y, p, sample_weight=weight)}
    out["counts"] = {"trained_positive": int(yb.sum()), "trained_negative": int(len(yb) - yb.sum()),
                     "checked_positive": int(np.sum(y)), "checked_negative": int(len(y) - np.sum(y))}  # fmt: skip
    inside = outcome_metrics(y, proba(X)[:, 1], sample_weight=weight)
    out["in_sample"] = {k: inside[k] for k in ("roc_auc", "pr_auc", "lift_20", "brier")}
    return out
