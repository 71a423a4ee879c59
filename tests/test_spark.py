"""Spark as a warehouse: connecting with a SparkSession, the store split, faults, export.

The engine suite itself (rules, store, sets, models against the oracle) runs
on Spark through the ``backend`` fixture (``conftest.SPARK_SUITE``); these are
what only Spark has. ``python -m pytest -m spark`` runs them all.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from conftest import spark_wanted
from store_tools import AS_OF

import segnb
from segnb.errors import SegnbError
from segnb.settings import Settings
from segnb.store import versions

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        not spark_wanted(), reason="Spark needs pyspark and Java (or SEGNB_TEST_SPARK=0 is set)"
    ),
]

RULE = 'city = "Shenzhen" or count(purchase, T-6..T) >= 2'


@pytest.fixture
def spark_ws(spark_backend, spark_session, tmp_path):
    session_zone = spark_session.conf.get("spark.sql.session.timeZone")
    spark_session.conf.set("spark.sql.session.timeZone", "Asia/Shanghai")
    ws = segnb.connect(
        spark_session,  # the catalog: the warehouse's own segnb_catalog table
        store=str(tmp_path / "meta" / "store.duckdb"),
        settings=Settings(owner="tester", store_schema="t_spark"),
    )
    yield ws
    ws.close()
    spark_session.sql("DROP DATABASE IF EXISTS t_spark CASCADE")
    spark_session.conf.set("spark.sql.session.timeZone", session_zone)


def test_a_session_keeps_its_zone_and_gets_it_back(spark_ws, spark_session):
    assert spark_ws.con.name == "pyspark"
    assert spark_ws.tz == "Asia/Shanghai"  # the session's zone is the workspace's
    assert spark_session.conf.get("spark.sql.session.timeZone") == "UTC"  # Ibis's, meanwhile
    spark_ws.close()
    assert spark_session.conf.get("spark.sql.session.timeZone") == "Asia/Shanghai"


def test_metadata_in_the_store_file_members_on_spark(
    spark_ws, spark_session, duckdb_backend, tmp_path
):
    seg = spark_ws.create_segment("mixed", RULE, as_of=AS_OF)
    duck = segnb.Workspace(duckdb_backend.con, duckdb_backend.catalog, tz="Asia/Shanghai")
    assert seg.size == duck.estimate(RULE, as_of=AS_OF)
    assert (tmp_path / "meta" / "store.duckdb").exists()
    tables = {t.name for t in spark_session.catalog.listTables("t_spark")}
    assert "segnb_m_1_1" in tables and "segnb_ids_users" in tables
    assert not any(t.startswith("segnb_segments") for t in tables)  # metadata is not on Spark
    members = seg.members().to_pyarrow().column(0).to_pylist()
    assert sorted(members) == sorted(set(members)) and len(members) == seg.size


def test_a_failed_write_keeps_the_version_and_leaves_no_table(spark_ws, spark_session, monkeypatch):
    seg = spark_ws.create_segment("kept", RULE, as_of=AS_OF)

    def fail(stage):
        if stage == "before_commit":
            raise RuntimeError("power cut")

    monkeypatch.setattr(versions, "checkpoint", fail)
    with pytest.raises(RuntimeError, match="power cut"):
        seg.refresh(as_of=AS_OF)
    monkeypatch.undo()
    again = spark_ws.segment("kept")
    assert again.version == 1 and again.size == seg.size
    tables = {t.name for t in spark_session.catalog.listTables("t_spark")}
    assert "segnb_m_1_2" not in tables  # the new version's table went with its transaction


def test_an_orphan_table_is_swept(spark_ws, spark_session):
    spark_ws.create_segment("swept", RULE, as_of=AS_OF)
    spark_session.sql("CREATE TABLE t_spark.segnb_m_1_9 USING parquet AS SELECT 1 AS user_id")
    assert spark_ws.store.remove_orphans() == ["segnb_m_1_9"]
    tables = {t.name for t in spark_session.catalog.listTables("t_spark")}
    assert "segnb_m_1_9" not in tables and "segnb_m_1_1" in tables


def test_export_is_written_by_spark(spark_ws, tmp_path, monkeypatch):
    from pyspark.sql import DataFrame

    seg = spark_ws.create_segment("exported", RULE, as_of=AS_OF)

    def refuse(self, *args, **kwargs):
        raise AssertionError("an export must not collect the rows into Python")

    monkeypatch.setattr(DataFrame, "toPandas", refuse)
    monkeypatch.setattr(DataFrame, "toArrow", refuse)
    path = seg.export(tmp_path / "members.parquet")
    csv = seg.export(tmp_path / "members.csv")
    monkeypatch.undo()
    ids = pq.read_table(path).column(0).to_pylist()
    assert sorted(ids) == sorted(seg.members().to_pyarrow().column(0).to_pylist())
    lines = csv.read_text().splitlines()
    assert lines[0] == "user_id" and len(lines) == seg.size + 1


def test_sets_and_sizes(spark_ws, duckdb_backend):
    spark_ws.create_segment("a", 'city = "Shenzhen"', as_of=AS_OF)
    spark_ws.create_segment("b", "count(purchase, T-6..T) >= 1", as_of=AS_OF)
    duck = segnb.Workspace(duckdb_backend.con, duckdb_backend.catalog, tz="Asia/Shanghai")
    both = 'city = "Shenzhen" and count(purchase, T-6..T) >= 1'
    assert spark_ws.set_size("a & b") == duck.estimate(both, as_of=AS_OF)
    assert spark_ws.estimate('in_segment("a") and not in_segment("b")', as_of=AS_OF) == (
        spark_ws.set_size("a - b")
    )


def test_a_read_only_connection_without_a_store_says_so(spark_session, spark_backend, tmp_path):
    ws = segnb.connect(spark_session, read_only=True, store=str(tmp_path / "none.duckdb"))
    with pytest.raises(SegnbError, match=r"no segment store at .* read-only"):
        ws.segments()
    ws.close()
