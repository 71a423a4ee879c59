"""Feature tables on every backend against a plain pandas computation (tests/models_oracle.py)."""

from __future__ import annotations

import datetime
import subprocess
import sys

import pytest
from conftest import DEMO_END, EDGE_TZ
from models_oracle import assert_frames_close, latest_snapshot, top_values
from models_oracle import features as oracle_features

from segnb.errors import InvalidValueError
from segnb.lang.parse import parse_rule
from segnb.models.features import build_features, label_columns

DEMO_AS_OF = DEMO_END - datetime.timedelta(days=3)
EDGE_AS_OF = datetime.date(2025, 3, 12)


def _pulled(plan):
    frame = plan.table.to_pyarrow().to_pandas()
    return frame.set_index(plan.id).sort_index()


def test_demo_features_match_pandas(backend, frames):
    ent = backend.catalog.entity("users")
    plan = build_features(backend.catalog, ent, as_of=DEMO_AS_OF, windows=(7, 30))
    kinds = {f.kind for f in plan.features}
    assert kinds == {"number", "boolean", "days_since", "one_hot", "count", "sum", "recency"}
    want = oracle_features(frames, ent, plan).sort_index()
    assert_frames_close(_pulled(plan), want)


@pytest.mark.parametrize("tz", ["UTC", EDGE_TZ])
def test_edge_features_match_pandas(backend, frames, tz):
    """Unrelated names, DATE/timestamp/tz-aware times, constant events, a missing snapshot day."""
    ent = backend.edge.entity("accounts")
    plan = build_features(backend.edge, ent, as_of=EDGE_AS_OF, tz=tz, windows=(3, 10))
    tables = {f.table for f in plan.features}
    assert {"acct", "acct_daily", "acct_risk", "acct_log", "acct_orders", "acct_visits"} <= tables
    want = oracle_features(frames, ent, plan, tz=tz).sort_index()
    assert_frames_close(_pulled(plan), want)


def test_enum_values_are_bounded_and_frequent(duckdb_backend, frames):
    ent = duckdb_backend.catalog.entity("users")
    plan = build_features(duckdb_backend.catalog, ent, as_of=DEMO_AS_OF, max_categories=5,
                          min_share=0.01)  # fmt: skip
    cities = [f.value for f in plan.features if f.source == "city"]
    snapshot = latest_snapshot(frames["user_tags"], "dt", DEMO_AS_OF)
    assert cities == top_values(snapshot["city"], 5, 0.01)
    # identifiers (one entity per value) get no columns
    assert not [f for f in plan.features if f.source in ("device_id", "account_id")]


def test_feature_list_is_stable_and_rebuilds(duckdb_backend):
    catalog = duckdb_backend.catalog
    a = build_features(catalog, "users", as_of=DEMO_AS_OF)
    b = build_features(catalog, "users", as_of=DEMO_AS_OF)
    assert a.names == b.names
    assert list(a.table.columns) == ["user_id", *a.names]
    later = build_features(catalog, "users", as_of=DEMO_END, features=a.spec())
    assert later.names == a.names and later.as_of == DEMO_END
    described = a.describe()
    assert list(described["name"]) == a.names
    assert set(described["kind"]) <= {"number", "boolean", "days_since", "one_hot", "count",
                                      "sum", "recency"}  # fmt: skip


def test_ids_restrict_the_rows(duckdb_backend):
    catalog = duckdb_backend.catalog
    users = catalog.table("users")
    some = users.filter(users.user_id <= 50).select("user_id")
    full = build_features(catalog, "users", as_of=DEMO_AS_OF)
    part = build_features(catalog, "users", as_of=DEMO_AS_OF, features=full.spec(), ids=some)
    got = _pulled(part)
    want = _pulled(full).loc[got.index]
    assert len(got) == 50
    assert_frames_close(got, want)


def test_label_columns_and_exclusion(duckdb_backend):
    catalog = duckdb_backend.catalog
    rules = [
        parse_rule("count(purchase, T-6..T) >= 1 and city = 'Shanghai'", catalog),
        parse_rule("change(trade_cnt_7d, T-7, T-1) > 0 or is_member", catalog),
        parse_rule("sum(refund.amount, T-29..T) > 10", catalog),
    ]
    names = label_columns(rules)
    assert names == {"purchase", "city", "trade_cnt_7d", "is_member", "refund"}
    plan = build_features(catalog, "users", as_of=DEMO_AS_OF, exclude=[*names, "sum_*"])
    sources = {f.source for f in plan.features}
    assert not sources & names
    assert not [n for n in plan.names if n.startswith("sum_")]
    assert "count_login_7d" in plan.names
    with pytest.raises(InvalidValueError, match="did you mean 'purchase'"):
        build_features(catalog, "users", as_of=DEMO_AS_OF, exclude=["purchse"])


def test_import_segnb_does_not_import_sklearn():
    code = (
        "import sys, segnb, segnb.models, segnb.models.features; "
        "assert 'sklearn' not in sys.modules, 'sklearn imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
