"""The compiler's shared blocks, time helpers and visitors.

The blocks (latest snapshot, dated snapshot, one-pass event aggregation) are
compared on every backend with a pandas evaluation of the same question over
the edge tables; the visitors are checked to handle every rule node kind.
"""

from __future__ import annotations

import datetime
import pathlib

import pandas as pd
import pytest
from conftest import EDGE_TZ

import segnb
from segnb.compile.blocks import Measure, event_aggregates, latest_snapshot, snapshot_on
from segnb.compile.joins import Possible
from segnb.compile.rules import RuleCompiler
from segnb.compile.time import as_date, merge_spans, time_zone
from segnb.errors import CatalogError, InvalidValueError, NotAvailableError, RuleError
from segnb.lang import nodes

D = datetime.date
#: set expressions are computed on bitmaps (segments.sets), not compiled to a rule's query
SET_EXPRESSION_NODES = {"SegmentRef", "SetOp"}


def _node_kinds() -> set[type]:
    """Every node kind of the language: the registry the nodes fill themselves."""
    return set(nodes.node_kinds())


RULE_NODES = {k for k in _node_kinds() if k.__name__ not in SET_EXPRESSION_NODES}


# -- visitors -------------------------------------------------------------------------


def test_the_node_kinds_are_found():
    names = {k.__name__ for k in _node_kinds()}
    assert names >= SET_EXPRESSION_NODES
    assert {"Tag", "Count", "Compare", "And", "Window", "InSegment"} <= names


@pytest.mark.parametrize("visitor", [RuleCompiler, Possible])
def test_every_rule_node_kind_has_a_visit_method(visitor):
    assert visitor.missing(RULE_NODES) == []


def test_a_node_without_translation_is_an_error_naming_both(duckdb_backend):
    compiler = RuleCompiler(duckdb_backend.edge, duckdb_backend.edge.entity(), as_of=D(2025, 3, 14))
    with pytest.raises(NotAvailableError, match="RuleCompiler has no translation for SetOp"):
        compiler.visit(nodes.SetOp("|", nodes.SegmentRef("a"), nodes.SegmentRef("b")))


# -- time helpers ---------------------------------------------------------------------


def test_as_date_takes_dates_and_iso_strings_only():
    assert as_date("2025-03-01") == D(2025, 3, 1)
    assert as_date(datetime.datetime(2025, 3, 1, 12)) == D(2025, 3, 1)
    with pytest.raises(RuleError, match="as_of"):
        as_date(None)
    with pytest.raises(RuleError, match="YYYY-MM-DD"):
        as_date("yesterday")


def test_time_zone():
    assert str(time_zone("Asia/Shanghai")) == "Asia/Shanghai"
    assert time_zone(datetime.timezone.utc) is datetime.timezone.utc
    with pytest.raises(RuleError, match="unknown time zone 'Mars/Base'"):
        time_zone("Mars/Base")


def test_merge_spans_joins_touching_days():
    spans = [(D(2025, 3, 5), D(2025, 3, 6)), (D(2025, 3, 1), D(2025, 3, 4)), (D(2025, 3, 9),) * 2]
    assert merge_spans(spans) == [(D(2025, 3, 1), D(2025, 3, 6)), (D(2025, 3, 9), D(2025, 3, 9))]


def test_measure_checks_its_kind():
    with pytest.raises(InvalidValueError, match="count, sum, max"):
        Measure("avg", "pay", D(2025, 3, 1), D(2025, 3, 2))
    with pytest.raises(InvalidValueError, match="field"):
        Measure("sum", "pay", D(2025, 3, 1), D(2025, 3, 2))


# -- snapshots ------------------------------------------------------------------------


def _pairs(table, id_col: str, column: str) -> set:
    frame = table.select(id_col, column).to_pyarrow().to_pandas()
    return {
        (int(i), None if pd.isna(v) else v)
        for i, v in zip(frame[id_col], frame[column], strict=True)
    }


@pytest.mark.parametrize(
    ("tags", "column", "as_of"),
    [
        (0, "region", D(2025, 3, 10)),  # DATE snapshots; none on 3-10: the 3-09 one
        (0, "region", D(2025, 3, 20)),
        (1, "risk", D(2025, 3, 7)),  # TIMESTAMP snapshots at midnight: the 3-05 one
        (1, "risk", D(2025, 3, 8)),
    ],
)
def test_latest_snapshot_matches_pandas(backend, frames, tags, column, as_of):
    ent = backend.edge.entity()
    source = ent.tags[tags]
    got = _pairs(latest_snapshot(backend.edge, source, as_of, EDGE_TZ), source.id, column)
    rows = frames[source.table]
    days = pd.to_datetime(rows[source.date]).dt.date
    latest = max(d for d in days if d <= as_of)
    snap = rows[days == latest]
    expected = {
        (int(i), None if pd.isna(v) else v)
        for i, v in zip(snap[source.id], snap[column], strict=True)
    }
    assert got == expected and got


