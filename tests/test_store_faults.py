"""Faults: a refresh killed halfway, two processes refreshing, a locked DuckDB file.

The test's own workspace stays connected throughout, as a notebook kernel does.
"""

from __future__ import annotations

import contextlib
import datetime
import signal
import time

import pytest
from store_tools import AS_OF, pg_url, run_child

import segnb
from segnb.errors import SegmentBusyError, WarehouseError
from segnb.workspace import Workspace

BUYERS = "count(purchase, T-6..T) >= 1"

CHILD = """
import pathlib, sys, time
import segnb
from segnb.store import versions

flag = pathlib.Path({flag!r})
release = pathlib.Path({flag!r} + ".release")
pause = {pause!r}

def hold(stage):
    if stage == "members_written":
        flag.write_text("written")
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not release.exists():
            time.sleep(0.05)

versions.checkpoint = hold
try:
    ws = segnb.connect({url!r})
    ws.open_store({schema!r}, owner="tester", lock_wait={lock_wait!r})
    ws.segment("buyers").refresh(as_of={as_of!r})
    print("refreshed", ws.segment("buyers").version)
except segnb.SegnbError as exc:
    print(type(exc).__name__ + ": " + str(exc))
    sys.exit(3)
"""

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures


def _target(ws) -> str:
    return str(ws.path) if ws.backend == "duckdb" else pg_url(ws.con)


def _child(ws, flag, *, pause=600.0, lock_wait=30.0, as_of=AS_OF - datetime.timedelta(days=9)):
    code = CHILD.format(
        flag=str(flag), pause=pause, url=_target(ws), schema=ws.schema, lock_wait=lock_wait,
        as_of=str(as_of),
    )  # fmt: skip
    return run_child(code, wait=False)


