"""Shared fixtures: a schema-only catalog for parser tests; backends for engine tests."""

from __future__ import annotations

import dataclasses
import datetime
import os
import pathlib
import shutil
import subprocess
import uuid
from typing import Any

import ibis
import pytest

from segnb.catalog.model import Catalog

SCHEMA_SQL = """
CREATE TABLE users(user_id BIGINT, device_id VARCHAR, account_id VARCHAR, channel VARCHAR,
                   is_member BOOLEAN, signup_date DATE, gender VARCHAR, age INTEGER);
CREATE TABLE user_tags(user_id BIGINT, dt DATE, city VARCHAR, is_black_list BOOLEAN,
                       register_time TIMESTAMP, trade_cnt_7d INTEGER, total_spend DOUBLE,
                       member_level VARCHAR, last_login_days INTEGER);
CREATE TABLE events(user_id BIGINT, ts TIMESTAMP, event VARCHAR, industry VARCHAR,
                    card_bin VARCHAR, amount DOUBLE);
CREATE TABLE merchants(merchant_id BIGINT, name VARCHAR, industry VARCHAR, city VARCHAR,
                       opened_date DATE);
CREATE TABLE merchant_tags(merchant_id BIGINT, dt DATE, gmv_7d DOUBLE, rating DOUBLE,
                           is_active BOOLEAN);
"""

EVENTS = ["login", "search", "view_product", "add_cart", "purchase", "refund"]

SCHEMA_CATALOG = {
    "entities": {
        "users": {
            "table": "users",
            "id": "user_id",
            "tags": {"table": "user_tags", "id": "user_id", "date": "dt"},
            "events": {
                "table": "events",
                "id": "user_id",
                "time": "ts",
                "name": "event",
                "names": EVENTS,
            },
        },
        "merchants": {
            "table": "merchants",
            "id": "merchant_id",
            "tags": {"table": "merchant_tags", "id": "merchant_id", "date": "dt"},
        },
    }
}


@pytest.fixture(scope="session")
def schema_con():
    """An in-memory DuckDB holding the demo's tables, empty."""
    con = ibis.duckdb.connect()
    for statement in SCHEMA_SQL.split(";"):
        if statement.strip():
            con.raw_sql(statement)
    return con


@pytest.fixture(scope="session")
def schema_catalog(schema_con):
    """A catalog over empty demo-shaped tables (event names declared): for parser tests."""
    return Catalog.load(SCHEMA_CATALOG, schema_con)


# -- backends for engine tests ------------------------------------------------
#
# Every engine test that takes ``backend`` runs on DuckDB and on PostgreSQL.
# The data is made once per session in a DuckDB file: the demo warehouse
# (segnb.demo.warehouse, small and with a fixed end date) plus the "edge" tables,
# a second target object with unrelated table and column names and the cases
# the demo does not have (missing snapshots, midnight event times, tz-aware
# and DATE event times, events of a constant name). PostgreSQL gets a copy in a
# database of its own per session, named by SEGNB_TEST_POSTGRES's server.

POSTGRES_ENV = "SEGNB_TEST_POSTGRES"
DEMO_USERS = 3_000
DEMO_DAYS = 45
DEMO_END = datetime.date(2025, 3, 31)
DEMO_SEED = 7

EDGE_DAYS = [datetime.date(2025, 3, d) for d in range(1, 15) if d != 10]  # no snapshot on 3-10
EDGE_RISK_DAYS = [datetime.date(2025, 3, d) for d in (2, 5, 8, 11, 14)]
EDGE_EVENTS_FROM = datetime.date(2025, 2, 25)
EDGE_EVENTS_TO = datetime.date(2025, 3, 16)
EDGE_TZ = "Asia/Shanghai"

