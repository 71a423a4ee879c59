"""``segnb doctor``: the layout check measures what a one-day scan reads, on each engine."""

from __future__ import annotations

import uuid

import ibis
import pytest

from segnb import cli
from segnb.catalog.layout import check_layout
from segnb.catalog.model import Catalog

IDS, DATES = 50_000, 10  # 500,000 rows: about four DuckDB row groups


def _run(con, sql: str) -> None:
    cursor = con.raw_sql(sql)
    if con.name == "postgres":
        cursor.close()


def _make(con, name: str, order: str, ids: int) -> None:
    _run(
        con,
        f"CREATE TABLE {name} AS SELECT i % {ids} AS user_id, "
        f"DATE '2025-01-01' + floor(i / {ids})::INTEGER AS dt, (i % 7)::DOUBLE PRECISION AS x "
        f"FROM generate_series(0, {ids * DATES - 1}) AS g(i) ORDER BY {order}",
    )
    if con.name == "postgres":
        _run(con, f"ANALYZE {name}")


def _catalog(con, tags: str, users: str) -> Catalog:
    spec = {"entities": {"users": {"table": users, "id": "user_id",
                                   "tags": {"table": tags, "id": "user_id", "date": "dt"}}}}  # fmt: skip
    return Catalog.load(spec, con)


@pytest.fixture()
def tables(backend, tmp_path):
    # DuckDB: a file of its own (the shared warehouse is read-only); PostgreSQL: the test database
    con = (
        ibis.duckdb.connect(tmp_path / "layout.duckdb") if backend.name == "duckdb" else backend.con
    )
    tag = uuid.uuid4().hex[:8]
    names = {k: f"lay_{k}_{tag}" for k in ("users", "by_user", "by_day")}
    ids = IDS if con.name == "duckdb" else 2_000
    _run(con, f"CREATE TABLE {names['users']} AS SELECT DISTINCT user_id FROM "
                f"(SELECT generate_series(0, {ids - 1}) AS user_id) u")  # fmt: skip
    _make(con, names["by_user"], "user_id, dt", ids)
    _make(con, names["by_day"], "dt, user_id", ids)
    yield con, names
    for name in names.values():
        con.drop_table(name, force=True)


def test_a_table_written_by_user_is_reported_with_what_to_do(tables):
    con, names = tables
    (finding,) = check_layout(_catalog(con, names["by_user"], names["users"]), con)
    assert not finding.ok and finding.kind == "tags" and finding.column == "dt"
    assert finding.share == 1.0  # every row group (DuckDB) or the whole table (PostgreSQL)
    if con.name == "duckdb":
        assert "ORDER BY dt" in finding.advice
    else:
        assert "partition" in finding.advice and "CREATE INDEX" in finding.advice


def test_a_table_written_by_date_reads_about_one_day(tables):
    con, names = tables
    catalog = _catalog(con, names["by_day"], names["users"])
    (finding,) = check_layout(catalog, con)
    if con.name == "duckdb":
        # the newest date's 50,000 rows span at most two of the ~4 row groups
        assert finding.ok and finding.share is not None and finding.share <= 0.5
        assert "row groups" in finding.measured
    else:  # in date order but no index: PostgreSQL still reads it all; a BRIN index fits
        assert not finding.ok and "brin" in finding.advice and "+1.00" in finding.measured
        _run(con, f"CREATE INDEX ON {names['by_day']} USING brin (dt)")
        (finding,) = check_layout(catalog, con)
        assert finding.ok and "brin" in finding.measured


def test_the_demo_warehouse_passes(backend):
    findings = check_layout(backend.catalog, backend.con)
    assert {f.table for f in findings} >= {"user_tags", "events"}
    if backend.name == "duckdb":  # the test demo is small: one row group or date-ordered
        assert all(f.ok for f in findings)


def test_the_doctor_command_prints_the_findings_and_fails_on_a_bad_layout(monkeypatch):
    from segnb.catalog.layout import LayoutFinding

    bad = LayoutFinding("users", "tags", "t", "dt", False, 1.0, "reads all", "order it")

    class FakeWorkspace:
        def doctor(self):
            return [bad]

    monkeypatch.setattr("segnb.connection.connect", lambda *a, **k: FakeWorkspace())
    args = cli.build_parser().parse_args(["doctor", "--url", "duckdb:///x.duckdb"])
    report = cli.run_doctor(args)
    assert "reads all" in report and "order it" in report and report.exit_code == 1
