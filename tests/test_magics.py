"""The magics in a real IPython shell, on DuckDB and PostgreSQL: connect, create, show, list.

Sizes are checked against the Python API's own evaluation of the same rule
(``ws.estimate``), itself checked against a pandas oracle by the engine tests.
"""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from magics_tools import magics, run
from store_tools import AS_OF

import segnb
from segnb.magics.results import EstimateResult, SegmentListResult, SegmentResult

pytest_plugins = ("magics_helpers",)

BUYERS = "count(purchase, T-6..T) >= 1"
CHURN = "count(purchase, T-29..T) = 0 and not is_black_list"


def test_connect_shows_the_warehouse(connected, backend):
    result = run(connected, "%segnb status")
    assert result.workspace is magics(connected).ws
    text = repr(result)
    assert f"({backend.name})" in text and "users: table users (id user_id)" in text
    assert "owner 'tester'" in text
    assert "<table" in result._repr_html_()


def test_create_show_list(connected):
    ip = connected
    seg = run(
        ip,
        f"%%segment buyers --group Q4 --refresh daily --describe 'bought lately' "
        f"--as-of {AS_OF}\n{BUYERS}\n",
    )
    assert isinstance(seg, SegmentResult) and isinstance(seg, segnb.Segment)
    ws = magics(ip).ws
    assert seg.size == ws.estimate(BUYERS, as_of=AS_OF) > 0
    d = seg.to_dict()
    assert (d["group"], d["refresh"], d["description"], d["owner"]) == (
        "Q4",
        "daily",
        "bought lately",
        "tester",
    )
    assert d["text"] == BUYERS and d["as_of"] == AS_OF and d["method"] == "rules"

    run(ip, "seg = %segment show buyers")
    shown = ip.user_ns["seg"]
    assert shown == seg and shown.size == seg.size
    assert ip.user_ns["_"] == seg  # the displayhook keeps the result too
    html = shown._repr_html_()
    for part in (
        "buyers",
        "active",
        f"{seg.size:,} users",
        "Q4",
        "daily",
        "never",
        "<details",
        "SQL",
        "count(purchase, T-6..T) &gt;= 1",
    ):
        assert part in html
    assert repr(shown).startswith("<segnb.Segment 'buyers' active:")

    run(ip, f"%%segment churn_risk --as-of {AS_OF}\n{CHURN}")
    listed = run(ip, "%segment list")
    assert isinstance(listed, SegmentListResult)
    assert [s.name for s in listed] == ["buyers", "churn_risk"]
    assert [s.name for s in run(ip, "%segment list --group Q4")] == ["buyers"]
    assert [s.name for s in run(ip, "%segment list --search churn")] == ["churn_risk"]
    assert [s.name for s in run(ip, "%segment list --method sets")] == []
    assert len(run(ip, "%segment list --status active")) == 2
    html = listed._repr_html_()
    assert "churn_risk" in html and f"{seg.size:,}" in html and "2 segments" in html


def test_set_body_makes_a_sets_segment(connected):
    ip = connected
    run(ip, f"%%segment buyers --as-of {AS_OF}\n{BUYERS}")
    run(ip, f"%%segment members --as-of {AS_OF}\nis_member")
    combo = run(ip, f"%%segment loyal --as-of {AS_OF}\nbuyers & members\n")
    ws = magics(ip).ws
    assert combo.method == "sets"
    assert combo.size == ws.estimate(f"{BUYERS} and is_member", as_of=AS_OF)
    assert "<b>set</b>" in combo._repr_html_()


def test_estimate(connected):
    ip = connected
    size = run(ip, f"%segment estimate --as-of {AS_OF} {BUYERS}")
    assert isinstance(size, EstimateResult) and isinstance(size, int)
    assert size == magics(ip).ws.estimate(BUYERS, as_of=AS_OF)
    assert repr(size) == f"{int(size):,} users match (as of {AS_OF}; nothing saved)"
    trailing = run(ip, f'%segment estimate city = "Shenzhen" --as-of {AS_OF}')
    assert trailing == magics(ip).ws.estimate('city = "Shenzhen"', as_of=AS_OF)
    assert run(ip, "%segment list") == []  # nothing saved


def test_errors_are_one_usage_error(connected):
    ip = connected
    run(ip, f"%%segment buyers --as-of {AS_OF}\n{BUYERS}\n")
    with pytest.raises(UsageError) as info:
        run(ip, "%segment show buyerz")
    message = str(info.value)
    assert message.startswith("no segment named 'buyerz'; did you mean 'buyers'?")
    assert "ws.segments()" not in message  # the magics name their own way to list them
    with pytest.raises(UsageError, match=r"already exists; .*\(%segment refresh buyers\)"):
        run(ip, "%%segment buyers\nis_member")
    with pytest.raises(UsageError) as info:
        run(ip, "%%segment typo\ncount(purchase, T-6..T) >= 1\n  and cty = 'x'\n")
    assert str(info.value) == (
        "line 3, column 7: 'cty' is not a tag or attribute of users\n"
        "    and cty = 'x'\n"
        "        ^^^\n"
        "did you mean 'city'?"
    )
    assert run(ip, "%segment list --search typo") == []
