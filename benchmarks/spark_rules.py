"""The benchmark's rules on local Spark through Ibis: times and counts, reported, not compared.

The demo tables are written from the DuckDB file to Parquet, which a
local-mode Spark session reads as its tables (as Spark reads a lake), then
``segnb.connect(spark, catalog=...)`` estimates each rule once, after one
warm-up query (counts checked against DuckDB), saves one segment (member table
and dense ids on Spark, metadata in a DuckDB store file) and sizes a set.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb
import peers
import pyspark  # noqa: F401  (ImportError: reported as skipped)

import segnb
from segnb.demo.warehouse import demo_catalog


def measure(path, as_of, repeat: int) -> dict:
    from pyspark.sql import SparkSession

    start = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")  # DuckDB's naive times, as they are
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="segnb-spark-warehouse-"))
        .config("spark.driver.memory", "3g")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session = time.perf_counter() - start
    spark.sparkContext.setLogLevel("ERROR")
    folder = tempfile.TemporaryDirectory()
    try:
        start = time.perf_counter()
        with duckdb.connect(str(path), read_only=True) as con:
            users = con.execute("SELECT count(*) FROM users").fetchone()[0]
            for table in ("users", "user_tags", "events"):
                part = Path(folder.name) / f"{table}.parquet"
                con.execute(f"COPY {table} TO '{part}' (FORMAT parquet)")
                spark.read.parquet(str(part)).createOrReplaceTempView(table)
        load = time.perf_counter() - start
        catalog = demo_catalog()
        del catalog["entities"]["merchants"]
        store = tempfile.mkdtemp(prefix="segnb-spark-store-")
        ws = segnb.connect(spark, catalog=catalog, store=f"{store}/store.duckdb", tz="UTC")
        duck = segnb.connect(f"duckdb:///{path}", read_only=True)
        ws.estimate(peers.RULES[0].text, as_of=as_of)  # one warm-up query for the session
        rows = []
        for rule in peers.RULES:  # Spark is reported, not compared: each rule timed once
            t0 = time.perf_counter()
            count = ws.estimate(rule.text, as_of=as_of)
            seconds = time.perf_counter() - t0
            expected = duck.estimate(rule.text, as_of=as_of)
            rows.append({"rule": rule.name, "count": count, "duckdb_count": expected,
                         "seconds": seconds})  # fmt: skip
            print(f"  {rule.name:<36} spark {seconds:.2f}s count {count} (DuckDB {expected})",
                  flush=True)  # fmt: skip
        duck.con.disconnect()
        t0 = time.perf_counter()
        saved = ws.create_segment("bench_spark", peers.RULES[0].text, as_of=as_of)
        save = time.perf_counter() - t0
        ws.create_segment("bench_spark_2", peers.RULES[1].text, as_of=as_of)
        t0 = time.perf_counter()
        both = ws.set_size("bench_spark & bench_spark_2")
        set_ms = (time.perf_counter() - t0) * 1000
        print(f"  saving a segment {save:.1f}s ({saved.size} members), set size {set_ms:.1f} ms "
              f"({both})", flush=True)  # fmt: skip
        ws.close()
        return {"version": spark.version, "session": session, "load": load, "rows": rows,
                "save": save, "saved": saved.size, "set_ms": set_ms, "users": users}  # fmt: skip
    finally:
        spark.stop()
        folder.cleanup()
