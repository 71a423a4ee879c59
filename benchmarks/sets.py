"""Set operations on two 5M-member segments of 10M users: segnb vs DuckDB vs raw pyroaring.

Builds a DuckDB warehouse of ``--users`` users with two random boolean
attributes (each true for about half of them), saves two rules segments
through segnb (member tables + bitmaps), then times, median of ``--repeat``
runs:

* segnb: ``ws.set_size("a & b")``, ``"a | b"``, ``"a - b"`` and
  ``ws.overlap(["a", "b"])`` -- the public API, metadata read included;
* DuckDB: ``count(*)`` of ``INTERSECT`` / ``UNION`` / ``EXCEPT`` of the two
  member tables (the overlap is the intersection count);
* raw pyroaring: the same operations on two prebuilt BitMaps.

and prints the ratios and the process's peak memory (RSS).

    python benchmarks/sets.py                 # 10M users, ~1-2 minutes on 2 cores
    python benchmarks/sets.py --users 1000000 # quick look
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, default=2, help="DuckDB threads (the CI box has 2 cores)"
    )
    args = parser.parse_args(argv)
    rows, cold, seconds = measure(args.users, args.repeat, args.threads)
    print()
    print(f"{'operation':<13}{'result':>12}{'segnb ms':>10}{'duckdb ms':>11}{'roaring ms':>12}"
          f"{'duckdb/segnb':>14}{'segnb/roaring':>15}")  # fmt: skip
    for op, result, t_seg, t_duck, t_roar in rows:
        print(f"{op:<13}{result:>12,}{t_seg * 1e3:>10.2f}{t_duck * 1e3:>11.1f}{t_roar * 1e3:>12.2f}"
              f"{t_duck / t_seg:>13.0f}x{t_seg / t_roar:>14.1f}x")  # fmt: skip
    print()
    print(f"first set operation (reads both bitmaps from the store): {cold * 1e3:.1f} ms")
    print(f"peak memory (RSS of this process): {peak_mb():,.0f} MB")
    print(f"total time: {seconds:.1f}s")
    return 0


def measure(users: int, repeat: int, threads: int):
    """(operation, result, segnb s, DuckDB s, pyroaring s) rows, the first operation's time, total."""
    import duckdb
    from pyroaring import BitMap

    import segnb

    total = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sets.duckdb"
        con = duckdb.connect(str(path))
        con.execute(f"SET threads = {threads}; SET memory_limit = '3GB'")
        con.execute(
            "CREATE TABLE users AS SELECT range AS user_id, "
            "hash(range * 2 + 1) % 2 = 0 AS a_flag, hash(range * 2) % 2 = 0 AS b_flag "
            f"FROM range({users})"
        )
        con.close()
        print(f"warehouse: {users:,} users, peak RSS so far {peak_mb():,.0f} MB")

        ws = segnb.connect(
            str(path), catalog={"entities": {"users": {"table": "users", "id": "user_id"}}}
        )
        ws.con.raw_sql(f"SET threads = {threads}; SET memory_limit = '3GB'")
        build = {}
        for name, rule in (("a", "a_flag"), ("b", "b_flag")):
            start = time.perf_counter()
            seg = ws.create_segment(name, rules=rule)
            build[name] = time.perf_counter() - start
            print(f"segment {name}: {seg.size:,} members, saved in {build[name]:.2f}s "
                  "(member table + dense ids + bitmap)")  # fmt: skip
        a, b = ws.segment("a"), ws.segment("b")
        store = ws.store  # member tables: Parquet files beside a DuckDB warehouse
        ta, tb = store.data.ref(f"segnb_m_{a.id}_1"), store.data.ref(f"segnb_m_{b.id}_1")

        start = time.perf_counter()
        ws.set_size("a & b")  # first use reads both bitmaps from the store
        cold = time.perf_counter() - start

        raw = ws.con.con
        bm_a = BitMap.deserialize(store.bitmap_bytes(a.id, 1))
        bm_b = BitMap.deserialize(store.bitmap_bytes(b.id, 1))

        def duck(op: str):
            return lambda: raw.execute(
                f"SELECT count(*) FROM (SELECT user_id FROM {ta} {op} SELECT user_id FROM {tb})"
            ).fetchone()[0]

        ops = {
            "intersection": (
                lambda: ws.set_size("a & b"), duck("INTERSECT"), lambda: len(bm_a & bm_b)),
            "union": (lambda: ws.set_size("a | b"), duck("UNION"), lambda: len(bm_a | bm_b)),
            "difference": (lambda: ws.set_size("a - b"), duck("EXCEPT"), lambda: len(bm_a - bm_b)),
            "overlap": (
                lambda: int(ws.overlap(["a", "b"]).at["a", "b"]), duck("INTERSECT"),
                lambda: bm_a.intersection_cardinality(bm_b),
            ),
        }  # fmt: skip
        rows = []
        for op, (ours, theirs, roaring) in ops.items():
            t_seg, r_seg = timed(ours, repeat)
            t_duck, r_duck = timed(theirs, max(1, repeat // 2))
            t_roar, r_roar = timed(roaring, repeat)
            if not r_seg == r_duck == r_roar:
                raise SystemExit(
                    f"{op}: results differ: segnb {r_seg}, duckdb {r_duck}, pyroaring {r_roar}"
                )
            rows.append((op, r_seg, t_seg, t_duck, t_roar))
        ws.con.disconnect()
    return rows, cold, time.perf_counter() - total


if __name__ == "__main__":
    raise SystemExit(main())
