"""Store records decoded once, ids from sequences, and the migration to layout 4."""

from __future__ import annotations

import contextlib
import threading
import uuid

import ibis
import pytest
from store_tools import AS_OF, pg_url

import segnb
from segnb.catalog.model import Catalog
from segnb.store import schema as schema_module
from segnb.store.records import SEGMENT_COLUMNS, SegmentRecord, VersionRecord
from segnb.store.store import SCHEMA_VERSION, Store
from segnb.workspace import Workspace

BUYERS = "count(purchase, T-6..T) >= 1"
MEMBERS = "is_member"

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures


# -- records -------------------------------------------------------------------------


def test_segment_record_decodes_once_and_reads_like_the_row():
    row = {c: None for c in SEGMENT_COLUMNS}
    row.update(id=3, name="vip", definition='{"rule": {"k": 1}}', shared_with='["ann", "bo"]')
    rec = SegmentRecord.from_row(row)
    assert rec.definition == {"rule": {"k": 1}} and rec.broken is None
    assert rec.shared_with == ("ann", "bo")
    assert rec["definition"] == '{"rule": {"k": 1}}' and rec.definition_json == rec["definition"]
    assert rec["shared_with"] == ["ann", "bo"] and rec.get("error") is None
    assert list(rec) == list(SEGMENT_COLUMNS) and len(rec) == len(SEGMENT_COLUMNS)
    assert dict(rec) == {**rec} == rec.to_dict() == {**row, "shared_with": ["ann", "bo"]}
    assert rec == dict(rec) and "broken" not in rec
    with pytest.raises(KeyError):
        rec["broken"]
    with pytest.raises(AttributeError):
        rec.name = "other"  # frozen
    empty = SegmentRecord.from_row({**row, "definition": None, "shared_with": None})
    assert empty.definition == {} and empty.shared_with == () and empty["shared_with"] == []


@pytest.mark.parametrize(
    ("column", "text", "why"),
    [
        ("definition", "{oops", "definition is not valid JSON"),
        ("definition", "[1, 2]", "definition is not a JSON object"),
        ("shared_with", "ann", "shared_with is not valid JSON"),
        ("shared_with", '{"a": 1}', "shared_with is not a JSON list"),
    ],
)
def test_a_broken_row_gives_a_record_marked_broken(column, text, why):
    row = {"id": 1, "name": "x", "definition": "{}", "shared_with": "[]", column: text}
    rec = SegmentRecord.from_row(row)
    assert rec.broken.startswith(why)
    assert rec[column] == text if column == "definition" else rec.shared_with == ()
    if column == "definition":
        assert rec.definition is None


def test_version_record():
    rec = VersionRecord.from_row(
        {"segment_id": 1, "version": 2, "member_table": "m", "scores_table": None,
         "extra": '{"tables": ["u"], "report": {"n": 1}}', "dropped": False}
    )  # fmt: skip
    assert rec.extra == {"tables": ["u"], "report": {"n": 1}} and rec.tables == ("m", "u")
    assert rec["extra"] == rec.extra_json and rec.get("size") is None
    bad = VersionRecord.from_row({"segment_id": 1, "version": 1, "extra": "nope"})
    assert bad.extra is None and bad.broken.startswith("extra is not valid JSON")


def test_store_returns_records(store_ws):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF, shared_with=["ann"])
    rec = ws.store.segment_row("buyers")
    assert isinstance(rec, SegmentRecord) and rec.id == seg.id and rec.method == "rules"
    assert rec.definition["rule"] and rec.shared_with == ("ann",)
    assert ws.store.segment_rows() == [rec] and ws.store.segment_row_by_id(seg.id) == rec
    version = ws.store.version_row(rec.id, rec.current_version)
    assert isinstance(version, VersionRecord) and version.size == seg.size
    assert version.member_table == f"segnb_m_{seg.id}_1" and not version.dropped
    assert ws.store.version_rows(rec.id) == [version]


def test_one_corrupt_row_does_not_break_the_listing(store_ws):
    ws = store_ws
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    ws.create_segment("members", rules=MEMBERS, as_of=AS_OF)
    ws.store.update("segments", {"name": "members"}, {"shared_with": "not json"})
    records = {r.name: r for r in ws.store.segment_rows()}
    assert records["buyers"].broken is None
    assert records["members"].broken.startswith("shared_with") and records["members"].definition
    assert [s.name for s in ws.segments()] == ["buyers", "members"]
    ws.store.update("segments", {"name": "members"}, {"definition": "{broken"})
    records = {r.name: r for r in ws.store.segment_rows()}
    assert records["members"].definition is None and "definition" in records["members"].broken
    assert records["buyers"].definition["rule"]
    assert ws.segment("buyers").size > 0


