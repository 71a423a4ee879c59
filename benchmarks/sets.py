"""Set operations on two ~50% segments of 10M users: segnb's public calls vs raw pyroaring.

Builds a DuckDB warehouse of ``--users`` users with two random boolean
attributes (each true for about half of them), saves two rules segments
through segnb (member files, dense ids, bitmaps in the store beside the
warehouse), then asks each question three ways:

=====================  ===============================  =====================================
question               segnb (public call)              raw pyroaring (prebuilt BitMaps)
=====================  ===============================  =====================================
members of a & b       ``ws.set_bitmap("a & b")``       ``a & b``
members of a | b       ``ws.set_bitmap("a | b")``       ``a | b``
members of a - b       ``ws.set_bitmap("a - b")``       ``a - b``
size of a & b          ``ws.set_size("a & b")``         ``a.intersection_cardinality(b)``
size of a | b          ``ws.set_size("a | b")``         ``a.union_cardinality(b)``
size of a - b          ``ws.set_size("a - b")``         ``a.difference_cardinality(b)``
overlap table          ``ws.overlap(["a", "b"])``       the same DataFrame from ``len`` and
                                                        ``intersection_cardinality``
=====================  ===============================  =====================================

A size is compared with pyroaring's ``*_cardinality``, not ``len(a & b)``:
both answer "how many", and the cardinality call is pyroaring's fastest
answer (it builds no bitmap), so the comparison is the strict one. The
public calls include everything a user's call does: parsing the expression,
finding the segments' current versions and checking they are active, and
the bitmaps. segnb keeps the store's rows and the versions' bitmaps between
calls while the store is unchanged (two ``stat`` calls tell), so these are
steady-state times; the first call after a change, which reads the store,
is reported apart. DuckDB's ``INTERSECT`` / ``UNION`` / ``EXCEPT`` counts of
the two member tables are shown for scale.

segnb and pyroaring run in turns (``--rounds``), medians reported; results
are checked equal.

    python benchmarks/sets.py                 # 10M users, about a minute on 2 cores
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


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def turns(ours, theirs, rounds: int) -> tuple[float, float, object, object]:
    """Median seconds of ``ours`` and ``theirs`` run in turns (after one warm-up each)."""
    a, b = [], []
    r_ours, r_theirs = ours(), theirs()
    for _ in range(rounds):
        start = time.perf_counter()
        r_ours = ours()
        mid = time.perf_counter()
        r_theirs = theirs()
        a.append(mid - start)
        b.append(time.perf_counter() - mid)
    return statistics.median(a), statistics.median(b), r_ours, r_theirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=301, help="turns of segnb and pyroaring")
    parser.add_argument("--duckdb-repeat", type=int, default=1, help="runs of each DuckDB query")
    parser.add_argument(
        "--threads", type=int, default=2, help="DuckDB threads (the CI box has 2 cores)"
    )
    parser.add_argument("--data-dir", type=Path, help="keep the warehouse here between runs")
    args = parser.parse_args(argv)
    out = measure(args.users, args.rounds, args.threads, duckdb_repeat=args.duckdb_repeat,
                  data_dir=args.data_dir)  # fmt: skip
    print()
    print(f"{'question':<20}{'result':>12}{'segnb ms':>10}{'roaring ms':>12}{'segnb/roaring':>15}"
          f"{'duckdb ms':>11}")  # fmt: skip
    for r in out["rows"]:
        duck = f"{r['duckdb'] * 1e3:>11.0f}" if r["duckdb"] is not None else f"{'':>11}"
        print(f"{r['question']:<20}{r['result']:>12,}{r['segnb'] * 1e3:>10.3f}"
              f"{r['pyroaring'] * 1e3:>12.3f}{r['segnb'] / r['pyroaring']:>14.2f}x{duck}")  # fmt: skip
    print()
    print(f"first set size (attaches the store, reads rows and both bitmaps): "
          f"{out['cold'] * 1e3:.1f} ms")  # fmt: skip
    built = "kept from an earlier run" if out["build"] is None else f"built in {out['build']:.1f}s"
    print(f"segments {built}; peak memory (RSS) {peak_mb():,.0f} MB; "
          f"total {out['seconds']:.1f}s")  # fmt: skip
    return 0


def _frame(names: list[str], bitmaps: list) -> object:
    """The overlap table as ``ws.overlap`` returns it, from pyroaring directly."""
    import numpy as np
    import pandas as pd

    out = np.zeros((2, 2), dtype=np.int64)
    out[0, 0], out[1, 1] = len(bitmaps[0]), len(bitmaps[1])
    out[0, 1] = out[1, 0] = bitmaps[0].intersection_cardinality(bitmaps[1])
    return pd.DataFrame(
        out,
        index=pd.Index(names, name="segment", dtype=object),
        columns=pd.Index(names, dtype=object),
    )


def build(path: Path, users: int, threads: int) -> float:
    """A warehouse of ``users`` users at ``path`` with segments a and b saved; seconds to save them."""
    import duckdb

    import segnb

    con = duckdb.connect(str(path))
    con.execute(f"SET threads = {threads}; SET memory_limit = '3GB'")
    con.execute(
        "CREATE TABLE users AS SELECT range AS user_id, "
        "hash(range * 2 + 1) % 2 = 0 AS a_flag, hash(range * 2) % 2 = 0 AS b_flag "
        f"FROM range({users})"
    )
    con.close()
    print(f"warehouse: {users:,} users, peak RSS so far {peak_mb():,.0f} MB", flush=True)
    ws = segnb.connect(str(path), catalog=CATALOG)
    ws.con.raw_sql(f"SET threads = {threads}; SET memory_limit = '3GB'")
    start = time.perf_counter()
    for name, rule in (("a", "a_flag"), ("b", "b_flag")):
        seg = ws.create_segment(name, rules=rule)
        print(f"segment {name}: {seg.size:,} members", flush=True)
    seconds = time.perf_counter() - start
    ws.con.disconnect()
    return seconds


def kept(folder: Path, users: int, threads: int) -> tuple[Path, float | None]:
    """The warehouse and segments kept in ``folder`` (built when missing); seconds if built now.

    Named after the store's layout version, so a new layout builds it afresh.
    """
    from segnb.store.schema import SCHEMA_VERSION
    from segnb.store.store import remove_store

    path = folder / f"sets_{users}_layout{SCHEMA_VERSION}.duckdb"
    done = path.with_suffix(".built")
    if path.exists() and done.exists():
        return path, None
    done.unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    remove_store(path)
    seconds = build(path, users, threads)
    done.write_text("a and b saved\n")
    return path, seconds


CATALOG = {"entities": {"users": {"table": "users", "id": "user_id"}}}


def measure(
    users: int, rounds: int, threads: int, *, duckdb_repeat: int = 1, data_dir: Path | None = None
) -> dict:
    """Rows ``{question, result, segnb, pyroaring, duckdb}`` (seconds), the cold call, totals.

    With ``data_dir`` the warehouse and its two segments are kept there between runs.
    """
    from pyroaring import BitMap

    import segnb
    from segnb.store.cache import RACY_SECONDS

    total = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if data_dir is None:
            path = Path(tmp) / "sets.duckdb"
            built = build(path, users, threads)
        else:
            path, built = kept(Path(data_dir), users, threads)
        ws = segnb.connect(str(path), catalog=CATALOG)
        ws.con.raw_sql(f"SET threads = {threads}; SET memory_limit = '3GB'")
        a, b = ws.segment("a"), ws.segment("b")
        ta, tb = (ws.store.data.ref(f"segnb_m_{s.id}_1") for s in (a, b))
        # the raw bitmaps, straight from the bytes the store keeps (not segnb's cache)
        bm_a = BitMap.deserialize(ws.store.bitmap_bytes(a.id, 1))
        bm_b = BitMap.deserialize(ws.store.bitmap_bytes(b.id, 1))

        time.sleep(RACY_SECONDS)  # a store file changed a moment ago is read afresh each call
        start = time.perf_counter()
        ws.set_size("a & b")  # attaches the store, reads its rows and both bitmaps
        cold = time.perf_counter() - start

        raw = ws.con.con
        duck: dict[str, tuple[float, int]] = {}
        for op in ("INTERSECT", "UNION", "EXCEPT"):
            times, count = [], None
            for _ in range(duckdb_repeat):
                start = time.perf_counter()
                count = raw.execute(
                    f"SELECT count(*) FROM (SELECT user_id FROM {ta} {op} SELECT user_id FROM {tb})"
                ).fetchone()[0]
                times.append(time.perf_counter() - start)
            duck[op] = (statistics.median(times), count)

        questions = [
            ("members of a & b", lambda: ws.set_bitmap("a & b"), lambda: bm_a & bm_b, "INTERSECT"),
            ("members of a | b", lambda: ws.set_bitmap("a | b"), lambda: bm_a | bm_b, "UNION"),
            ("members of a - b", lambda: ws.set_bitmap("a - b"), lambda: bm_a - bm_b, "EXCEPT"),
            ("size of a & b", lambda: ws.set_size("a & b"),
             lambda: bm_a.intersection_cardinality(bm_b), "INTERSECT"),
            ("size of a | b", lambda: ws.set_size("a | b"),
             lambda: bm_a.union_cardinality(bm_b), "UNION"),
            ("size of a - b", lambda: ws.set_size("a - b"),
             lambda: bm_a.difference_cardinality(bm_b), "EXCEPT"),
            ("overlap table", lambda: ws.overlap(["a", "b"]),
             lambda: _frame(["a", "b"], [bm_a, bm_b]), "INTERSECT"),
        ]  # fmt: skip
        rows = []
        for question, ours, theirs, op in questions:
            t_ours, t_theirs, r_ours, r_theirs = turns(ours, theirs, rounds)
            if question.startswith("overlap"):
                same = r_ours.equals(r_theirs)
                result = int(r_ours.at["a", "b"])
            elif question.startswith("members"):
                same = r_ours == r_theirs
                result = len(r_ours)
            else:
                same = r_ours == r_theirs
                result = r_ours
            if not same or result != duck[op][1]:
                raise SystemExit(f"{question}: segnb, pyroaring and DuckDB differ")
            rows.append({"question": question, "result": result, "segnb": t_ours,
                         "pyroaring": t_theirs, "duckdb": duck[op][0]})  # fmt: skip
        ws.con.disconnect()
    return {"users": users, "rows": rows, "cold": cold, "build": built,
            "seconds": time.perf_counter() - total}  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
