"""Lookalike and AI prediction, as the Workspace calls them.

Both functions take explicit inputs — Ibis tables of ids, rule text or rule
trees — so they work with or without the segment store: the store resolves
a segment name to its members table (and its rule tree, passed as
``exclude_rules``) and materialises :attr:`~PredictionResult.members` and
:attr:`~PredictionResult.scores` as a segment version.

Training takes a bounded, stratified sample of the labelled entities into
pandas (ids ordered by a seeded hash in the engine); scoring compiles the
fitted pipeline into SQL over the feature table of the whole audience, so
the audience never leaves the engine.

Examples
--------
>>> res = predict(ws, audience="did(login, T-29..T)", positive="did(purchase, T-6..T)",
...               as_of="2025-03-31", train_as_of="2025-03-24")         # doctest: +SKIP
>>> res.evaluation()["roc_auc"], res.members.count().execute()         # doctest: +SKIP
>>> lal = lookalike(ws, seed=vip_ids, size=5_000)                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from segnb.catalog.model import Entity
from segnb.errors import InvalidValueError
from segnb.lang.nodes import Node
from segnb.models import estimators as est
from segnb.models._sampling import (
    MIN_AUDIENCE,
    MIN_NEGATIVE,
    MIN_POSITIVE,
    MIN_SEEDS,
    SampleSizeError,
    _bar,
    _context,
    _count,
    _date,
    _ids,
    _minus,
    _require,
    _score,
    _split_counts,
    _threads,
    _training_rows,
)
from segnb.models.backtest import run_backtest, samples
from segnb.models.features import FeaturePlan, build_features, label_columns
from segnb.models.forecast import exclusions, label_history, resolve_dates
from segnb.models.saved import SegmentModel

__all__ = [
    "MIN_AUDIENCE",
    "MIN_NEGATIVE",
    "MIN_POSITIVE",
    "MIN_SEEDS",
    "LookalikeResult",
    "PredictionResult",
    "SampleSizeError",
    "lookalike",
    "predict",
    "rescore",
]


@dataclass
class PredictionResult:
    """A trained AI prediction: the model, its held-out evaluation, scores and members.

    ``scores`` (id, score) covers the whole audience; ``members`` are the
    audience entities with ``score >= threshold``. Both are Ibis tables: run
    them, or let the store write them as a segment version.
    """

    model: SegmentModel
    plan: FeaturePlan
    scores: Any
    members: Any

    @property
    def threshold(self) -> float:
        return float(self.model.threshold)

    def evaluation(self) -> dict[str, Any]:
        """Held-out metrics, curves, importances, sample counts, the threshold, mode and dates."""
        return self.model.evaluation

    def backtest(self) -> dict[str, Any]:
        """Forecast mode: the model trained one horizon earlier, checked on what happened.

        ROC AUC, PR AUC, lift at 10 and 20 %, Brier score and a reliability
        table (see :func:`segnb.models.backtest.run_backtest`); ``available``
        is False, with a ``reason``, when it could not be run.
        """
        found = self.model.evaluation.get("backtest")
        if found is None:
            return {"available": False, "reason": "look-alike mode has no label window to "
                    "shift; backtests are for forecasts (horizon=, train_as_of=)"}  # fmt: skip
        return found

    def save(self, path):
        return self.model.save(path)

    def __repr__(self) -> str:
        e = self.model.evaluation
        return (
            f"<PredictionResult {self.model.method} roc_auc={e.get('roc_auc', float('nan')):.3f} "
            f"threshold={self.threshold:.4f} features={len(self.plan.features)}>"
        )


@dataclass
class LookalikeResult:
    """A fitted lookalike: the model, diagnostics, scores of non-seed entities and the top ``size``."""

    model: SegmentModel
    plan: FeaturePlan
    scores: Any
    members: Any

    @property
    def size(self) -> int:
        return int(self.model.size)

    def evaluation(self) -> dict[str, Any]:
        """Counts and the held-out seed AUC of the PU model and of the centroid baseline."""
        return self.model.evaluation

    def save(self, path):
        return self.model.save(path)

    def __repr__(self) -> str:
        return (
            f"<LookalikeResult {self.model.method} size={self.size} "
            f"seeds={self.model.evaluation.get('counts', {}).get('seeds')}>"
        )


# -- AI prediction ----------------------------------------------------------------


def predict(
    ws: Any,
    audience: Any,
    positive: Any,
    negative: Any = None,
    *,
    tendency: str = "high_recall",
    model: str = "auto",
    as_of: Any = None,
    train_as_of: Any = None,
    horizon: Any = None,
    mode: str = "auto",
    rules: dict[str, Node | None] | None = None,
    backtest: bool = True,
    entity: str | Entity | None = None,
    exclude: Iterable[str] = (),
    exclude_rules: Iterable[Node | None] = (),
    windows: Sequence[int] = (7, 30, 90),
    max_rows: int = 100_000,
    random_state: int | None = 0,
    importances: bool = True,
    n_jobs: int | None = None,
    progress: bool = True,
) -> PredictionResult:
    """Train a propensity model and score the audience in the engine.

    Parameters
    ----------
    ws
        The :class:`~segnb.Workspace` (its ``con``, ``catalog`` and ``tz``).
    audience, positive, negative
        Ids as an Ibis table (the entity id column, or a single column), rule
        text or a rule tree; segments go in as their members table, with
        their rules in ``exclude_rules`` (and ``rules``). The audience needs
        >= 1,000 entities, positives >= 500 and negatives (when given) >= 500.
        Without negatives, the audience minus the positives is unlabelled
        (positive-unlabelled learning: scores rank like P(positive)).
    tendency
        ``"high_recall"`` or ``"high_precision"``: how the threshold is
        chosen on validation data (:func:`~segnb.models.estimators.choose_threshold`).
    model
        ``"auto"`` (best validation ROC AUC), ``"logistic"``, ``"random_forest"``
        or ``"gradient_boosting"`` (histogram gradient boosting).
    as_of
        Date of the audience and label rules and of the scoring features (default today).
    train_as_of, horizon
        The training date (forecast mode, SPEC §2): ``train_as_of`` itself, or
        ``horizon`` (``"7d"``, ``"39w"``, days) before ``as_of``. Default: the
        day before the earliest day the positive rule reads, when that is
        before ``as_of``; otherwise features and label share ``as_of``
        (look-alike mode).
    mode
        ``"auto"`` (as above), ``"forecast"`` (a training date is required)
        or ``"lookalike"``: features on the training date (default ``as_of``)
        without the tags and events the positive and negative rules read.
        In forecast mode those stay: their history up to the training date is
        in the features, with recency, frequency, tenure, monetary and trend
        columns (``build_features(history=True)``); the training audience is
        taken on the training date (when it is a rule) and the positives are
        the members of the label window among it; the features of positives
        and negatives alike describe the training date.
    rules
        Rule trees behind ``audience``, ``positive``, ``negative`` given as
        tables (stored segments): they date the label window and let the
        backtest evaluate them one horizon earlier.
    backtest
        Forecast mode: also train the same model one horizon earlier and
        check its scores on the training date against the memberships that
        happened (``evaluation()["backtest"]``; :func:`segnb.models.backtest.backtest`).
    exclude, exclude_rules
        Names to leave out of the features, and rules whose tags, attributes
        and events are left out in look-alike mode (rule text or trees given
        as audience, positive or negative are added automatically).
    max_rows
        Bound of the training sample (positives at most half of it). When
        the classes are sampled at different rates, scores are corrected to
        the audience's class ratio and the held-out metrics weight each row
        by the inverse of its class's rate, so they describe the audience.
    random_state
        Seed of the sample, splits and models.

    Returns
    -------
    PredictionResult
    """
    if tendency not in est.TENDENCIES:
        raise InvalidValueError(f"tendency={tendency!r} is not one of {', '.join(est.TENDENCIES)}")
    models = est.MODELS if model == "auto" else (model,)
    if model != "auto" and model not in est.MODELS:
        raise InvalidValueError(f"model={model!r} is not one of auto, {', '.join(est.MODELS)}")
    ent, day, tz = _context(ws, entity, as_of)
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    exclude_rules = list(exclude_rules)
    given = dict(rules or {})
    unknown = set(given) - {"audience", "positive", "negative"}
    if unknown:
        raise InvalidValueError(
            f"rules= takes audience, positive and negative, not {sorted(unknown)}"
        )
    A, rule_a = _ids(ws, ent, audience, day, "audience")  # the audience defines no label
    P, rule_p = _ids(ws, ent, positive, day, "positive")
    N, rule_n = _ids(ws, ent, negative, day, "negative") if negative is not None else (None, None)
    rule_a = rule_a or given.get("audience")
    rule_p, rule_n = rule_p or given.get("positive"), rule_n or given.get("negative")
    dates = resolve_dates(day, train_as_of=None if train_as_of is None else _date(ws, train_as_of),
                          horizon=horizon, positive_rules=[rule_p], mode=mode)  # fmt: skip
    train_day, forecast = dates.feature_date, dates.mode == "forecast"
    scored = A
    if forecast and rule_a is not None:
        A = ws.members(rule_a, train_day, ent).select(ent.id)  # the audience on the training date
    s = samples(A, P, N, ent.id, forecast)
    label_rules = {"label": [*exclude_rules, rule_p, rule_n]}
    why = exclusions(label_rules, dates.mode, exclude)
    dropped = [*exclude, *sorted(label_columns([*exclude_rules, rule_p, rule_n]))]

    bar = _bar(4 + len(models) + (1 if forecast and backtest else 0), "segnb predict", progress)
    with bar, _threads(n_jobs):
        plan = build_features(ws.catalog, ent, as_of=train_day, tz=tz, windows=windows,
                              exclude=exclude if forecast else dropped,
                              history=forecast)  # fmt: skip
        bar.update()
        take_pos = min(s.n_positive, max(1, int(max_rows) // 2))
        take_neg = min(s.n_negative, int(max_rows) - take_pos)
        X, y = _training_rows(ws, ent, plan, s.P, s.N, take_pos, take_neg, s.n_positive,
                              s.n_negative, random_state)  # fmt: skip
        bar.update()
        train, val, test = est.split3(X, y, random_state)
        trained = est.fit_candidates(X[train], y[train], X[val], y[val], models,
                                     random_state=random_state, progress=bar)  # fmt: skip
        # classes sampled at different rates: scores corrected to the audience's class
        # ratio, metrics weighted back to it (each row counts as 1 / its sampling rate)
        rates = (take_pos / s.n_positive, take_neg / s.n_negative)
        prior = None if abs(rates[0] - rates[1]) < 1e-12 else rates
        weight = np.where(y == 1, 1.0 / rates[0], 1.0 / rates[1]) if prior else None
        saved = SegmentModel(
            kind="prediction", pipeline=trained.pipeline, features=plan.spec(), entity=ent.name,
            method=trained.model, trained_as_of=train_day, prior=prior,
            settings={"tendency": tendency, "model": model, "windows": list(plan.windows),
                      "max_rows": max_rows, "random_state": random_state,
                      "mode": dates.mode, "horizon_days": dates.horizon},
        )  # fmt: skip
        val_scores = saved.predict_proba(X[val])[:, 1]
        threshold, rule_text = est.choose_threshold(
            y[val], val_scores, tendency, sample_weight=None if weight is None else weight[val]
        )
        evaluation = est.evaluate(saved, X[test], y[test], threshold, plan.names,
                                  random_state=random_state, importances=importances,
                                  sample_weight=None if weight is None else weight[test])  # fmt: skip
        bar.update()
        evaluation.update(
            model=trained.model,
            candidates=trained.candidates,
            tendency=tendency,
            threshold_rule=rule_text,
            **dates.describe(),
            sample=s.kind,
            as_of=day.isoformat(),
            train_as_of=train_day.isoformat(),
            excluded=list(plan.excluded),
            exclusions=why,
            label_history=label_history(label_rules, dates.mode),
            features=len(plan.features),
            sampling_rates={"positive": rates[0], "negative": rates[1]},
            counts={
                "audience": s.n_audience, "positive": s.n_positive_given, "negative_given": s.n_given,
                "negative": s.n_negative, "sample_positive": take_pos, "sample_negative": take_neg,
                **({"positive_in_audience": s.n_positive} if forecast else {}),
                **_split_counts(y, train, val, test),
            },
        )  # fmt: skip
        if forecast and backtest:
            evaluation["backtest"] = run_backtest(
                ws, ent, plan, dates, trained.model, X, y, weight, saved.predict_proba,
                rules={"audience": rule_a, "positive": rule_p, "negative": rule_n},
                audience=A, max_rows=max_rows, random_state=random_state,
            )  # fmt: skip
            bar.update()
        saved.threshold, saved.evaluation = threshold, evaluation
        scores, members = _score(ws, saved, scored, day, tz)
        bar.update()
    return PredictionResult(model=saved, plan=plan, scores=scores, members=members)


# -- lookalike ------------------------------------------------------------------------


def lookalike(
    ws: Any,
    seed: Any,
    size: int,
    *,
    audience: Any = None,
    as_of: Any = None,
    entity: str | Entity | None = None,
    method: str = "pu",
    exclude: Iterable[str] = (),
    exclude_rules: Iterable[Node | None] = (),
    windows: Sequence[int] = (7, 30, 90),
    max_seeds: int = 20_000,
    max_unlabeled: int = 20_000,
    min_seeds: int = MIN_SEEDS,
    validate: bool = True,
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: bool = True,
) -> LookalikeResult:
    """Rank the non-seed entities of the audience by likeness to the seeds; keep the top ``size``.

    Parameters
    ----------
    ws
        The :class:`~segnb.Workspace`.
    seed
        Seed ids: an Ibis table (a segment's members, an uploaded list),
        rule text or a rule tree (whose tags and events are then excluded).
    size
        How many entities the lookalike segment holds.
    audience
        Where to look (ids, rule text or tree); default every entity.
    method
        ``"pu"`` (bagged positive-unlabelled learners, the default: better
        than the baseline in the tests) or ``"centroid"`` (cosine similarity
        to the seed centroid).
    max_seeds, max_unlabeled
        Bounds of the training sample.
    validate
        Also fit both methods on 80% of the sample and report the ROC AUC of
        held-out seeds against held-out unlabelled entities
        (``validation_auc``, and ``baseline_auc`` for the centroid).

    Returns
    -------
    LookalikeResult
        ``scores`` (id, score) of every non-seed audience entity; ``members``
        the ``size`` best (ties broken by id).
    """
    if method not in est.LOOKALIKE_METHODS:
        raise InvalidValueError(
            f"method={method!r} is not one of {', '.join(est.LOOKALIKE_METHODS)}"
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidValueError(f"size must be a whole number >= 1, not {size!r}")
    ent, day, tz = _context(ws, entity, as_of)
    S, rule_s = _ids(ws, ent, seed, day, "seed")
    if audience is None:
        base = ws.catalog.table(ent.table)
        A = base.select(base[ent.id]).distinct()
    else:
        A, _ = _ids(ws, ent, audience, day, "audience")  # the audience defines no label
    rules = [*exclude_rules, rule_s]
    n_seeds = _count(S)
    _require(n_seeds, int(min_seeds), "the seed", "entities")
    U = _minus(A, S, ent.id)
    n_candidates = _count(U)
    _require(n_candidates, 1, "the audience without the seeds", "entities")
    bar = _bar(5, "segnb lookalike", progress)
    with bar, _threads(n_jobs):
        plan = build_features(ws.catalog, ent, as_of=day, tz=tz, windows=windows,
                              exclude=[*exclude, *sorted(label_columns(rules))])  # fmt: skip
        bar.update()
        take_s, take_u = min(n_seeds, int(max_seeds)), min(n_candidates, int(max_unlabeled))
        X, s = _training_rows(ws, ent, plan, S, U, take_s, take_u, n_seeds, n_candidates,
                              random_state)  # fmt: skip
        bar.update()
        trained = est.fit_lookalike(X, s, method=method, random_state=random_state,
                                    n_jobs=n_jobs, progress=bar, validate=validate)  # fmt: skip
        evaluation = {
            "method": method,
            "validation_auc": trained.candidates.get(method),
            "baseline_auc": trained.candidates.get("centroid"),
            "candidates": trained.candidates,
            "as_of": day.isoformat(),
            "excluded": list(plan.excluded),
            "features": len(plan.features),
            "counts": {"seeds": n_seeds, "candidates": n_candidates, "sample_seeds": take_s,
                       "sample_unlabeled": take_u, "size": min(size, n_candidates)},
        }  # fmt: skip
        saved = SegmentModel(
            kind="lookalike", pipeline=trained.pipeline, features=plan.spec(), entity=ent.name,
            method=method, size=size, trained_as_of=day, evaluation=evaluation,
            settings={"windows": list(plan.windows), "random_state": random_state,
                      "max_seeds": max_seeds, "max_unlabeled": max_unlabeled},
        )  # fmt: skip
        scores, members = _score(ws, saved, U, day, tz)
        bar.update()
    return LookalikeResult(model=saved, plan=plan, scores=scores, members=members)


def rescore(
    ws: Any,
    model: SegmentModel,
    *,
    audience: Any = None,
    seed: Any = None,
    as_of: Any = None,
    size: int | None = None,
) -> tuple[Any, Any]:
    """Scores and members of a stored model at a new date (a refresh without retraining).

    Predictions score ``audience`` and keep ``score >= threshold``;
    lookalikes score the audience (default every entity) minus ``seed`` and
    keep the best ``size`` (default the model's). Returns ``(scores, members)``,
    both Ibis tables.
    """
    ent, day, tz = _context(ws, model.entity, as_of)
    if audience is None:
        if model.kind == "prediction":
            raise InvalidValueError("rescoring a prediction needs its audience")
        base = ws.catalog.table(ent.table)
        A = base.select(base[ent.id]).distinct()
    else:
        A, _ = _ids(ws, ent, audience, day, "audience")
    if model.kind == "lookalike" and seed is not None:
        A = _minus(A, _ids(ws, ent, seed, day, "seed")[0], ent.id)
    return _score(ws, model, A, day, tz, size=size)
