"""AI prediction at scale: train on a sample, score 1M users in the engine vs in Python.

Usage::

    python benchmarks/models.py                          # 1M users x 20 columns, all three models
    python benchmarks/models.py --users 200000 --models gradient_boosting

Builds (once) a DuckDB warehouse with a ``users`` table of ``--users`` rows
and 20 attribute columns (12 numbers with missing values, 3 booleans, 2
enums, 1 date, 2 integers) — 25 feature columns after one-hot encoding — and
a ``labels`` table drawn from a non-linear function of them (about 12%
positive). For each model it prints, in one run:

- train: ``segnb.models.api.predict`` (features, a stratified sample of
  ``--max-rows`` pulled into pandas, fit, threshold, held-out evaluation);
- engine: re-scoring every user in the engine, materialised with
  ``CREATE TABLE … AS`` (feature query + compiled model);
- python: pulling the same feature table into pandas and ``predict_proba``;
- the max abs difference between the two, and peak memory (process RSS,
  DuckDB included) before and after each phase.

Engine and Python phases also print their CPU seconds (DuckDB's threads
included): on a machine shared with other work the wall times of phases
run a minute apart can see different loads, their CPU seconds much less.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import ibis
import numpy as np

import segnb
from segnb.models.api import predict, rescore

CATALOG = {"entities": {"users": {"table": "users", "id": "user_id"}}}
AS_OF = dt.date(2025, 3, 31)


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(path: Path, users: int) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("""
        -- one hash of one value per (row, column): hash(i, k) of two values is not mixed enough
        CREATE TEMP MACRO u(i, k) AS (hash(i * 1000 + k) >> 11)::DOUBLE / 9007199254740992.0;
        CREATE TEMP MACRO z(i, k) AS sqrt(-2 * ln(1 - u(i, k))) * cos(2 * pi() * u(i, k + 300));
    """)
    numbers = ",\n".join(
        f"CASE WHEN u(i, {k + 50}) < 0.05 THEN NULL ELSE round(z(i, {k + 200}), 4) END AS x{k}"
        for k in range(12)
    )
    con.execute(f"""
        CREATE TABLE users AS
        SELECT i AS user_id, {numbers},
            u(i, 20) < 0.3 AS flag_a, u(i, 21) < 0.5 AS flag_b, u(i, 22) < 0.1 AS flag_c,
            ['ads', 'organic', 'social', 'referral', 'email'][1 + floor(5 * u(i, 23))::INT] AS channel,
            ['bronze', 'silver', 'gold', 'platinum'][1 + floor(4 * pow(u(i, 24), 2))::INT] AS tier,
            DATE '2025-03-31' - floor(1000 * u(i, 25))::INT AS signup_date,
            floor(10 * u(i, 26))::INT AS visits, floor(80 * u(i, 27))::INT AS age
        FROM range(1, {users} + 1) r(i)
    """)
    con.execute("""
        CREATE TABLE labels AS
        SELECT user_id, u(user_id, 99) < 1 / (1 + exp(-(
            -2.6 + 0.9 * coalesce(x0, 0) - 0.6 * coalesce(x1, 0) + 0.5 * coalesce(x2, 0) * coalesce(x3, 0)
            + 0.8 * (coalesce(x4, 0) > 1)::INT + 0.7 * flag_a::INT - 0.4 * flag_c::INT
            + CASE tier WHEN 'gold' THEN 0.6 WHEN 'platinum' THEN 1.0 ELSE 0 END
            + 0.08 * visits - 0.0006 * (DATE '2025-03-31' - signup_date)
        ))) AS label
        FROM users
    """)
    con.close()


#: CPU seconds of the last timed() call, DuckDB's threads included (they run in this process)
CPU = [0.0]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn):
    started, cpu = time.perf_counter(), cpu_s()
    result = fn()
    CPU[0] = cpu_s() - cpu
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=None)
    parser.add_argument("--max-rows", type=int, default=100_000)
    parser.add_argument("--models", nargs="+",
                        default=["logistic", "random_forest", "gradient_boosting"])  # fmt: skip
    args = parser.parse_args(argv)
    path = args.path or Path(tempfile.gettempdir()) / f"segnb_models_{args.users}.duckdb"
    if not path.exists():
        _, seconds = timed(lambda: build(path, args.users))
        print(f"built {path} ({args.users:,} users) in {seconds:.1f}s")
    ws = segnb.connect(f"duckdb:///{path}", catalog=CATALOG)
    labels = ws.con.table("labels")
    users = ws.catalog.table("users").select("user_id")
    print(f"users={args.users:,}  positives={int(labels.label.sum().execute()):,}  "
          f"max_rows={args.max_rows:,}  start peak RSS {rss_mb():.0f} MB")  # fmt: skip
    # all engine phases first, then the Python ones: peak RSS after the first loop is
    # what in-engine scoring needed, the growth in the second what Python scoring needs
    results = {}
    for model in args.models:
        res, train_s = timed(lambda m=model: predict(
            ws, audience=users, positive=labels.filter(labels.label).select("user_id"),
            negative=labels.filter(~labels.label).select("user_id"), model=m, as_of=AS_OF,
            max_rows=args.max_rows, importances=False, progress=False,
        ))  # fmt: skip
        e = res.evaluation()
        sample = e["counts"]["sample_positive"] + e["counts"]["sample_negative"]
        print(f"\n== {model}: {len(res.plan.features)} features, held-out ROC AUC "
              f"{e['roc_auc']:.4f}, threshold {res.threshold:.4f}")  # fmt: skip
        print(f"train (features + sample of {sample:,} rows + fit + evaluation): {train_s:.2f}s"
              f"   peak RSS {rss_mb():.0f} MB")  # fmt: skip

        def engine(model_=res.model, table=f"bench_scores_{model}"):
            scores, _ = rescore(ws, model_, audience=users, as_of=AS_OF)
            ws.con.raw_sql(f"DROP TABLE IF EXISTS {table}")
            # a temporary table: the warehouse is attached read-only
            ws.con.raw_sql(f"CREATE TEMP TABLE {table} AS {ibis.to_sql(scores, dialect='duckdb')}")
            return int(ws.con.table(table).count().execute())

        n, engine_s = timed(engine)
        print(f"engine: score {n:,} users, materialised: {engine_s:.2f}s (CPU {CPU[0]:.1f}s)"
              f"   peak RSS {rss_mb():.0f} MB")  # fmt: skip
        results[model] = res
    print(f"\npeak RSS after training and in-engine scoring of every model: {rss_mb():.0f} MB")
    for model, res in results.items():
        plan = res.model.plan(ws.catalog, as_of=AS_OF)
        frame, pull_s = timed(lambda p=plan: p.table.to_pyarrow().to_pandas())
        pull_cpu = CPU[0]
        features = frame[plan.names].to_numpy(dtype=float, na_value=np.nan)
        python_scores, predict_s = timed(lambda m=res.model, x=features: m.predict_proba(x)[:, 1])
        print(f"== {model} python: pull features {pull_s:.2f}s + predict_proba {predict_s:.2f}s"
              f" = {pull_s + predict_s:.2f}s (CPU {pull_cpu + CPU[0]:.1f}s)"
              f"   peak RSS {rss_mb():.0f} MB")  # fmt: skip
        engine_scores = (
            ws.con.table(f"bench_scores_{model}").to_pyarrow().to_pandas().set_index("user_id")
            .loc[frame["user_id"], "score"].to_numpy()
        )  # fmt: skip
        print(f"   max |engine - predict_proba| over {len(frame):,} users: "
              f"{np.max(np.abs(engine_scores - python_scores)):.3g}")  # fmt: skip
        del frame, features, python_scores, engine_scores
        ws.con.raw_sql(f"DROP TABLE IF EXISTS bench_scores_{model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
