"""BG/NBD baseline of benchmarks/forecast.py, run in a Python environment that has ``lifetimes``.

Not a segnb dependency: ``benchmarks/forecast.py`` runs this file with the
interpreter given by ``--lifetimes-python``. It reads the CDNOW transactions
that ``lifetimes`` ships, fits a BG/NBD model on the calibration period and
writes, per customer, the expected number of purchases in the holdout
period (CSV ``customer_id,expected``), plus the transactions themselves
(CSV ``customer_id,ts,amount``) for segnb's warehouse.

    python benchmarks/forecast_bgnbd.py OUT_DIR CALIBRATION_END OBSERVATION_END
"""

import os
import sys

import pandas as pd
from lifetimes import BetaGeoFitter
from lifetimes.datasets import load_dataset
from lifetimes.utils import calibration_and_holdout_data


def main(out_dir: str, calibration_end: str, observation_end: str) -> None:
    raw = load_dataset(
        "CDNOW_master.txt",
        header=0,
        sep=r"\s+",
        names=["customer_id", "date", "number_of_cds", "dollar_value"],
    )
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    raw[["customer_id", "date", "dollar_value"]].rename(
        columns={"date": "ts", "dollar_value": "amount"}
    ).to_csv(os.path.join(out_dir, "transactions.csv"), index=False)
    summary = calibration_and_holdout_data(
        raw,
        "customer_id",
        "date",
        calibration_period_end=calibration_end,
        observation_period_end=observation_end,
        freq="D",
    )
    bgf = BetaGeoFitter(penalizer_coef=0.0)
    bgf.fit(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
    horizon = (pd.Timestamp(observation_end) - pd.Timestamp(calibration_end)).days
    expected = bgf.conditional_expected_number_of_purchases_up_to_time(
        horizon, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"]
    )
    out = pd.DataFrame(
        {
            "customer_id": summary.index,
            "expected": expected.to_numpy(),
            "holdout_purchases": summary["frequency_holdout"].to_numpy(),
        }
    )
    out.to_csv(os.path.join(out_dir, "bgnbd.csv"), index=False)
    print("BG/NBD", dict(bgf.params_), "customers", len(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