EDGE_CATALOG = {
    "entities": {
        "accounts": {
            "table": "acct",
            "id": "acct_no",
            "types": {"tier_code": "enum"},
            "tags": [
                {"table": "acct_daily", "id": "acct_no", "date": "snap"},
                {"table": "acct_risk", "id": "acct_no", "date": "scored_at"},
            ],
            "events": [
                {"table": "acct_log", "id": "acct_no", "time": "happened", "name": "action"},
                {"table": "acct_orders", "id": "acct_no", "time": "placed", "event": "order"},
                {"table": "acct_visits", "id": "acct_no", "time": "visit_day", "event": "visit"},
            ],
        }
    }
}

EDGE_SQL = """
CREATE TABLE acct(acct_no BIGINT, tier VARCHAR, tier_code INTEGER, vip BOOLEAN, opened DATE,
                  opened_at TIMESTAMP, credit DOUBLE, last_seen TIMESTAMPTZ);
CREATE TABLE acct_daily(acct_no BIGINT, snap DATE, region VARCHAR, frozen BOOLEAN,
                        first_order TIMESTAMP, orders_7d INTEGER, balance DOUBLE, grade VARCHAR);
CREATE TABLE acct_risk(acct_no BIGINT, scored_at TIMESTAMP, risk DOUBLE);
CREATE TABLE acct_log(acct_no BIGINT, happened TIMESTAMP, action VARCHAR, channel VARCHAR,
                      value DOUBLE, flagged BOOLEAN);
CREATE TABLE acct_orders(acct_no BIGINT, placed TIMESTAMPTZ, total DOUBLE, store VARCHAR);
CREATE TABLE acct_visits(acct_no BIGINT, visit_day DATE, pages INTEGER);
"""


