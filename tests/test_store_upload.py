"""Custom lists (CSV, TSV, Excel) and SQL tables as segments, with their bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from store_tools import AS_OF, create_scratch, scratch

from segnb.errors import DuplicateNameError, InvalidValueError, UploadError

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures


def ids(table) -> set:
    return set(table.to_pyarrow().column(0).to_pylist())


def user_frame(ws):
    return ws.catalog.table("users").select("user_id", "device_id").to_pyarrow().to_pandas()


def assert_nothing_written(ws, before_tables):
    assert list(ws.segments()) == []
    assert set(ws.store.data.names()) == before_tables


def test_csv_upload_counts_and_unmatched(store_ws, tmp_path):
    ws = store_ws
    users = sorted(user_frame(ws)["user_id"])
    known = users[:50]
    text = (
        "\ufeffuser_id\n"
        + "\n".join(
            [f'"{u}"' for u in known[:10]]  # quoted
            + [f"  {u} " for u in known[10:50]]  # padded
            + ["", ""]  # blank lines
            + [str(u) for u in known[:5]]  # duplicates
            + ["abc", "12x", "1,2"]  # malformed (the last is a ragged row)
            + ["999999991", "999999992"]  # unknown
        )
    )
    path = tmp_path / "ids.csv"
    path.write_text(text, encoding="utf-8")
    seg = ws.upload("crm", path, id_type="user id", as_of=AS_OF)
    assert seg.method == "upload" and seg.size == 50
    assert ids(seg.members()) == set(known)
    report = seg.report
    assert report["rows"] == 60
    assert report["malformed"] == 3
    assert report["duplicates"] == 5
    assert report["matched"] == 50 and report["unmatched"] == 2
    assert ids(seg.unmatched()) == {999999991, 999999992}
    assert seg.to_dict()["details"]["report"] == report
    seg.refresh()
    assert seg.version == 2 and seg.report["matched"] == 50


def test_tsv_by_device_id_and_headerless(store_ws, tmp_path):
    ws = store_ws
    frame = user_frame(ws).head(30)
    path = tmp_path / "devices.tsv"
    rows = ["name\tdevice_id"] + [f"x{i}\t{d}" for i, d in enumerate(frame["device_id"])]
    path.write_text("\n".join([*rows, "y\td000000000000"]), encoding="utf-8")
    seg = ws.upload("by_device", path, id_type="device_id", as_of=AS_OF)
    assert ids(seg.members()) == set(frame["user_id"])
    assert seg.report["unmatched"] == 1
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(str(u) for u in frame["user_id"]) + "\n")
    assert ids(ws.upload("plain", plain).members()) == set(frame["user_id"])


def test_excel_upload(store_ws, tmp_path):
    import openpyxl

    ws = store_ws
    users = list(user_frame(ws)["user_id"][:20])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer", "user_id"])
    for u in users:
        sheet.append(["someone", u])
    sheet.append([None, None])
    sheet.append(["nobody", "oops"])
    book.save(tmp_path / "ids.xlsx")
    seg = ws.upload("xl", tmp_path / "ids.xlsx", column="user_id")
    assert ids(seg.members()) == set(users)
    assert seg.report["malformed"] == 1


def test_malformed_uploads_write_nothing(store_ws, tmp_path):
    ws = store_ws
    assert ws.store.schema_version  # opened: its tables exist
    before = set(ws.store.data.names())
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(UploadError, match="not a text file"):
        ws.upload("a", junk)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user_id\n1\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(UploadError, match="UTF-8"):
        ws.upload("a", latin)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(UploadError, match="empty") as err:
        ws.upload("a", empty)
    assert err.value.report["rows"] == 0
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("uid,name\n1,a\n2,b\n")
    with pytest.raises(UploadError, match="did you mean 'uid'"):
        ws.upload("a", wrong, column="uidd")
    with pytest.raises(UploadError, match="pass column="):
        ws.upload("a", wrong)
    bad_only = tmp_path / "bad.csv"
    bad_only.write_text("user_id\nabc\ndef\n")
    with pytest.raises(UploadError, match="no valid user_id") as err:
        ws.upload("a", bad_only)
    assert err.value.report["malformed"] == 2
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("device_id\nzzz1\nzzz2\n")
    with pytest.raises(UploadError, match="check id_type") as err:
        ws.upload("a", unknown, id_type="device_id")
    assert err.value.report["unmatched"] == 2
    with pytest.raises(InvalidValueError, match="did you mean 'device_id'"):
        ws.upload("a", unknown, id_type="devce id")
    with pytest.raises(UploadError, match="no file"):
        ws.upload("a", tmp_path / "missing.csv")
    with pytest.raises(UploadError, match=r"\.xlsx"):
        ws.upload(
            "a", junk.with_suffix(".xlsx").write_bytes(b"PK junk") and junk.with_suffix(".xlsx")
        )
    assert_nothing_written(ws, before)


def test_million_ids_with_ten_percent_unknown(store_ws, tmp_path):
    ws = store_ws
    users = np.array(sorted(user_frame(ws)["user_id"]))
    rng = np.random.default_rng(3)
    n = 1_000_000
    known = rng.choice(users, size=n - n // 10)
    unknown = 10_000_000 + np.arange(n // 10)
    values = np.concatenate([known, unknown])
    rng.shuffle(values)
    path = tmp_path / "million.csv"
    path.write_text("user_id\n" + "\n".join(map(str, values)) + "\n")
    seg = ws.upload("million", path, as_of=AS_OF)
    report = seg.report
    assert report["rows"] == n and report["malformed"] == 0
    assert report["unmatched"] == n // 10
    assert report["matched"] == len(set(known.tolist()))
    assert report["duplicates"] == n - report["matched"] - report["unmatched"]
    assert seg.size == report["matched"]
    assert seg.unmatched().count().execute() == n // 10
    with pytest.raises(DuplicateNameError):
        ws.upload("million", path)


def test_from_table_and_query(store_ws):
    ws = store_ws
    users = sorted(user_frame(ws)["user_id"])
    crm = create_scratch(
        ws, "crm_high", "SELECT CAST(NULL AS BIGINT) AS uid, 'n' AS note, 'l' AS label LIMIT 0"
    )
    rows = (
        ", ".join(f"({u}, 'x', 'l')" for u in users[:40])
        + ", (88888888, 'y', 'l'), (NULL, 'z', 'l')"
    )
    ws.con.raw_sql(f"INSERT INTO {scratch(ws, 'crm_high')} VALUES {rows}")
    seg = ws.from_table("crm_vip", table=crm, id_column="uid", as_of=AS_OF)
    assert seg.method == "table" and ids(seg.members()) == set(users[:40])
    assert seg.report == {"source_ids": 41, "matched": 40, "unmatched": 1}
    assert ids(seg.unmatched()) == {88888888}
    q = ws.from_table(
        "crm_q",
        query=f"SELECT uid FROM {scratch(ws, 'crm_high')} WHERE uid < {users[10]}",
        id_column="uid",
    )
    assert ids(q.members()) == set(users[:10])
    with pytest.raises(UploadError, match="did you mean 'uid'"):
        ws.from_table("bad", table=crm, id_column="uidd")
    with pytest.raises(UploadError, match="holds"):
        ws.from_table("bad", table=crm, id_column="note")
    with pytest.raises(UploadError, match="not in the warehouse"):
        ws.from_table("bad", table=crm.replace("crm_high", "crm_hihg"), id_column="uid")
    with pytest.raises(UploadError, match="does not run"):
        ws.from_table("bad", query="SELECT nope FROM nowhere", id_column="uid")
    with pytest.raises(InvalidValueError):
        ws.from_table("bad", id_column="uid")
    assert [s.name for s in ws.segments()] == ["crm_q", "crm_vip"]
