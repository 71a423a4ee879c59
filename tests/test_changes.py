"""Who entered and who left: ``seg.changes()``, history columns, change exports, the magic.

Checked against an oracle of plain pandas set differences over each
version's member table, and over the rule evaluated afresh on each day.
"""

from __future__ import annotations

import datetime

import pyarrow.parquet as pq
import pytest
from store_tools import AS_OF

from segnb.errors import InvalidValueError, NotAvailableError

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures

RULE = "count(purchase, T-1..T) >= 1"
DAYS = [AS_OF - datetime.timedelta(days=d) for d in range(6, -1, -1)]  # 7 dates, oldest first


def id_set(table) -> set:
    return set(table.to_pyarrow().column(0).to_pylist())


def daily(ws):
    seg = ws.create_segment("recent", rules=RULE, as_of=DAYS[0], refresh="daily")
    for day in DAYS[1:]:
        seg.refresh(as_of=day)
    return seg


def oracle(ws, seg) -> dict[int, set]:
    """Each version's ids, from its member table read whole into pandas."""
    ent = ws.catalog.entity(seg.entity)
    out = {}
    for v in ws.store.version_rows(seg.id):
        frame = ws.store.ibis_table(v.member_table).to_pandas()
        out[v.version] = set(frame[ent.id].tolist())
    return out


def test_entered_and_left_of_every_version_are_set_differences(ws_factory):
    ws = ws_factory(keep_versions=10)
    seg = daily(ws)
    members = oracle(ws, seg)
    assert list(members) == list(range(1, 8))
    for version, day in zip(members, DAYS, strict=True):  # the rule evaluated afresh agrees
        assert members[version] == id_set(ws.members(RULE, as_of=day))
    history = seg.history()
    assert history.index.name == "version" and list(history.index) == list(range(1, 8))
    assert list(history["members"]) == ["kept"] * 7
    assert history.loc[1, "entered"] == len(members[1]) and history.loc[1, "left"] == 0
    moved = 0
    for version in range(2, 8):
        entered = members[version] - members[version - 1]
        left = members[version - 1] - members[version]
        moved += len(entered) + len(left)
        ch = seg.changes(since=version - 1, version=version)
        assert (ch.since, ch.version) == (version - 1, version)
        assert (ch.entered_count, ch.left_count) == (len(entered), len(left))
        assert id_set(ch.entered) == entered and id_set(ch.left) == left
        assert (history.loc[version, "entered"], history.loc[version, "left"]) == (
            len(entered),
            len(left),
        )
    assert moved > 0  # the rule's window moves: the oracle is not trivially empty
    # the default is the version before the current one; a date picks that day's version
    ch = seg.changes()
    assert (ch.since, ch.version) == (6, 7)
    ch = seg.changes(since=DAYS[2])
    assert ch.since == 3
    assert id_set(ch.entered) == members[7] - members[3]
    assert id_set(ch.left) == members[3] - members[7]
    assert seg.changes(since="3").since == 3


def test_changes_of_pruned_versions_say_so(ws_factory):
    ws = ws_factory(keep_versions=2)
    seg = daily(ws)
    history = seg.history()
    assert list(history["members"]) == ["pruned"] * 5 + ["kept"] * 2
    assert history["entered"].notna().all() and history["left"].notna().all()
    first, last = (id_set(ws.members(RULE, as_of=d)) for d in (DAYS[0], DAYS[-1]))
    ch = seg.changes(since=1)
    assert ch.pruned == [1] and "pruned" in repr(ch)
    assert (ch.entered_count, ch.left_count) == (len(last - first), len(first - last))
    # the ids that entered are in the kept current version, picked by the bitmaps
    assert id_set(ch.entered) == last - first
    with pytest.raises(NotAvailableError, match="version 1 were pruned"):
        ch.left  # noqa: B018 - the ids only the pruned version held are no longer stored


def test_bad_since_is_a_clear_error(store_ws):
    seg = store_ws.create_segment("recent", rules=RULE, as_of=AS_OF)
    ch = seg.changes()  # the first version: every member entered
    assert ch.since is None and ch.entered_count == seg.size and ch.left_count == 0
    assert id_set(ch.entered) == id_set(seg.members()) and id_set(ch.left) == set()
    with pytest.raises(InvalidValueError, match="no version 9"):
        seg.changes(since=9)
    with pytest.raises(InvalidValueError, match="no version as of 2020-01-01"):
        seg.changes(since="2020-01-01")
    with pytest.raises(InvalidValueError, match="version number or a date"):
        seg.changes(since=1.5)
    with pytest.raises(InvalidValueError, match="changes='joined'"):
        seg.export("x.csv", changes="joined")


def test_export_of_changes_writes_just_those_ids(ws_factory, tmp_path):
    ws = ws_factory(keep_versions=10)
    seg = daily(ws)
    members = oracle(ws, seg)
    ent = ws.catalog.entity(seg.entity)
    path = seg.export(tmp_path / "entered.parquet", changes="entered")
    got = pq.read_table(path).column(ent.id).to_pylist()
    assert got == sorted(members[7] - members[6])
    path = seg.export(tmp_path / "left.parquet", changes="left", since=1, columns=["channel"])
    table = pq.read_table(path)
    assert table.column_names == [ent.id, "channel"]
    assert set(table.column(ent.id).to_pylist()) == members[1] - members[7]
