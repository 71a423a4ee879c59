"""Dense ids and bitmaps: they agree with the member tables and survive new entities."""

from __future__ import annotations

import pytest
from store_tools import AS_OF, create_scratch, scratch, update_scratch

from segnb.catalog.model import Catalog
from segnb.errors import SegmentStateError
from segnb.store.bitmaps import ids_table_name
from segnb.workspace import Workspace

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures


def ids(table) -> set:
    return set(table.to_pyarrow().column(0).to_pylist())


def dense_map(ws, entity: str) -> dict:
    with ws.store.db.session():
        table = ws.store.data.ids_table(ids_table_name(entity)).to_pyarrow()
    return dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))


def test_bitmaps_match_member_tables(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules="count(purchase, T-6..T) >= 1", as_of=AS_OF)
    mapping = dense_map(ws, "users")
    assert sorted(mapping.values()) == list(range(len(mapping)))  # dense: 0..n-1
    assert set(seg.bitmap()) == {mapping[i] for i in ids(seg.members())}
    assert len(seg.bitmap()) == seg.size


def _people(ws, n: int) -> Workspace:
    """A workspace whose one target object is a small table of the test's own."""
    name = create_scratch(ws, "people", f"SELECT user_id, channel FROM users WHERE user_id <= {n}")
    catalog = Catalog.load({"entities": {"people": {"table": name, "id": "user_id"}}}, ws.con)
    other = Workspace(ws.con, catalog)
    other.open_store(ws.schema, owner="tester")
    return other


def test_dense_ids_are_stable_when_entities_arrive(store_ws):
    ws = _people(store_ws, 100)
    seg = ws.create_segment("ads", rules="channel = 'ads'", as_of=AS_OF)
    before = dense_map(ws, "people")
    ws.con.raw_sql(
        f"INSERT INTO {scratch(ws, 'people')} SELECT user_id, 'ads' FROM users "
        "WHERE user_id > 100 AND user_id <= 120"
    )
    seg.refresh(as_of=AS_OF)
    after = dense_map(ws, "people")
    assert {k: after[k] for k in before} == before
    assert sorted(after.values()) == list(range(len(after)))
    assert set(seg.bitmap()) == {after[i] for i in ids(seg.members())}
    newcomer = next(k for k in after if k not in before)
    check = seg.verify(newcomer)
    assert check.member and check.since_version == 2


def test_verify_since_counts_the_unbroken_run(store_ws):
    ws = _people(store_ws, 50)
    seg = ws.create_segment("ads", rules="channel = 'ads'", as_of=AS_OF)
    member = sorted(ids(seg.members()))[0]
    update_scratch(ws, "people", "channel = 'organic'", f"user_id = {member}")
    seg.refresh(as_of=AS_OF)
    assert not seg.verify(member)
    update_scratch(ws, "people", "channel = 'ads'", f"user_id = {member}")
    seg.refresh(as_of=AS_OF)
    seg.refresh(as_of=AS_OF)
    check = seg.verify(member)
    assert check.member and check.since_version == 3 and check.version == 4


def test_set_size_needs_active_segments(store_ws):
    ws = store_ws
    ws.create_segment("a", rules="is_member", as_of=AS_OF)
    ws.create_segment("b", rules="not is_member", as_of=AS_OF)
    assert ws.set_size("a & b") == 0
    assert ws.set_size("a | b") == ws.estimate("is_member is not null", as_of=AS_OF)
    ws.store.update("segments", {"name": "b"}, {"status": "failed"})
    with pytest.raises(SegmentStateError, match="only active"):
        ws.set_size("a - b")
