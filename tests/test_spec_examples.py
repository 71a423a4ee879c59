"""Every example rule of SPEC §3, parsed and compiled on every backend.

Each line is copied verbatim from the specification (comments included) and
must select exactly what the pandas oracle selects on the demo warehouse, for
T the day after the data and T inside it. Examples with fixed dates long
before the demo's range also run with their dates moved into it, where they
must select somebody, so that they test something.
"""

from __future__ import annotations

import datetime

import pytest
from conftest import DEMO_END
from oracle import Oracle

from segnb.compile.rules import compile_rule
from segnb.errors import NotAvailableError
from segnb.lang.parse import parse_rule

# SPEC §3, "The rule language", verbatim.
SPEC_EXAMPLES = [
    'city in ("Shenzhen", "Guangzhou", "Shanghai")',
    "is_black_list = false              # or simply: not is_black_list",
    "register_time >= 2024-08-06",
    "trade_cnt_7d between 5 and 20",
    'city@2024-08-01 = "Shenzhen"',
    "change(trade_cnt_7d, 2024-07-30, 2024-08-04) > 100",
    "change(trade_cnt_7d, T-7, T-1) < 0",
    "count(purchase, 2025-03-26..2025-04-01) >= 4",
    'count(purchase where industry = "Food & Beverages", T-6..T) >= 1',
    "sum(purchase.amount, T-29..T) > 500",
    "did(view_product, T-6..T) and not did(purchase, T-6..T)",
    "count(purchase, T-29..T) = 0       # includes entities with no events at all",
    'channel in ("ads", "organic")',
]
# SPEC §3, "More behaviour", verbatim.
SPEC_EXAMPLES += [
    "first(purchase) >= T-29                     # new buyers: first purchase ever within the last 30 days",
    "first(purchase, T-89..T) <= T-60           # the first purchase inside a window (unknown if none there)",
    "last(purchase) < T-89                       # lapsed: last purchase before that day (unknown if never)",
    "days_since(login) > 14                      # T minus the day of the last login; unknown if never",
    "avg(purchase.amount, T-29..T) > 50          # also min(...), max(...)",
    "distinct(purchase.industry, T-89..T) >= 3   # number of distinct values",
    "active_days(login, T-29..T) >= 10           # days with at least one event",
    "did(view_product then add_cart then purchase within 1d, T-29..T)",
    "not did(add_cart then purchase within 2h, T-6..T) and did(add_cart, T-6..T)  # abandoned carts",
]
# from the comment of the second example, and the rules of SPEC §4 and §5
MORE_EXAMPLES = [
    "not is_black_list",
    "count(purchase, T-6..T) >= 2 and not is_black_list",
    "count(purchase, T-6..T) >= 2",
    "city = 'Shenzhen'",
    "min(purchase.amount, T-29..T) < 20",
    "max(purchase.amount where industry = 'Food & Beverages') > 100",
]
STORE_EXAMPLES = ["in_segment(vip_q4)", "score(churn_risk) >= 0.8"]

# The fixed-date examples with their dates moved into the demo's range
# (2025-02-15 .. 2025-03-31). A change of more than 100 purchases a week does
# not happen in the demo, so that threshold moves too.
SHIFTED = {
    "register_time >= 2024-08-06": "register_time >= 2025-03-10",
    'city@2024-08-01 = "Shenzhen"': 'city@2025-03-01 = "Shenzhen"',
    "change(trade_cnt_7d, 2024-07-30, 2024-08-04) > 100": (
        "change(trade_cnt_7d, 2025-03-20, 2025-03-25) > 2"
    ),
    "count(purchase, 2025-03-26..2025-04-01) >= 4": "count(purchase, 2025-03-18..2025-03-31) >= 2",
}
# The demo has 45 days of events: T-60 and T-89 are before them, so these move to T-30.
SHIFTED.update(
    {
        SPEC_EXAMPLES[-8]: "first(purchase, T-89..T) <= T-30",
        SPEC_EXAMPLES[-7]: "last(purchase) < T-30",
    }
)

AS_OF = {
    "after": DEMO_END + datetime.timedelta(days=1),
    "inside": DEMO_END - datetime.timedelta(days=12),
}


@pytest.fixture(scope="session")
def demo_oracle(frames, duckdb_backend):
    oracle = Oracle(frames, duckdb_backend.catalog)
    cache: dict = {}

    def members(rule, as_of):
        if (rule, as_of) not in cache:
            cache[rule, as_of] = oracle.members(rule, as_of)
        return cache[rule, as_of]

    return members


def check(backend, demo_oracle, text: str, as_of: datetime.date) -> set:
    rule = parse_rule(text, backend.catalog)
    ids = compile_rule(rule, backend.catalog, as_of=as_of).to_pyarrow().column(0).to_pylist()
    expected = demo_oracle(rule, as_of)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected, f"{text!r} with T = {as_of}"
    return expected


@pytest.mark.parametrize("when", list(AS_OF))
@pytest.mark.parametrize("text", SPEC_EXAMPLES + MORE_EXAMPLES)
def test_example(backend, demo_oracle, text, when):
    check(backend, demo_oracle, text, AS_OF[when])


@pytest.mark.parametrize("text", list(SHIFTED))
def test_fixed_dates_moved_into_the_data(backend, demo_oracle, text):
    assert text in SPEC_EXAMPLES
    for as_of in AS_OF.values():
        assert check(backend, demo_oracle, SHIFTED[text], as_of), f"{SHIFTED[text]!r}: nobody"


def test_examples_select_somebody(duckdb_backend, demo_oracle):
    """Apart from fixed dates before the data, every example is a real test."""
    as_of = AS_OF["after"]
    for text in SPEC_EXAMPLES + MORE_EXAMPLES:
        if text in SHIFTED and text != "count(purchase, 2025-03-26..2025-04-01) >= 4":
            continue
        rule = parse_rule(text, duckdb_backend.catalog)
        assert demo_oracle(rule, as_of), f"{text!r} selects nobody"


@pytest.mark.parametrize("text", STORE_EXAMPLES)
def test_store_examples(duckdb_backend, text):
    rule = parse_rule(text, duckdb_backend.catalog, segments=["vip_q4"], scores=["churn_risk"])
    with pytest.raises(NotAvailableError, match="needs the segment store"):
        compile_rule(rule, duckdb_backend.catalog, as_of=AS_OF["after"])