def _wait_for(path, proc, seconds=90.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"child ended early ({proc.returncode}): {out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("child never reached the checkpoint")
        time.sleep(0.05)


def _reopen(ws) -> Workspace:
    if ws.backend != "duckdb":
        return ws
    again = segnb.connect(str(ws.path))
    again.open_store(ws.schema, owner="tester")
    again.backend, again.schema, again.path = ws.backend, ws.schema, ws.path
    return again


def test_sigkill_mid_refresh_loses_nothing(store_ws, tmp_path):
    ws = store_ws
    seg = ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    before = set(seg.members().to_pyarrow().column(0).to_pylist())
    seg_id = seg.id
    flag = tmp_path / "written.flag"
    proc = _child(ws, flag)
    try:
        _wait_for(flag, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        with contextlib.suppress(Exception):
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    ws = _reopen(ws)
    try:
        seg = ws.segment("buyers")
        assert seg.version == 1 and seg.status == "active"
        assert set(seg.members().to_pyarrow().column(0).to_pylist()) == before
        assert f"segnb_m_{seg_id}_2" not in ws.store.data.names()
        # the killed run: interrupted once a store is opened again (DuckDB: reopened here)
        killed = "interrupted" if ws.backend == "duckdb" else "running"
        assert list(seg.runs()["status"]) == ["succeeded", killed]
        seg.refresh(as_of=AS_OF - datetime.timedelta(days=3))
        assert seg.version == 2 and seg.status == "active"
        assert list(seg.runs()["status"]) == ["succeeded", "interrupted", "succeeded"]
        assert list(seg.history().index) == [1, 2]
    finally:
        if ws is not store_ws and ws.backend == "duckdb":
            ws.con.disconnect()


@pytest.mark.parametrize("lock_wait", [60.0, 0.5])
def test_two_processes_refreshing_one_segment(store_ws, tmp_path, lock_wait):
    ws = store_ws
    ws.create_segment("buyers", rules=BUYERS, as_of=AS_OF)
    first_flag, second_flag = tmp_path / "first.flag", tmp_path / "second.flag"
    first = _child(ws, first_flag, pause=120.0)
    _wait_for(first_flag, first)  # the first holds its write open at the checkpoint
    second = _child(ws, second_flag, pause=0.0, lock_wait=lock_wait)
    if lock_wait > 10:
        time.sleep(4.0)  # let the second reach the lock and wait on it
    else:
        out2, err2 = second.communicate(timeout=120)  # refused while the first is writing
    (tmp_path / "first.flag.release").write_text("go")
    out1, err1 = first.communicate(timeout=120)
    if second.returncode is None:
        out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0, out1 + err1
    ws = _reopen(ws)
    try:
        seg = ws.segment("buyers")
        if lock_wait > 10:
            # the second waits for the first, then writes its own version
            assert second.returncode == 0, out2 + err2
            assert seg.version == 3
            assert list(seg.runs()["status"]) == ["succeeded"] * 3
        elif ws.backend == "duckdb":
            # the store file has one writer at a time: the second is told who holds it
            assert second.returncode == 3, out2 + err2
            assert "StoreBusyError" in out2 and f"PID {first.pid}" in out2, out2
            assert "segnb.duckdb" not in out2 and "store.duckdb" in out2
            assert seg.version == 2 and seg.status == "active"
            assert list(seg.runs()["status"]) == ["succeeded", "succeeded"]
        else:
            assert second.returncode == 3, out2 + err2
            assert SegmentBusyError.__name__ in out2 and "another session" in out2
            assert seg.version == 2 and seg.status == "active"
            assert sorted(seg.runs()["status"]) == ["failed", "succeeded", "succeeded"]
        assert list(seg.history().index) == list(range(1, seg.version + 1))
    finally:
        if ws is not store_ws and ws.backend == "duckdb":
            ws.con.disconnect()


def test_a_writer_holding_the_warehouse_is_named(warehouse, tmp_path):
    """A program writing to the warehouse file: segnb waits, then names it and says what to do."""
    import os
    import shutil

    import duckdb

    path = tmp_path / "held.duckdb"
    shutil.copy(warehouse, path)
    holder = duckdb.connect(str(path))  # an ETL job's read-write connection
    try:
        code = f"""
import segnb, time
from segnb.settings import Settings
start = time.monotonic()
try:
    segnb.connect({str(path)!r}, settings=Settings(lock_wait=0.6))
except segnb.StoreBusyError as exc:
    print("ERROR", round(time.monotonic() - start, 1), exc)
"""
        rc, out, err = run_child(code)
        assert rc == 0, err
        assert out.startswith("ERROR") and str(path) in out, out
        assert f"PID {os.getpid()}" in out and "0.6s" in out
        assert 0.5 <= float(out.split()[1]) < 10  # it waited, a bounded time
        assert "Traceback" not in out + err
    finally:
        holder.close()
    assert isinstance(WarehouseError("x"), segnb.SegnbError)


def test_a_store_inside_the_warehouse_moves_to_its_own_file(warehouse, tmp_path, monkeypatch):
    """A warehouse whose store segnb 0.1 kept inside it: the first session copies it out."""
    import shutil

    import ibis

    from segnb.store import store as store_module

    path = tmp_path / "old.duckdb"
    shutil.copy(warehouse, path)
    ids_csv = tmp_path / "ids.csv"
    ids_csv.write_text("user_id\n1\n2\n3\n999999999\n")
    with monkeypatch.context() as m:  # the 0.1 layout: the store's tables in the warehouse
        m.setattr(store_module, "_folder", lambda con, schema, read_only: None)
        old = segnb.connect(ibis.duckdb.connect(str(path)))
        old.open_store(owner="tester")
        buyers = old.create_segment("buyers", BUYERS, as_of=AS_OF)
        buyers.refresh(as_of=AS_OF - datetime.timedelta(days=1))
        listed = old.upload("listed", ids_csv)
        before = {
            "buyers": set(buyers.members().to_pyarrow().column(0).to_pylist()),
            "listed": set(listed.members().to_pyarrow().column(0).to_pylist()),
            "bitmap": set(buyers.bitmap()), "ids": (buyers.id, listed.id),
        }  # fmt: skip
        old.con.disconnect()
    assert not (tmp_path / "old.segnb").exists()
    ws = segnb.connect(str(path))
    ws.open_store(owner="tester")
    buyers, listed = ws.segment("buyers"), ws.segment("listed")
    assert (buyers.id, listed.id) == before["ids"] and list(buyers.history().index) == [1, 2]
    assert set(buyers.members().to_pyarrow().column(0).to_pylist()) == before["buyers"]
    assert set(listed.members().to_pyarrow().column(0).to_pylist()) == before["listed"]
    assert set(buyers.bitmap()) == before["bitmap"] and buyers.verify(sorted(before["buyers"])[0])
    assert listed.unmatched().count().execute() == 1
    assert ws.create_segment("later", BUYERS, as_of=AS_OF).id > max(
        before["ids"]
    )  # sequences go on
    listed.refresh()  # the upload's list came along
    assert (tmp_path / "old.segnb" / "store.duckdb").exists()
    assert ws.store.db.scalar(f"SELECT count(*) FROM {ws.store.t('adopted')}") == 1
    again = segnb.connect(str(path))  # copied once: a second session finds it done
    again.open_store(owner="tester")
    assert [s.name for s in again.segments()] == ["buyers", "later", "listed"]
