"""Fitted scikit-learn pipelines compiled to Ibis expressions: scoring in the engine.

:func:`score_table` turns a fitted pipeline into a query over the feature
table, so the score of every entity is computed where the data lives:

- ``SimpleImputer`` -> ``coalesce(x, statistic)``, missing indicators -> ``x IS NULL``;
- ``StandardScaler`` -> ``(x - mean) / scale``;
- ``LogisticRegression`` -> a weighted sum and a sigmoid;
- decision trees, random forests and extra trees -> ``CASE`` expressions per
  tree (nested on PostgreSQL, one per chain of right children elsewhere: see
  :func:`_splits`), averaged
  (features compared as 32-bit floats, as scikit-learn does);
- ``HistGradientBoostingClassifier`` and ``GradientBoostingClassifier`` ->
  the sum of the trees' ``CASE`` expressions and a sigmoid;
- soft ``VotingClassifier``, :class:`~segnb.models.estimators.BaggingPU`
  (mean of its members), :class:`~segnb.models.estimators.ElkanNotoPU`
  (``least(1, g / c)``) and
  :class:`~segnb.models.estimators.CentroidSimilarity` (cosine similarity).

The transformed columns are computed once in an inner ``SELECT``; the trees
refer to them by name. A class without a translation raises
:class:`~segnb.errors.NotAvailableError` naming it. Parity with
``predict_proba`` is tested in ``tests/test_models_parity.py`` (max abs
difference about 1e-15 for linear models; trees take exactly the same paths).

Examples
--------
>>> scores = score_table(pipeline, plan.table, "user_id", plan.names)   # doctest: +SKIP
>>> scores.order_by(ibis.desc("score")).limit(5).to_pandas()            # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ibis
import numpy as np

from segnb.errors import NotAvailableError
from segnb.models._sql_ops import IbisOps, TextOps
from segnb.models.batches import duckdb_scores, spark_scores, view_name

__all__ = ["compile_proba", "score_table"]

_CLIP = 500.0  # exp(500) is finite in float64; PostgreSQL raises on overflow


MODES = ("auto", "ibis", "view", "python")

#: backends whose SQL the text builder writes (others get Ibis expressions)
TEXT_DIALECTS = ("duckdb", "postgres", "pyspark")


def score_table(
    pipeline: Any,
    table,
    id_column: str,
    features: Sequence[str],
    *,
    name: str = "score",
    mode: str = "auto",
):
    """An Ibis table ``(id, score)``: the pipeline's probability of class 1 for every row.

    Parameters
    ----------
    pipeline
        A fitted estimator or ``Pipeline`` whose input columns are ``features``.
    table
        An Ibis table holding ``id_column`` and the feature columns.
    id_column
        The column carried through (the entity id).
    features
        The input column names, in the order the pipeline was fitted on.
    name
        Name of the score column.
    mode
        ``"ibis"``: the score is an Ibis expression over the feature query.
        ``"view"``: the final estimator is written as SQL text into a
        temporary view of the connection (``segnb_scores_<n>``) and the
        result is that view as an Ibis table; Ibis validates and recompiles
        each node of a 60-tree forest on every execution (seconds), the view
        costs milliseconds. ``"python"``: the transforms stay SQL and the
        final estimator's own ``predict_proba`` runs inside the engine on
        Arrow batches (:mod:`segnb.models.batches`; DuckDB and Spark).
        ``"auto"``: ``python`` on Spark and, for forests, on DuckDB (about
        three times as fast as their SQL there); ``view`` otherwise.
    """
    if mode not in MODES:
        raise NotAvailableError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    steps = _steps(pipeline)
    *transforms, final = steps
    exprs = [_float(table[c]) for c in features]
    nullable = [True] * len(exprs)
    for step in transforms:
        exprs, nullable = _transform(step, exprs, nullable)
    columns = {f"_x{j}": e for j, e in enumerate(exprs)}
    # view(): a barrier, so Ibis keeps the transformed columns in a subquery
    # instead of inlining them into every tree that reads them
    stage = table.select(table[id_column], **columns).view()
    names = list(columns)
    backend = _backend(table) if mode != "ibis" else None
    mode = _choose(mode, final, backend)
    if mode == "python":
        _check_binary(final)
        run = spark_scores if backend.name == "pyspark" else duckdb_scores
        return run(final, _positive(final), stage, id_column, names, name, backend)
    if _needs_f32(final):
        stage = stage.select(
            stage[id_column], *[stage[n] for n in names],
            # rounded to float32 and back: the engine then compares doubles (DuckDB would
            # otherwise round the threshold to float32 too)
            **{f"{n}_f32": stage[n].cast("float32").cast("float64") for n in names},
        ).view()  # fmt: skip
    if mode == "ibis":
        proba = compile_proba(final, IbisOps(stage, names, nullable))
        return stage.select(stage[id_column], **{name: proba.cast("float64")})
    ops = TextOps(names, nullable, backend.name)
    proba = compile_proba(final, ops)
    view = view_name()
    query = (
        f"SELECT {ops.quote(id_column)}, CAST({proba} AS {ops.double}) AS {ops.quote(name)} "
        f"FROM ({ibis.to_sql(stage, dialect=backend.name)}) AS {ops.quote('segnb_features')}"
    )
    if backend.name == "postgres":
        # PostgreSQL's JIT compiles the thousands of CASE nodes of a forest before running
        # it: 373 s against 4.3 s without, for 60 trees on 100,000 rows
        backend.raw_sql("SET jit = off").close()
    result = backend.raw_sql(f"CREATE TEMPORARY VIEW {ops.quote(view)} AS {query}")
    if backend.name == "postgres":
        result.close()
    return backend.table(view)


#: final estimators that score faster as their own ``predict_proba`` inside DuckDB than as
#: SQL (a 60-tree forest on 1M rows: about 3x faster; boosting and linear models are not)
_PYTHON_ON_DUCKDB = {"RandomForestClassifier", "ExtraTreesClassifier"}


def _choose(mode: str, final: Any, backend) -> str:
    dialect = None if backend is None else backend.name
    if mode == "auto":
        if dialect == "pyspark" or (dialect == "duckdb" and _forests(final)):
            return "python"
        return "view" if dialect is not None else "ibis"
    if mode in ("view", "python") and dialect is None:
        raise NotAvailableError(
            f"mode={mode!r} needs a table bound to a DuckDB, PostgreSQL or Spark backend"
        )
    if mode == "python" and dialect == "postgres":
        raise NotAvailableError(
            "mode='python' runs the estimator inside DuckDB or Spark; PostgreSQL scores as SQL "
            "(mode='view')"
        )
    if dialect == "pyspark":
        return "python"
    return mode


def _forests(final: Any) -> bool:
    name = type(final).__name__
    if name in _PYTHON_ON_DUCKDB:
        return True
    if name in ("VotingClassifier", "BaggingPU"):
        return any(_forests(m) for m in getattr(final, "estimators_", []))
    if name == "ElkanNotoPU":
        return _forests(final.estimator_)
    return False


def _backend(table):
    try:
        backend = table._find_backend()
    except Exception:
        return None
    return backend if getattr(backend, "name", None) in TEXT_DIALECTS else None


def compile_proba(estimator: Any, ops: IbisOps):
    """The probability of class 1 over the transformed columns, built by ``ops``."""
    handler = _PROBA.get(type(estimator).__name__)
    if handler is None:
        raise NotAvailableError(
            f"{type(estimator).__name__} cannot be compiled to SQL; use one of "
            f"{', '.join(sorted(_PROBA))}"
        )
    _check_binary(estimator)
    return handler(estimator, ops)


# -- pipeline steps ---------------------------------------------------------------


def _steps(pipeline: Any) -> list[Any]:
    if type(pipeline).__name__ == "Pipeline":
        return [step for _, step in pipeline.steps if step not in (None, "passthrough")]
    return [pipeline]


def _float(column):
    return column if column.type().is_float64() else column.cast("float64")


def _transform(step: Any, exprs: list[Any], nullable: list[bool]) -> tuple[list[Any], list[bool]]:
    name = type(step).__name__
    if name == "SimpleImputer":
        out = _imputer(step, exprs)
        return out, [False] * len(out)
    if name == "StandardScaler":
        return _scaler(step, exprs), nullable
    raise NotAvailableError(
        f"{name} cannot be compiled to SQL; use one of SimpleImputer, StandardScaler"
    )


def _imputer(step: Any, exprs: list[Any]) -> list[Any]:
    if step.strategy not in ("mean", "median", "most_frequent", "constant"):
        raise NotAvailableError(f"SimpleImputer(strategy={step.strategy!r}) cannot be compiled")
    if not (isinstance(step.missing_values, float) and np.isnan(step.missing_values)):
        raise NotAvailableError("SimpleImputer compiles only with missing_values=np.nan")
    stats = np.asarray(step.statistics_, dtype=float)
    if len(stats) != len(exprs) or np.isnan(stats).any():
        raise NotAvailableError(
            "SimpleImputer dropped empty features; fit it with keep_empty_features=True"
        )
    out = [e.coalesce(float(s)) for e, s in zip(exprs, stats, strict=True)]
    indicator = getattr(step, "indicator_", None)
    if indicator is not None:
        out += [exprs[j].isnull().ifelse(1, 0).cast("float64") for j in indicator.features_]
    return out


def _scaler(step: Any, exprs: list[Any]) -> list[Any]:
    mean = step.mean_ if step.with_mean else np.zeros(len(exprs))
    scale = step.scale_ if step.with_std else np.ones(len(exprs))
    return [(e - float(m)) / float(s) for e, m, s in zip(exprs, mean, scale, strict=True)]


# -- final estimators -------------------------------------------------------------


def _check_binary(estimator: Any) -> None:
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise NotAvailableError(
            f"{type(estimator).__name__} has {len(classes)} classes; only binary models compile"
        )


def _positive(estimator: Any) -> int:
    classes = list(getattr(estimator, "classes_", [0, 1]))
    for label in (1, True, "1"):
        if label in classes:
            return classes.index(label)
    return 1


def _sigmoid(z, ops: IbisOps):
    clipped = ops.greatest(ops.least(z, ops.lit(_CLIP)), ops.lit(-_CLIP))  # clip() repeats z
    return ops.div(ops.lit(1.0), ops.add(ops.lit(1.0), ops.exp(ops.neg(clipped))))


def _sum(terms: list[Any], ops: IbisOps):
    """A balanced sum, so deep ensembles do not nest hundreds of levels."""
    while len(terms) > 1:
        terms = [ops.add(terms[i], terms[i + 1]) if i + 1 < len(terms) else terms[i]
                 for i in range(0, len(terms), 2)]  # fmt: skip
    return terms[0]


def _mean(terms: list[Any], ops: IbisOps, weights: Sequence[float] | None = None):
    if weights is not None:
        terms = [ops.mul(t, ops.lit(w)) for t, w in zip(terms, weights, strict=True)]
        return ops.div(_sum(terms, ops), ops.lit(float(sum(weights))))
    return ops.div(_sum(terms, ops), ops.lit(float(len(terms))))


def _logistic(est: Any, ops: IbisOps):
    coef = np.asarray(est.coef_, dtype=float).ravel()
    intercept = float(np.ravel(est.intercept_)[0])
    if _positive(est) == 0:
        coef, intercept = -coef, -intercept
    terms = [ops.mul(ops.x(j), ops.lit(w)) for j, w in enumerate(coef) if w != 0.0]
    z = ops.add(_sum(terms, ops), ops.lit(intercept)) if terms else ops.lit(intercept)
    return _sigmoid(z, ops)


def _f32_cut(threshold: float) -> float:
    """A cut that float32 values fall on the same side of as ``threshold``, far from any of them.

    For a float32 ``x``, ``x <= threshold`` iff ``x <= t`` with ``t`` the
    largest float32 not above the threshold, iff ``x`` is below the midpoint
    of ``t`` and the next float32: half a float32 step from every float32, so
    no rounding of the literal can move a value across it.
    """
    t = np.float32(threshold)
    if float(t) > threshold:
        t = np.nextafter(t, np.float32(-np.inf))
    up = np.nextafter(t, np.float32(np.inf))
    if not np.isfinite(up) or not np.isfinite(t):
        return threshold
    return (float(t) + float(up)) / 2.0


def _splits(root: int, is_leaf, leaf_value, cond, left, right, ops: IbisOps):
    """A binary tree as CASE expressions: nested, or one per chain of right children.

    ``CASE WHEN a THEN L ELSE CASE WHEN b THEN M ELSE R END END`` is the same
    first-true choice (a NULL condition is not true in either) as
    ``CASE WHEN a THEN L WHEN b THEN M ELSE R END``, which has one CASE for
    each left child instead of one for every split. DuckDB keeps state for
    each CASE and runs each on its own slice of every vector: a 60-tree
    forest scores 1.2 to 1.5 times faster as chains. ``ops.chains`` chooses.
    """

    def chain(i: int):
        branches = []
        while not is_leaf(i):
            branches.append((cond(i), chain(left(i))))
            i = right(i)
        value = ops.lit(leaf_value(i))
        return ops.cases(branches, value) if branches else value

    def nested(i: int):
        if is_leaf(i):
            return ops.lit(leaf_value(i))
        return ops.case(cond(i), nested(left(i)), nested(right(i)))

    return chain(root) if ops.chains else nested(root)


def _tree_case(tree: Any, leaf_value: Callable[[int], float], ops: IbisOps, f32: bool):
    """One fitted ``sklearn.tree._tree.Tree`` as CASE expressions."""
    left, right = tree.children_left, tree.children_right
    feature, threshold = tree.feature, tree.threshold
    # scikit-learn >= 1.3 routes NaN by missing_go_to_left; NULL fails `<=` and goes right
    missing_left = getattr(tree, "missing_go_to_left", None)

    def cond(i: int):
        j = int(feature[i])
        x = ops.f32(j) if f32 else ops.x(j)
        out = ops.le(x, ops.lit(_f32_cut(float(threshold[i])) if f32 else float(threshold[i])))
        if ops.nullable[j] and missing_left is not None and bool(missing_left[i]):
            out = ops.or_(out, ops.isnull(x))
        return out

    return _splits(0, lambda i: left[i] == -1, leaf_value, cond,
                   lambda i: int(left[i]), lambda i: int(right[i]), ops)  # fmt: skip


def _class_tree_case(member: Any, k: int, ops: IbisOps):
    values = member.tree_.value[:, 0, :]
    totals = values.sum(axis=1)
    return _tree_case(
        member.tree_, lambda i: values[i, k] / totals[i] if totals[i] else 0.0, ops, True
    )


def _class_tree(est: Any, ops: IbisOps):
    return _class_tree_case(est, _positive(est), ops)


def _forest(est: Any, ops: IbisOps):
    k = _positive(est)
    return _mean([_class_tree_case(member, k, ops) for member in est.estimators_], ops)


def _hist_gradient_boosting(est: Any, ops: IbisOps):
    if getattr(est, "is_categorical_", None) is not None and np.any(est.is_categorical_):
        raise NotAvailableError("HistGradientBoostingClassifier with categorical features")
    baseline = float(np.ravel(est._baseline_prediction)[0])
    terms = []
    for (predictor,) in est._predictors:
        nodes = predictor.nodes

        def cond(i: int, nodes=nodes):
            j = int(nodes[i]["feature_idx"])
            out = ops.le(ops.x(j), ops.lit(nodes[i]["num_threshold"]))
            if ops.nullable[j] and nodes[i]["missing_go_to_left"]:
                out = ops.or_(out, ops.isnull(ops.x(j)))
            return out

        terms.append(_splits(
            0, lambda i, n=nodes: n[i]["is_leaf"], lambda i, n=nodes: n[i]["value"], cond,
            lambda i, n=nodes: int(n[i]["left"]), lambda i, n=nodes: int(n[i]["right"]), ops,
        ))  # fmt: skip
    z = ops.add(_sum(terms, ops), ops.lit(baseline)) if terms else ops.lit(baseline)
    if _positive(est) == 0:
        z = ops.neg(z)
    return _sigmoid(z, ops)


def _gradient_boosting(est: Any, ops: IbisOps):
    if getattr(est, "loss", "log_loss") not in ("log_loss", "deviance"):
        raise NotAvailableError(f"GradientBoostingClassifier(loss={est.loss!r}) cannot be compiled")
    init = float(np.ravel(est._raw_predict_init(np.zeros((1, est.n_features_in_))))[0])
    rate = float(est.learning_rate)
    terms = []
    for (member,) in est.estimators_:
        values = member.tree_.value[:, 0, 0]
        terms.append(_tree_case(member.tree_, lambda i, v=values: rate * v[i], ops, True))
    z = ops.add(_sum(terms, ops), ops.lit(init)) if terms else ops.lit(init)
    return _sigmoid(z, ops)


def _voting(est: Any, ops: IbisOps):
    if est.voting != "soft":
        raise NotAvailableError("VotingClassifier compiles only with voting='soft'")
    weights = None if est.weights is None else [float(w) for w in est.weights]
    return _mean([compile_proba(m, ops) for m in est.estimators_], ops, weights)


def _bagging_pu(est: Any, ops: IbisOps):
    return _mean([compile_proba(m, ops) for m in est.estimators_], ops)


def _elkan_noto(est: Any, ops: IbisOps):
    return ops.least(ops.div(compile_proba(est.estimator_, ops), ops.lit(est.c_)), ops.lit(1.0))


def _centroid(est: Any, ops: IbisOps):
    c = np.asarray(est.centroid_, dtype=float)
    dot = _sum([ops.mul(ops.x(j), ops.lit(w)) for j, w in enumerate(c)], ops)
    squares = _sum([ops.mul(ops.x(j), ops.x(j)) for j in range(len(ops))], ops)
    norm = ops.mul(ops.sqrt(squares), ops.lit(float(np.linalg.norm(c))))
    cos = ops.case(ops.gt(norm, ops.lit(0.0)), ops.div(dot, ops.nullif0(norm)), ops.lit(0.0))
    return ops.div(ops.add(cos, ops.lit(1.0)), ops.lit(2.0))


_PROBA: dict[str, Callable[[Any, IbisOps], Any]] = {
    "LogisticRegression": _logistic,
    "DecisionTreeClassifier": _class_tree,
    "RandomForestClassifier": _forest,
    "ExtraTreesClassifier": _forest,
    "HistGradientBoostingClassifier": _hist_gradient_boosting,
    "GradientBoostingClassifier": _gradient_boosting,
    "VotingClassifier": _voting,
    "BaggingPU": _bagging_pu,
    "ElkanNotoPU": _elkan_noto,
    "CentroidSimilarity": _centroid,
}

#: estimators whose trees compare 32-bit floats (scikit-learn's DTYPE for trees)
_F32 = {"DecisionTreeClassifier", "RandomForestClassifier", "ExtraTreesClassifier",
        "GradientBoostingClassifier"}  # fmt: skip


def _needs_f32(est: Any) -> bool:
    name = type(est).__name__
    if name in _F32:
        return True
    members = getattr(est, "estimators_", None)
    if name in ("VotingClassifier", "BaggingPU") and members is not None:
        return any(_needs_f32(m) for m in members)
    if name == "ElkanNotoPU":
        return _needs_f32(est.estimator_)
    return False