def test_snapshot_on_a_day_without_one_is_empty(backend):
    ent = backend.edge.entity()
    daily, risk = ent.tags
    assert snapshot_on(backend.edge, daily, D(2025, 3, 10)).count().execute() == 0
    assert snapshot_on(backend.edge, daily, D(2025, 3, 9)).count().execute() > 0
    assert snapshot_on(backend.edge, risk, D(2025, 3, 5), EDGE_TZ).count().execute() > 0
    assert snapshot_on(backend.edge, risk, D(2025, 3, 6), EDGE_TZ).count().execute() == 0


# -- the event aggregation ------------------------------------------------------------


def _in(frame, span):
    day = frame["happened"].dt.date
    return (day >= span[0]) & (day <= span[1])


def test_event_aggregates_match_pandas(backend, frames):
    ent = backend.edge.entity()
    log = ent.events[0]  # acct_log: naive timestamps, event names in "action"
    as_of = D(2025, 3, 14)
    week, month = (as_of - datetime.timedelta(days=6), as_of), (D(2025, 2, 25), as_of)
    ids = backend.edge.table(ent.table).filter(lambda t: t.acct_no % 2 == 0).acct_no
    measures = {
        "pays_7d": Measure("count", "pay", *week),
        "pays_month": Measure("count", "pay", *month),
        "flagged_refunds_7d": Measure("count", "refund", *week, where="flagged"),
        "value_7d": Measure("sum", "pay", *week, field="value"),
        "last_pay": Measure("max", "pay", *month),
    }
    got = event_aggregates(
        backend.edge, log, measures, key="k", zone="UTC", ids=ids,
        where=lambda where, rows: rows[where],
    )  # fmt: skip
    got = got.to_pyarrow().to_pandas().set_index("k").sort_index()

    rows = frames[log.table]
    rows = rows[rows["acct_no"].isin(frames[ent.table]["acct_no"]) & (rows["acct_no"] % 2 == 0)]
    kept = rows[rows["action"].isin(["pay", "refund"]) & (_in(rows, week) | _in(rows, month))]
    pay, refund = kept["action"] == "pay", kept["action"] == "refund"
    flagged = kept["flagged"].astype("boolean").fillna(False).astype(bool)
    per = kept.assign(
        pays_7d=pay & _in(kept, week),
        pays_month=pay & _in(kept, month),
        flagged_refunds_7d=refund & _in(kept, week) & flagged,
        value_7d=kept["value"].where(pay & _in(kept, week)),
        last_pay=kept["happened"].where(pay),
    ).groupby("acct_no")
    expected = pd.DataFrame(
        {
            "pays_7d": per["pays_7d"].sum(),
            "pays_month": per["pays_month"].sum(),
            "flagged_refunds_7d": per["flagged_refunds_7d"].sum(),
            "value_7d": per["value_7d"].sum(min_count=1),
            "last_pay": per["last_pay"].max(),
        }
    ).sort_index()
    assert list(got.index) == list(expected.index)
    for column in ["pays_7d", "pays_month", "flagged_refunds_7d"]:
        assert list(got[column].astype(int)) == list(expected[column].astype(int)), column
    pd.testing.assert_series_equal(
        got["value_7d"].astype(float), expected["value_7d"].astype(float), check_names=False
    )
    assert [None if pd.isna(v) else pd.Timestamp(v) for v in got["last_pay"]] == [
        None if pd.isna(v) else pd.Timestamp(v) for v in expected["last_pay"]
    ]


def test_event_aggregates_cut_days_in_the_zone_and_share_one_filter(backend, frames):
    ent = backend.edge.entity()
    orders = ent.events[1]  # acct_orders: tz-aware times, every row an "order"
    span = (D(2025, 3, 1), D(2025, 3, 7))
    measures = {"n": Measure("count", "order", *span, where="big")}
    got = event_aggregates(
        backend.edge, orders, measures, key="k", zone=EDGE_TZ,
        where=lambda where, rows: rows["total"] > 100,
    )  # fmt: skip
    got = dict(got.to_pyarrow().to_pandas().set_index("k")["n"].astype(int))
    rows = frames[orders.table]
    local = rows["placed"].dt.tz_convert(EDGE_TZ).dt.date
    kept = rows[(local >= span[0]) & (local <= span[1]) & (rows["total"] > 100)]
    assert got == {int(k): int(v) for k, v in kept.groupby("acct_no").size().items()}


def test_event_aggregates_refuse_what_they_cannot_compute(duckdb_backend):
    ent = duckdb_backend.edge.entity()
    orders = ent.events[1]
    span = (D(2025, 3, 1), D(2025, 3, 7))
    with pytest.raises(CatalogError, match="holds only 'order' events"):
        event_aggregates(
            duckdb_backend.edge, orders, {"n": Measure("count", "visit", *span)}, key="k"
        )
    with pytest.raises(InvalidValueError, match="where="):
        event_aggregates(
            duckdb_backend.edge, orders, {"n": Measure("count", "order", *span, where=1)}, key="k"
        )
    with pytest.raises(InvalidValueError, match="at least one"):
        event_aggregates(duckdb_backend.edge, orders, {}, key="k")


# -- the house ------------------------------------------------------------------------


@pytest.mark.parametrize("package", ["catalog", "compile", "analysis"])
def test_modules_are_of_a_readable_size(package):
    root = pathlib.Path(segnb.__file__).parent / package
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in root.glob("*.py")}
    assert max(sizes.values()) <= 500, sizes
