"""Segment.insights(): each tag's distribution in the segment and the population, with TGI.

The engine's counts are compared on every backend with an independent pandas
evaluation of the same buckets over the warehouse's tables (the oracle picks
the latest snapshot, the top values and the quantile bins itself; only the
rounding of bin edges, ``nice_edges``, is shared).
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from conftest import EDGE_CATALOG
from store_tools import AS_OF

from segnb.analysis.insights import COLUMNS, MISSING, OTHER, nice_edges
from segnb.catalog.model import Catalog
from segnb.errors import InvalidValueError, SegmentStateError
from segnb.workspace import Workspace

pytest_plugins = ("store_helpers",)

RULE = "count(purchase, T-6..T) >= 2 and not is_black_list"


def _oracle(frames, members: set, as_of: datetime.date, catalog, top: int = 10, bins: int = 5):
    """{(field, bucket order): (bucket label or None, population, segment)} from pandas."""
    ent = catalog.entity("users")
    users = frames[ent.table][[ent.id, *ent.attributes]].copy()
    source = ent.tags[0]
    tags = frames[source.table]
    days = pd.to_datetime(tags[source.date]).dt.date
    latest = max(d for d in days if d <= as_of)
    snap = tags[days == latest][[source.id, *source.fields]].rename(columns={source.id: ent.id})
    base = users.merge(snap, on=ent.id, how="left")
    base["_in"] = base[ent.id].isin(members)
    fields = [*source.fields, *ent.attributes]
    out = {}
    for name in fields:
        f = source.fields.get(name) or ent.attributes[name]
        col = base[name]
        present = col.notna()
        rows = []  # (label or None, population, segment)
        if f.type == "enum":
            counts = (
                base[present]
                .groupby(col[present].astype(str))
                .agg(population=("_in", "size"), segment=("_in", "sum"))
            )
            counts = counts.reset_index(names="key").sort_values(
                ["population", "key"], ascending=[False, True]
            )
            shown = counts.head(top)
            rows = [(r.key, r.population, r.segment) for r in shown.itertuples()]
            rest_p = int(present.sum()) - int(shown["population"].sum())
            rest_s = int((present & base["_in"]).sum()) - int(shown["segment"].sum())
            if rest_p:
                rows.append((OTHER, rest_p, rest_s))
        elif f.type == "boolean":
            for value in (True, False):
                hit = present & (col == value)
                if hit.any():
                    rows.append(
                        (str(value).lower(), int(hit.sum()), int((hit & base["_in"]).sum()))
                    )
        else:
            numbers = col[present]
            if f.type == "datetime":
                numbers = (pd.to_datetime(numbers) - pd.Timestamp(0)).dt.total_seconds()
            numbers = numbers.astype(float)
            if numbers.nunique() <= 12:
                for value in sorted(numbers.unique()):
                    hit = present & (numbers.reindex(base.index) == value)
                    rows.append((None, int(hit.sum()), int((hit & base["_in"]).sum())))
            else:
                cuts = np.quantile(numbers, [i / bins for i in range(1, bins)])
                edges = nice_edges(
                    list(cuts), integer=f.dtype.is_integer(), datetime_=f.type == "datetime"
                )
                which = pd.Series(
                    np.searchsorted(edges, numbers, side="right"), index=numbers.index
                )
                for k in range(len(edges) + 1):
                    hit = which == k
                    if hit.any():
                        rows.append(
                            (None, int(hit.sum()), int(base.loc[hit.index[hit], "_in"].sum()))
                        )
        missing = ~present
        if missing.any():
            rows.append((MISSING, int(missing.sum()), int((missing & base["_in"]).sum())))
        for order, row in enumerate(rows):
            out[name, order] = row
    return out


def test_insights_match_a_pandas_oracle(store_ws, frames):
    ws = store_ws
    seg = ws.create_segment("buyers", RULE, as_of=AS_OF)
    frame = seg.insights()
    assert list(frame.columns) == COLUMNS
    members = set(seg.members().to_pyarrow().column(0).to_pylist())
    expected = _oracle(frames, members, AS_OF, ws.catalog)
    got = {(r.field, r.order): (r.bucket, r.population, r.segment) for r in frame.itertuples()}
    assert set(got) == set(expected)
    for key, (label, population, segment) in expected.items():
        assert got[key][1:] == (population, segment), key
        if label is not None:
            assert got[key][0] == label, key
    # every field accounts for the whole population and the whole segment
    totals = frame.groupby("field")[["population", "segment"]].sum()
    assert (totals["population"] == len(frames["users"])).all()
    assert (totals["segment"] == seg.size).all()


def test_tgi_is_segment_share_over_population_share(store_ws):
    seg = store_ws.create_segment("buyers", RULE, as_of=AS_OF)
    frame = seg.insights(["member_level", "trade_cnt_7d", "total_spend", "is_member"])
    assert list(dict.fromkeys(frame["field"])) == [
        "member_level",
        "trade_cnt_7d",
        "total_spend",
        "is_member",
    ]
    size, population = seg.size, int(frame[frame["field"] == "is_member"]["population"].sum())
    assert np.allclose(frame["segment_share"], frame["segment"] / size)
    assert np.allclose(frame["population_share"], frame["population"] / population)
    assert np.allclose(frame["tgi"], frame["segment_share"] / frame["population_share"] * 100)
    for _, group in frame.groupby("field"):
        assert group["segment_share"].sum() == pytest.approx(1)
        assert group["population_share"].sum() == pytest.approx(1)
    # the rule asks for 2+ purchases in the week: few trades are under-represented
    trades = frame[frame["field"] == "trade_cnt_7d"].set_index("bucket")
    assert trades.loc["0", "tgi"] == 0 and trades.loc["2", "tgi"] > 100
    spend = frame[frame["field"] == "total_spend"]
    assert len(spend) >= 4 and spend["bucket"].iloc[0].startswith("< ")  # quantile bins
    assert spend["bucket"].iloc[-2].startswith("≥ ")  # then (no value)


def test_options_and_errors(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", RULE, as_of=AS_OF)
    cities = seg.insights(["city"], top=3)
    assert list(cities["bucket"])[-2:] == [OTHER, MISSING] and len(cities) == 5
    assert set(seg.insights(attributes=False)["kind"]) == {"tag"}
    assert len(seg.insights(["age"], bins=3)) <= 4
    with pytest.raises(InvalidValueError, match=r"no tag or attribute 'cty'; did you mean 'city'"):
        seg.insights(["cty"])
    with pytest.raises(InvalidValueError, match=r"bins=1"):
        seg.insights(bins=1)
    earlier = seg.insights(["city"], as_of=AS_OF - datetime.timedelta(days=20))
    assert earlier["population"].sum() == cities["population"].sum()
    empty = ws.from_table("nobody", query="SELECT user_id FROM users WHERE false",
                          id_column="user_id", as_of=AS_OF)  # fmt: skip
    frame = empty.insights(["is_member"])
    assert frame["segment"].sum() == 0 and (frame["tgi"] == 0).all()
    ws.store.update("segments", {"id": empty.id}, {"current_version": None})
    with pytest.raises(SegmentStateError, match="has no members yet"):
        empty.insights()


def test_edge_tables_timestamp_snapshots_and_gaps(store_ws, backend):
    """Another target object: two tag tables (one dated by TIMESTAMP), a day with no snapshot."""
    edge = Workspace(store_ws.con, Catalog.load(EDGE_CATALOG, store_ws.con))
    edge.open_store(store_ws.schema, owner="tester")
    day = datetime.date(2025, 3, 12)
    seg = edge.create_segment("movers", "count(pay, T-6..T) >= 2", as_of=day, entity="accounts")
    frame = seg.insights()
    total = int(edge.con.table("acct").count().execute())
    sums = frame.groupby("field")[["population", "segment"]].sum()
    assert (sums["population"] == total).all() and (sums["segment"] == seg.size).all()
    risk = edge.con.table("acct_risk")
    latest = datetime.datetime(2025, 3, 11)  # scored on 2, 5, 8, 11, 14: the 11th is latest
    scored = risk.filter((risk.scored_at == latest) & risk.risk.notnull())
    on_file = scored.semi_join(edge.con.table("acct"), "acct_no").count().execute()
    shown = frame[(frame["field"] == "risk") & (frame["bucket"] != MISSING)]["population"].sum()
    assert shown == on_file
    assert {"tier", "vip", "region", "opened"} <= set(frame["field"])
