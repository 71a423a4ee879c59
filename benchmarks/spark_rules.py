"""The benchmark's rules on local Spark through Ibis: times and counts, reported, not compared.

The demo tables are copied from the DuckDB file into a local-mode Spark
session with Arrow, then ``segnb.connect(ibis.pyspark.connect(spark),
catalog=...)`` estimates each rule; counts are checked against DuckDB.
"""

from __future__ import annotations

import statistics
import time

import duckdb
import ibis
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
                frame = con.execute(f"SELECT * FROM {table}").df()
                spark.createDataFrame(frame).cache().createOrReplaceTempView(table)
                spark.table(table).count()
        load = time.perf_counter() - start
        catalog = demo_catalog()
        del catalog["entities"]["merchants"]
        ws = segnb.connect(ibis.pyspark.connect(spark), catalog=catalog)
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
        return {"version": spark.version, "session": session, "load": load, "rows": rows,
                "users": duckdb.connect(str(path), read_only=True).execute(
                    "SELECT count(*) FROM users").fetchone()[0]}  # fmt: skip
    finally:
        spark.stop()