# -- ids from sequences --------------------------------------------------------------


def test_ids_come_from_sequences(ws_factory):
    one, two = ws_factory(), ws_factory()
    # both read an id before either inserts: max(id) + 1 would give both the same
    taken = [one.store.next_id("segments"), two.store.next_id("segments")]
    taken += [two.store.next_id("runs"), one.store.next_id("runs")]
    assert taken[0] != taken[1] and taken[2] != taken[3]
    a = one.create_segment("a", rules=BUYERS, as_of=AS_OF)
    b = two.create_segment("b", rules=MEMBERS, as_of=AS_OF)
    assert len({a.id, b.id, *taken[:2]}) == 4 and b.id > a.id > max(taken[:2])
    a.delete()
    c = one.create_segment("c", rules=BUYERS, as_of=AS_OF)
    assert c.id > b.id  # never reused
    with pytest.raises(segnb.SegnbError, match="no id sequence"):
        one.store.next_id("versions")


def _second_workspace(ws) -> Workspace:
    """Another connection to the same warehouse and store."""
    if ws.backend == "duckdb":
        other = segnb.connect(str(ws.path))
    else:
        con = ibis.connect(pg_url(ws.con))
        other = Workspace(con, Catalog.load(None, con))  # a catalog on its own connection
    other.open_store(ws.schema, owner="tester")
    return other


def test_two_workspaces_creating_at_once_get_distinct_ids(store_ws):
    ws = store_ws
    if ws.backend == "duckdb":
        pytest.skip("a DuckDB file has one writing process; the sequence test covers it")
    ws.create_segment("first", rules=MEMBERS, as_of=AS_OF)  # dense ids exist
    other = _second_workspace(ws)
    start = threading.Barrier(2)
    made: dict[str, int] = {}
    errors: list[BaseException] = []

    def create(w: Workspace, prefix: str) -> None:
        try:
            start.wait(timeout=30)
            for k in range(3):
                made[f"{prefix}{k}"] = w.create_segment(
                    f"{prefix}{k}", rules=BUYERS, as_of=AS_OF
                ).id
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=a) for a in ((ws, "a"), (other, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    try:
        assert not errors, errors
        assert len(made) == 6 and len(set(made.values())) == 6
        stored = {r.name: r.id for r in ws.store.segment_rows()}
        assert {n: stored[n] for n in made} == made
    finally:
        other.con.disconnect()


# -- migrating to layout 4 -----------------------------------------------------------


def test_a_layout_3_store_gets_sequences_after_its_ids(backend, monkeypatch):
    schema = f"v_{uuid.uuid4().hex[:8]}"
    con = backend.con if backend.name == "postgres" else ibis.duckdb.connect()
    try:
        with monkeypatch.context() as m:
            m.setattr(
                schema_module, "MIGRATIONS", {k: schema_module.MIGRATIONS[k] for k in (1, 2, 3)}
            )
            m.setattr(schema_module, "SCHEMA_VERSION", 3)
            old = Store(con, backend.catalog, schema)
            assert old.schema_version == 3
            for seg_id, name in ((4, "kept"), (7, "later")):
                old.insert(
                    "segments",
                    {"id": seg_id, "name": name, "group_name": "g", "entity": "users",
                     "method": "rules", "definition": "{}", "refresh": "once",
                     "time_sensitive": False, "scope": "public", "status": "active"},
                )  # fmt: skip
            old.insert("deleted", {"segment_id": 12, "name": "gone"})
            old.insert("runs", {"id": 30, "segment": "kept", "status": "succeeded"})
            old.insert("plans", {"id": 2, "name": "p", "segment_id": 4, "segment": "kept",
                                 "channel": "sms", "status": "open"})  # fmt: skip
            old.insert("notebook_runs", {"id": 5, "notebook": "n.ipynb"})
        new = Store(con, backend.catalog, schema)
        assert new.schema_version == SCHEMA_VERSION
        assert [(r.id, r.name) for r in new.segment_rows()] == [(4, "kept"), (7, "later")]
        assert new.next_id("segments") == 13  # after the deleted segment's id too
        assert new.next_id("runs") == 31 and new.next_id("plans") == 3
        assert new.next_id("notebook_runs") == 6 and new.next_id("notices") == 1
        again = Store(con, backend.catalog, schema)  # opening again changes nothing
        assert again.schema_version == SCHEMA_VERSION and again.next_id("segments") == 14
    finally:
        cursor = con.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        with contextlib.suppress(AttributeError):
            cursor.close()
