"""Connecting: URLs, paths and backends; clear errors for missing and locked files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import ibis
import pytest

import segnb
from segnb.connection import default_url
from segnb.errors import WarehouseError
from segnb.store.backend import duckdb_path, open_backend


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("duckdb:///warehouse.duckdb", "warehouse.duckdb"),
        ("duckdb:////abs/w.duckdb", "/abs/w.duckdb"),
        ("duckdb://", ":memory:"),
        ("duckdb:///:memory:", ":memory:"),
        ("postgres://u@h/db", None),
    ],
)
def test_duckdb_urls(url, path):
    assert duckdb_path(url) == path


def test_missing_duckdb_file_is_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WarehouseError, match=r"no DuckDB warehouse at .nope\.duckdb."):
        open_backend("duckdb:///nope.duckdb")
    assert not (tmp_path / "nope.duckdb").exists()


def test_paths_and_backends(tmp_path):
    path = tmp_path / "w.duckdb"
    ibis.duckdb.connect(str(path)).disconnect()
    assert open_backend(str(path)).name == "duckdb"
    con = ibis.duckdb.connect()
    assert open_backend(con) is con
    with pytest.raises(WarehouseError, match="takes a URL, a SparkSession or an Ibis backend"):
        open_backend(42)
    with pytest.raises(WarehouseError, match="not a warehouse URL"):
        open_backend("warehouse")


def test_default_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WarehouseError, match="segnb demo"):
        default_url()
    (tmp_path / "warehouse.duckdb").write_bytes(b"")
    assert default_url() == "duckdb:///warehouse.duckdb"
    (tmp_path / "segnb.toml").write_text('url = "postgres://x@127.0.0.1/y"\n')
    assert default_url() == "postgres://x@127.0.0.1/y"


def test_locked_duckdb_file_names_the_file(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(path)!r})
                con.execute("create table t as select 1 as x")
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        start = time.monotonic()
        with pytest.raises(WarehouseError) as info:
            open_backend(f"duckdb:///{path}", wait=0.3)
        assert time.monotonic() - start >= 0.3  # it waited, a bounded time
        assert f"in use by PID {holder.pid} (-c" in str(info.value)
        assert str(path) in str(info.value) and "let that program finish" in str(info.value)
    finally:
        holder.communicate("")


def test_unreachable_postgres_is_a_warehouse_error():
    with pytest.raises(
        WarehouseError, match=r"cannot connect to postgres://u:\*\*\*@127\.0\.0\.1:1/db"
    ):
        open_backend("postgresql://u:secret@127.0.0.1:1/db")


def test_bad_time_zone():
    with pytest.raises(segnb.SegnbError, match="unknown time zone 'Mars/Base'"):
        segnb.connect(ibis.duckdb.connect(), tz="Mars/Base")
