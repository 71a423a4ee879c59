"""``%segment predict ... --horizon``: forecasts from the notebook (a real IPython shell, DuckDB)."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError
from magics_tools import magics, run
from store_tools import AS_OF

from segnb.magics.results import SegmentResult

pytest_plugins = ("magics_helpers",)


@pytest.fixture
def inputs(duck):
    run(duck, f"%%segment buyers --as-of {AS_OF}\ncount(purchase, T-6..T) >= 1")
    run(duck, f"%segment from-table everyone users --id-column user_id --as-of {AS_OF}")
    return duck


def test_horizon_reaches_predict(inputs, monkeypatch):
    ws = magics(inputs).ws
    calls = []

    def predict(name, **kw):
        calls.append((name, kw))
        return ws.segment("buyers")

    monkeypatch.setattr(ws, "predict", predict)
    result = run(inputs, "%segment predict soon --audience everyone --positive buyers "
                 f"--horizon 14d --as-of {AS_OF}")  # fmt: skip
    assert isinstance(result, SegmentResult)
    ((name, kw),) = calls
    assert name == "soon" and kw["horizon"] == "14d"


def test_forecast_segment_from_the_notebook(inputs):
    seg = run(inputs, "%segment predict soon --audience everyone --positive buyers "
              f"--model logistic --horizon 14d --as-of {AS_OF}")  # fmt: skip
    e = seg.evaluation()
    assert e["mode"] == "forecast" and e["horizon_days"] == 14
    assert e["feature_date"] == "2025-03-17" and e["label_window"] == ["2025-03-25", "2025-03-31"]
    assert "purchase" in e["label_history"]
    ws = magics(inputs).ws
    assert ws.segment("soon").backtest()["available"]
    # the horizon is kept as given, so a retrain trains 14 days before its own as_of
    definition = json.loads(ws.store.segment_row("soon")["definition"])
    assert definition["settings"]["horizon"] == "14d"
    with pytest.raises(UsageError, match=r"horizon='7x' is not a horizon"):
        run(inputs, "%segment predict later --audience everyone --positive buyers --horizon 7x")
    assert "later" not in ws.segment_names()