def _edge_frames(seed: int = 11) -> dict[str, Any]:
    """Small deterministic tables full of NULLs, gaps and day boundaries."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = 400
    ids = 1000 + 3 * np.arange(n)

    def maybe(values, p=0.1):
        values = pd.Series(values, dtype=object)
        values[rng.random(len(values)) < p] = None
        return values

    def pick(options, size, p=0.1):
        return maybe(rng.choice(np.array(options, dtype=object), size), p)

    def moments(first: datetime.date, last: datetime.date, size: int):
        """Random times between two days; some exactly at midnight or just before it."""
        span = ((last - first).days + 1) * 86_400_000_000
        micros = rng.integers(0, span, size)
        kind = rng.random(size)
        micros = np.where(kind < 0.1, micros // 86_400_000_000 * 86_400_000_000, micros)
        micros = np.where(
            (kind >= 0.1) & (kind < 0.15),
            micros // 86_400_000_000 * 86_400_000_000 + 86_399_999_999,
            micros,
        )
        return pd.Series(pd.Timestamp(first) + pd.to_timedelta(micros, unit="us"))

    def days(first: datetime.date, last: datetime.date, size: int):
        offsets = rng.integers(0, (last - first).days + 1, size)
        return pd.Series([first + datetime.timedelta(days=int(o)) for o in offsets], dtype=object)

    acct = pd.DataFrame(
        {
            "acct_no": ids,
            "tier": pick(["basic", "plus", "pro"], n),
            "tier_code": maybe(rng.integers(1, 4, n)),
            "vip": maybe(rng.random(n) < 0.3),
            "opened": maybe(days(datetime.date(2024, 6, 1), datetime.date(2025, 3, 14), n)),
            "opened_at": maybe(moments(datetime.date(2025, 2, 20), datetime.date(2025, 3, 14), n)),
            "credit": maybe(np.round(rng.uniform(0, 1000, n), 2)),
        }
    )
    seen = moments(datetime.date(2025, 3, 1), datetime.date(2025, 3, 14), n).dt.normalize()
    seen = seen + pd.to_timedelta(15 * 60 + rng.integers(0, 120, n), unit="m")  # 15:00-17:00 UTC
    acct["last_seen"] = seen.dt.tz_localize("UTC").where(rng.random(n) > 0.1)

    snaps = []
    region = rng.choice(["north", "south", "east", "west"], n)
    for day in EDGE_DAYS:
        present = rng.random(n) < 0.85
        moved = rng.random(n) < 0.1
        region = np.where(moved, rng.choice(["north", "south", "east", "west"], n), region)
        k = int(present.sum())
        snaps.append(
            pd.DataFrame(
                {
                    "acct_no": ids[present],
                    "snap": [day] * k,
                    "region": maybe(region[present]),
                    "frozen": maybe(rng.random(k) < 0.2),
                    "first_order": maybe(
                        moments(datetime.date(2025, 2, 20), datetime.date(2025, 3, 14), k)
                    ),
                    "orders_7d": maybe(rng.integers(0, 13, k)),
                    "balance": maybe(np.round(rng.uniform(-50, 500, k), 2)),
                    "grade": pick(["A", "B", "C", "D"], k),
                }
            )
        )
    risk = []
    for day in EDGE_RISK_DAYS:
        present = rng.random(n) < 0.9
        k = int(present.sum())
        risk.append(
            pd.DataFrame(
                {
                    "acct_no": ids[present],
                    "scored_at": [pd.Timestamp(day)] * k,
                    "risk": maybe(np.round(rng.uniform(0, 1, k), 3)),
                }
            )
        )

    active = ids[rng.random(n) < 0.85]  # the rest have no events at all
    owners = np.concatenate([rng.choice(active, 6000), 2 + 3 * rng.integers(0, 50, 40)])
    m = len(owners)  # the last 40 belong to ids that are not accounts
    log = pd.DataFrame(
        {
            "acct_no": owners,
            "happened": moments(EDGE_EVENTS_FROM, EDGE_EVENTS_TO, m),
            "action": rng.choice(
                np.array(["open", "pay", "refund"], dtype=object), m, p=[0.5, 0.35, 0.15]
            ),
            "channel": pick(["web", "app"], m),
            "value": maybe(np.round(rng.uniform(0, 120, m), 2)),
            "flagged": maybe(rng.random(m) < 0.25),
        }
    )
    k = 1500
    placed = moments(EDGE_EVENTS_FROM, EDGE_EVENTS_TO, k)
    near_midnight = rng.random(k) < 0.5  # around 16:00 UTC, i.e. midnight in Shanghai
    shifted = placed.dt.normalize() + pd.to_timedelta(16 * 60 + rng.integers(-60, 60, k), unit="m")
    placed = placed.where(~near_midnight, shifted)
    orders = pd.DataFrame(
        {
            "acct_no": rng.choice(active, k),
            "placed": placed.dt.tz_localize("UTC"),
            "total": maybe(np.round(rng.uniform(1, 300, k), 2)),
            "store": pick(["s1", "s2", "s3"], k),
        }
    )
    k = 2000
    visits = pd.DataFrame(
        {
            "acct_no": rng.choice(active, k),
            "visit_day": days(EDGE_EVENTS_FROM, EDGE_EVENTS_TO, k),
            "pages": maybe(rng.integers(1, 20, k)),
        }
    )
    return {
        "acct": acct,
        "acct_daily": pd.concat(snaps, ignore_index=True),
        "acct_risk": pd.concat(risk, ignore_index=True),
        "acct_log": log,
        "acct_orders": orders,
        "acct_visits": visits,
    }


def _write_edge_tables(path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute(EDGE_SQL)
        for name, frame in _edge_frames().items():
            con.register("_frame", frame)
            con.execute(f"INSERT INTO {name} SELECT * FROM _frame")
            con.unregister("_frame")
    finally:
        con.close()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory):
    """A DuckDB file with the small demo warehouse and the edge tables (made once)."""
    from segnb.demo.warehouse import generate

    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    generate(path, users=DEMO_USERS, days=DEMO_DAYS, seed=DEMO_SEED, end=DEMO_END)
    _write_edge_tables(path)
    return path


@pytest.fixture(scope="session")
def duckdb_con(warehouse):
    con = ibis.duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.disconnect()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_binaries() -> bool:
    import glob

    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb"))


@pytest.fixture(scope="session")
def postgres_url():
    """The PostgreSQL server of the tests: ``SEGNB_TEST_POSTGRES``, else a throwaway one.

    Where the server binaries are installed, the suite starts its own server on
    a free loopback port with ``.ci/postgres`` and stops it at the end, so the
    README's one test command runs the PostgreSQL half too.
    """
    url = os.environ.get(POSTGRES_ENV)
    if url:
        yield url
        return
    if not _server_binaries():
        message = (
            f"{POSTGRES_ENV} is not set and no PostgreSQL server binaries are installed "
            "(apt-get install postgresql, or start a server with .ci/postgres)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PostgreSQL tests")
        pytest.skip(message)
    import tempfile

    port = _free_port()
    home = pathlib.Path(tempfile.mkdtemp(prefix="segnb-test-pg-"))
    data = home / "data"
    if os.geteuid() == 0:  # the server refuses to run as root: its files belong to postgres
        shutil.chown(home, "postgres")
    script = pathlib.Path(__file__).resolve().parent.parent / ".ci" / "postgres"
    done = subprocess.run(
        ["bash", str(script), str(port), str(data)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        pytest.fail(f"could not start PostgreSQL with .ci/postgres: {done.stderr.strip()}")
    try:
        yield done.stdout.strip().splitlines()[-1]
    finally:
        _stop_postgres(data)
        shutil.rmtree(home, ignore_errors=True)


def _stop_postgres(data) -> None:
    import glob

    pg_ctl = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl")]
    command = [pg_ctl[-1], "-D", str(data), "-m", "immediate", "stop"]
    if os.geteuid() == 0:
        command = ["su", "postgres", "-s", "/bin/bash", "-c", " ".join(command)]
    subprocess.run(command, capture_output=True, timeout=60)


def _copy_to_postgres(duck, url: str, tables: list[str], scratch) -> None:
    """Copy DuckDB tables into PostgreSQL: DDL through Ibis, rows by COPY of CSV.

    DuckDB writes each table as CSV in milliseconds and PostgreSQL's COPY parses
    it in C: much faster than inserting rows from Python.
    """
    import psycopg

    pg = ibis.connect(url)
    try:
        for name in tables:
            pg.create_table(name, schema=duck.table(name).schema(), overwrite=True)
    finally:
        pg.disconnect()
    with psycopg.connect(_libpq(url)) as conn, conn.cursor() as cur:
        for name in tables:
            csv = scratch / f"{name}.csv"
            duck.raw_sql(f"""COPY "{name}" TO '{csv}' (FORMAT csv, HEADER false, NULL '\\N')""")
            command = f"""COPY "{name}" FROM STDIN (FORMAT csv, NULL '\\N')"""
            with cur.copy(command) as copy, open(csv, "rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            csv.unlink()
        cur.execute("ANALYZE")  # fresh tables have no statistics: plans would be guesses


def _libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def _with_database(url: str, database: str) -> str:
    """``url`` (postgres:// or postgresql://) pointing at another database, for Ibis."""
    head, _, tail = url.partition("?")
    base = "postgres://" + head.split("://", 1)[1].rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{tail}" if tail else "")


@pytest.fixture(scope="session")
def postgres_con(duckdb_con, postgres_url, tmp_path_factory):
    """A PostgreSQL database of this session's own holding a copy of every warehouse table."""
    import psycopg

    url = postgres_url
    database = f"segnb_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    session_url = _with_database(url, database)
    try:
        tables = [t for t in duckdb_con.list_tables() if not t.startswith("_")]
        _copy_to_postgres(duckdb_con, session_url, tables, tmp_path_factory.mktemp("csv"))
        con = ibis.connect(session_url)
        yield con
        con.disconnect()
    finally:
        with psycopg.connect(_libpq(url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@dataclasses.dataclass(frozen=True)
class Backend:
    """One connected backend with the catalogs of the test data."""

    name: str
    con: Any
    catalog: Catalog  # the demo warehouse's own, read from its segnb_catalog table
    edge: Catalog  # the edge tables: unrelated names, constant events, tz-aware times


@pytest.fixture(scope="session")
def duckdb_backend(duckdb_con):
    return Backend(
        "duckdb", duckdb_con, Catalog.load(None, duckdb_con), Catalog.load(EDGE_CATALOG, duckdb_con)
    )


@pytest.fixture(scope="session")
def postgres_backend(postgres_con):
    return Backend(
        "postgres",
        postgres_con,
        Catalog.load(None, postgres_con),
        Catalog.load(EDGE_CATALOG, postgres_con),
    )


# -- Spark (local mode) ------------------------------------------------------------
#
# When pyspark and Java are installed (or SEGNB_TEST_SPARK=1), the engine
# suite (the backend tests of SPARK_SUITE) runs on Spark too, marked
# ``spark``; SEGNB_TEST_SPARK=0 leaves it out. The warehouse tables are copied
# from the DuckDB file through Arrow into a local-mode session with a
# warehouse folder of its own.

SPARK_ENV = "SEGNB_TEST_SPARK"
#: the files whose backend tests make up the engine suite on Spark
SPARK_SUITE = frozenset({
    "test_spark.py", "test_compile.py", "test_compile_behaviour.py", "test_store_segments.py",
    "test_store_sets.py", "test_models_parity.py", "test_models_segments.py",
})  # fmt: skip


def spark_wanted() -> bool:
    """SEGNB_TEST_SPARK=1 or 0 decides; unset, Spark runs where pyspark and Java are."""
    value = os.environ.get(SPARK_ENV, "").strip()
    if value:
        return value not in ("0", "false", "no")
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None and shutil.which("java") is not None


def pytest_collection_modifyitems(config, items):
    """Spark variants of backend tests outside the engine suite are not collected."""
    outside = [
        item for item in items
        if getattr(item, "callspec", None) is not None
        and item.callspec.params.get("backend") == "spark"
        and item.path.name not in SPARK_SUITE
    ]  # fmt: skip
    if outside:
        config.hook.pytest_deselected(items=outside)
        keep = set(map(id, outside))
        items[:] = [item for item in items if id(item) not in keep]


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    pytest.importorskip("pyspark", reason="the Spark tests need: pip install -e '.[dev,spark]'")
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    folder = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("segnb-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(folder / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")  # naive times stay wall-clock times
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_con(duckdb_con, spark_session):
    """The warehouse tables as cached views of a local Spark session, loaded with Arrow."""
    con = ibis.pyspark.connect(spark_session)
    for name in duckdb_con.list_tables():
        if name.startswith("_"):
            continue
        frame = spark_session.createDataFrame(duckdb_con.table(name).to_pyarrow())
        frame.cache().createOrReplaceTempView(name)
    return con


@pytest.fixture(scope="session")
def spark_backend(spark_con):
    return Backend(
        "spark", spark_con, Catalog.load(None, spark_con), Catalog.load(EDGE_CATALOG, spark_con)
    )


_BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
if spark_wanted():
    _BACKENDS.append(pytest.param("spark", marks=pytest.mark.spark))


@pytest.fixture(scope="session", params=_BACKENDS)
def backend(request) -> Backend:
    """Each engine test runs once on DuckDB and once on PostgreSQL (and on Spark when asked)."""
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture(scope="session")
def frames(duckdb_con):
    """Every warehouse table as a pandas DataFrame: what the oracle evaluates rules on."""
    return {
        name: duckdb_con.table(name).to_pyarrow().to_pandas() for name in duckdb_con.list_tables()
    }
