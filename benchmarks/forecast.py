"""Forecasts measured: segnb's default forecast against BG/NBD on CDNOW, and on the demo's truth.

Two questions, each answered on held-out entities:

1. **CDNOW** (the real transactions ``lifetimes`` ships: 23,570 customers,
   1997-01 to 1998-06): "as of the end of September 1997, who buys again in
   the next 39 weeks?". Customers are split 70/30 by a seeded draw. segnb
   trains on the 70 % with its default training date (the day before the
   earliest day the positive rule ``did(purchase, T-272..T)`` reads, on
   ``as_of`` 1998-06-30: 1997-09-30), then scores the 30 % with their
   features of 1997-09-30. BG/NBD (``lifetimes.BetaGeoFitter``) is fitted on
   the calibration period (to 1997-09-30) and ranks the same 30 % by the
   expected purchases in the holdout period. Both: ROC AUC and lift at 20 %.
2. **Demo warehouse**: a forecast of "purchases in the next 7 days" (trained
   on the last week's purchases, features a week earlier, scored on the last
   day) against ``ground_truth.will_purchase``, compared on the same held-out
   half with a model trained on the ground-truth labels (features on the
   last day) and with a model of the hidden propensity itself.

``lifetimes`` is not a segnb dependency: give the interpreter of an
environment that has it (``pip install lifetimes 'pandas<2.2' 'numpy<2'``)::

    python benchmarks/forecast.py --lifetimes-python /path/to/venv/bin/python [--out DIR] [--seeds 5]
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import segnb
from segnb.models.api import predict, rescore
from segnb.models.evaluation import lift

HERE = Path(__file__).resolve().parent
CALIBRATION_END = datetime.date(1997, 9, 30)
OBSERVATION_END = datetime.date(1998, 6, 30)
CDNOW_CATALOG = {
    "entities": {
        "customers": {
            "table": "customers",
            "id": "customer_id",
            "events": {"table": "orders", "id": "customer_id", "time": "ts", "event": "purchase"},
        }
    }
}


def cdnow(lifetimes_python: str, out: Path, seed: int = 0) -> dict:
    import duckdb
    import pandas as pd

    subprocess.run(
        [lifetimes_python, str(HERE / "forecast_bgnbd.py"), str(out),
         CALIBRATION_END.isoformat(), OBSERVATION_END.isoformat()],
        check=True,
    )  # fmt: skip
    path = out / "cdnow.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"""
        CREATE TABLE orders AS SELECT customer_id::BIGINT AS customer_id, ts::TIMESTAMP AS ts,
            amount::DOUBLE AS amount FROM read_csv_auto('{out / "transactions.csv"}');
        CREATE TABLE customers AS SELECT DISTINCT customer_id FROM orders ORDER BY 1;
    """)
    ids = np.array([r[0] for r in con.execute("SELECT customer_id FROM customers").fetchall()])
    test = np.random.default_rng(seed).random(len(ids)) < 0.3
    con.execute("CREATE TABLE split (customer_id BIGINT, test BOOLEAN)")
    con.executemany(
        "INSERT INTO split VALUES (?, ?)",
        [(int(i), bool(t)) for i, t in zip(ids, test, strict=True)],
    )
    con.close()

    ws = segnb.connect(f"duckdb:///{path}", catalog=CDNOW_CATALOG)
    split = ws.con.table("split")
    train_ids = split.filter(~split.test).select("customer_id")
    test_ids = split.filter(split.test).select("customer_id")
    t0 = time.perf_counter()
    res = predict(ws, audience=train_ids, positive="did(purchase, T-272..T)",
                  as_of=OBSERVATION_END, n_jobs=1, progress=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    e = res.evaluation()
    scores, _ = rescore(ws, res.model, audience=test_ids, as_of=e["feature_date"])
    got = scores.to_pyarrow().to_pandas().set_index("customer_id")
    bg = pd.read_csv(out / "bgnbd.csv").set_index("customer_id")
    held = bg.loc[ids[test]]
    y = (held["holdout_purchases"] > 0).to_numpy().astype(int)
    s_segnb = got.loc[held.index, "score"].to_numpy()
    s_bg = held["expected"].to_numpy()
    result = {
        "customers": len(ids), "test_customers": int(test.sum()), "test_positive_rate": float(y.mean()),
        "segnb": {"roc_auc": float(roc_auc_score(y, s_segnb)), "lift_20": lift(y, s_segnb, 0.2),
                  "model": e["model"], "candidates": e["candidates"], "mode": e["mode"],
                  "feature_date": e["feature_date"], "label_window": e["label_window"],
                  "features": e["features"], "train_seconds": round(seconds, 1),
                  "backtest": {k: e["backtest"].get(k) for k in ("available", "reason", "roc_auc")}},
        "bgnbd": {"roc_auc": float(roc_auc_score(y, s_bg)), "lift_20": lift(y, s_bg, 0.2)},
    }  # fmt: skip
    ws.con.disconnect()
    return result


def demo(out: Path, users: int = 10_000, days: int = 40, seed: int = 11) -> dict:
    from segnb.demo.generate import generate

    end = datetime.date(2025, 3, 31)
    path = out / "demo.duckdb"
    if not path.exists():
        generate(path, users=users, days=days, seed=seed, end=end)
    ws = segnb.connect(f"duckdb:///{path}")
    everyone = ws.catalog.table("users").select("user_id")
    t0 = time.perf_counter()
    res = predict(ws, audience=everyone, positive="did(purchase, T-6..T)", as_of=end, n_jobs=1,
                  progress=False, importances=False)  # fmt: skip
    seconds = time.perf_counter() - t0
    truth = ws.con.table("ground_truth").to_pandas().set_index("user_id").sort_index()
    ids = truth.index.to_numpy()
    held = np.random.default_rng(0).random(len(ids)) < 0.5
    y = truth["will_purchase"].to_numpy().astype(int)
    forecast = res.scores.to_pyarrow().to_pandas().set_index("user_id").loc[ids, "score"]
    gt = ws.con.table("ground_truth")
    half = gt.filter(gt.user_id.isin([int(i) for i in ids[~held]]))
    reference = predict(ws, audience=everyone, positive=half.filter(half.will_purchase).select("user_id"),
                        negative=half.filter(~half.will_purchase).select("user_id"), as_of=end,
                        n_jobs=1, progress=False, importances=False)  # fmt: skip
    ref = reference.scores.to_pyarrow().to_pandas().set_index("user_id").loc[ids, "score"]
    logit = np.log(truth["propensity"] / (1 - truth["propensity"])).to_numpy()[:, None]
    oracle = LogisticRegression().fit(logit[~held], y[~held]).predict_proba(logit[held])[:, 1]
    auc = {
        "forecast": float(roc_auc_score(y[held], forecast.to_numpy()[held])),
        "true_label_model": float(roc_auc_score(y[held], ref.to_numpy()[held])),
        "propensity_model": float(roc_auc_score(y[held], oracle)),
    }
    e = res.evaluation()
    bt = e["backtest"]
    ws.con.disconnect()
    return {
        "users": users, "days": days, "auc": auc,
        "ratio_to_true_label_model": auc["forecast"] / auc["true_label_model"],
        "ratio_to_propensity_model": auc["forecast"] / auc["propensity_model"],
        "forecast": {"model": e["model"], "feature_date": e["feature_date"],
                     "label_window": e["label_window"], "train_seconds": round(seconds, 1)},
        "backtest": {k: bt.get(k) for k in ("roc_auc", "pr_auc", "lift_10", "lift_20", "brier")},
        "reference_model": reference.evaluation()["model"],
    }  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifetimes-python", required=True,
                        help="python of an environment with lifetimes installed")  # fmt: skip
    parser.add_argument("--out", default=None, help="working directory (default: a temporary one)")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--seeds", type=int, default=1,
                        help="CDNOW: also repeat with other 70/30 splits (seeds 1..N-1)")  # fmt: skip
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        report = {"cdnow": cdnow(args.lifetimes_python, out)}
        if args.seeds > 1:
            report["cdnow_splits"] = [
                {"seed": seed, **{k: r[k] for k in ("segnb", "bgnbd")}}
                for seed, r in (
                    (s, cdnow(args.lifetimes_python, out, s)) for s in range(args.seeds)
                )
            ]
        if not args.skip_demo:
            report["demo"] = demo(out)
    print(json.dumps(report, indent=2))
    c = report["cdnow"]
    ok = (
        c["segnb"]["roc_auc"] > c["bgnbd"]["roc_auc"]
        and c["segnb"]["lift_20"] > c["bgnbd"]["lift_20"]
    )
    if "demo" in report:
        ok = ok and report["demo"]["ratio_to_true_label_model"] >= 0.97
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
