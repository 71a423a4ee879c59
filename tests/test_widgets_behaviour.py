"""The wizard's behaviour row with the new measures; the other behaviour conditions as rule text."""

from __future__ import annotations

import pytest
from store_tools import AS_OF

pytest.importorskip("ipywidgets")

from segnb.widgets import SegmentWizard

pytest_plugins = ("store_helpers",)

RULE = (
    "avg(purchase.amount, T-29..T) > 50 and distinct(purchase.industry, T-29..T) >= 2"
    " or active_days(login, T-6..T) >= 3 and did(add_cart then purchase within 2h, T-6..T)"
)


def test_the_new_measures_fill_the_behaviour_row(store_ws):
    app = SegmentWizard(store_ws)
    app.state.as_of = AS_OF
    app.state.rule = RULE
    app.wait()
    (avg, distinct), (days, sequence) = app.groups
    assert (avg.kind, avg.measure, avg.field, avg.days, avg.op) == (
        "event",
        "avg",
        "amount",
        30,
        ">",
    )
    assert (distinct.measure, distinct.field) == ("distinct", "industry")
    assert (days.measure, days.name, days.days) == ("active_days", "login", 7)
    assert sequence.kind == "text" and "then" in sequence.text
    assert app.state.rule == RULE
    assert app.state.estimate == store_ws.estimate(RULE, as_of=AS_OF) > 0


def test_a_new_row_measures_max_of_a_number_field(store_ws):
    app = SegmentWizard(store_ws)
    app.state.as_of = AS_OF
    row = app.add_condition("event", name="purchase", measure="max", days=30, op=">", value=100)
    app.wait()
    assert row.field == "amount"
    assert app.state.rule == "max(purchase.amount, T-29..T) > 100"
    assert app.state.estimate == store_ws.estimate(app.state.rule, as_of=AS_OF)
    row.measure = "distinct"
    row.field = "industry"
    row.value = 2
    app.wait()
    assert app.state.rule == "distinct(purchase.industry, T-29..T) > 2"
