"""The benchmark's rules on local Spark through Ibis: times and counts, reported, not compared.

The demo tables are copied from the DuckDB file into a local-mode Spark
session as Arrow tables, then ``segnb.connect(spark, catalog=...)`` estimates
each rule (counts checked against DuckDB), saves one segment (member table
and dense ids on Spark, metadata in a DuckDB store file) and sizes a set.
"""

from __future__ import annotations

import statistics
import tempfile
import time

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
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "3g")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session = time.perf_counter() - start
    try:
        start = time.perf_counter()
        with duckdb.connect(str(path), read_only=True) as con:
            for table in ("users", "user_tags", "events"):
                frame = con.sql(f"SELECT * FROM {table}").to_arrow_table()
                spark.createDataFrame(frame).cache().createOrReplaceTempView(table)
                spark.table(table).count()
        load = time.perf_counter() - start
        catalog = demo_catalog()
        del catalog["entities"]["merchants"]
        store = tempfile.mkdtemp(prefix="segnb-spark-store-")
        ws = segnb.connect(spark, catalog=catalog, store=f"{store}/store.duckdb", tz="UTC")
        duck = segnb.connect(f"duckdb:///{path}", read_only=True)
        rows = []
        for rule in peers.RULES:
            times, count = [], None
            # a warm-up, then one timed run: Spark is reported, not compared
            for round_ in range(2):
                t0 = time.perf_counter()
                count = ws.estimate(rule.text, as_of=as_of)
                if round_:
                    times.append(time.perf_counter() - t0)
            expected = duck.estimate(rule.text, as_of=as_of)
            rows.append({"rule": rule.name, "count": count, "duckdb_count": expected,
                         "seconds": statistics.median(times)})  # fmt: skip
            print(f"  {rule.name:<36} spark {statistics.median(times):.2f}s "
                  f"count {count} (DuckDB {expected})", flush=True)  # fmt: skip
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
                "save": save, "saved": saved.size, "set_ms": set_ms,
                "users": duckdb.connect(str(path), read_only=True).execute(
                    "SELECT count(*) FROM users").fetchone()[0]}  # fmt: skip
    finally:
        spark.stop()
