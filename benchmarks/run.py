"""segnb against its peers, in one run: rules, members, sets, models (and Spark, reported).

Usage::

    python benchmarks/run.py                              # 1M users x 30 days; about 5 minutes
    python benchmarks/run.py --users 1000000 10000000 --days 30 7
    python benchmarks/run.py --skip spark models --repeat 3

Builds the date-ordered demo warehouse of each size once (kept in
``--data-dir``), then runs each section in a process of its own (its wall
time and peak memory reported):

* **rules**: every rule of :mod:`benchmarks.peers` through ``ws.estimate``,
  hand-written DuckDB SQL, Ibis written by hand (both on segnb's own DuckDB
  connection), and polars and pandas on the tables held in memory; all run
  in turns after a warm-up round (each round starting with the next peer;
  a query under 0.2 s repeated to fill 0.2 s), 5 to ``--repeat`` rounds
  (fewer once every peer's times are within 10% of their median), medians
  reported, counts checked equal;
* **members**: saving a rules segment (member file, dense ids, bitmap)
  against ``COPY (…) TO`` a Parquet file of the hand-written query;
* **sets**: :mod:`benchmarks.sets` (segnb's public calls against raw pyroaring
  answering the same question; DuckDB ``INTERSECT`` for scale);
* **models**: :mod:`benchmarks.models`' warehouse, each model trained on a
  sample, then scored in the engine against pulling the features and
  ``predict_proba`` (medians of three rounds, each side going first in turn);
* **spark**: the rules on local Spark through Ibis, times and counts reported.

Writes ``--out`` (``benchmarks/RESULTS.md``) with versions, machine facts, the
tables and a plot (``results.svg`` beside it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import peers  # noqa: E402
import report  # noqa: E402

import segnb  # noqa: E402
from segnb.demo.warehouse import generate  # noqa: E402

END = dt.date(2026, 11, 21)
PEERS = ("segnb", "duckdb_sql", "ibis_by_hand", "polars", "pandas")


def interleaved(
    calls: dict, repeat: int, *, least: int = 3, spread: float = 0.10, turn: float = 0.2
) -> tuple[dict[str, float], dict[str, object]]:
    """Median seconds of each callable, run in turns so load drift hits all alike.

    One warm-up round, then ``least`` to ``repeat`` timed rounds: it stops
    early once every callable's times lie within ``spread`` of their median.
    The rounds take the orders of a balanced Latin square (:func:`orders`),
    so each callable follows every other equally often (the one after pandas
    meets cold caches). The objects alive at the start are frozen out of the
    garbage collector, and a collection runs before each turn, untimed. A
    callable faster than ``turn`` seconds runs as many times in a row as fill
    one turn (its time is their mean): a 20 ms query is then timed over
    200 ms, not at the mercy of one scheduler tick.
    """
    times: dict[str, list[float]] = {k: [] for k in calls}
    results: dict[str, object] = {}
    names = list(calls)
    square = orders(len(names))
    gc.collect()
    gc.freeze()
    runs = dict.fromkeys(names, 1)
    least = max(least, min(len(names), repeat))
    for round_ in range(repeat + 1):
        for name in [names[i] for i in square[(round_ - 1) % len(square)]]:
            gc.collect()
            start = time.perf_counter()
            for _ in range(runs[name]):
                results[name] = calls[name]()
            seconds = (time.perf_counter() - start) / runs[name]
            if round_:  # the first round warms the caches and sets the runs per turn
                times[name].append(seconds)
            else:
                runs[name] = max(1, min(50, round(turn / max(seconds, 1e-6))))
        if round_ >= least and all(
            max(v) - min(v) <= spread * statistics.median(v) for v in times.values()
        ):
            break
    gc.unfreeze()
    return {k: statistics.median(v) for k, v in times.items()}, results


def orders(n: int) -> list[list[int]]:
    """Orders of ``n`` callables in which each directly follows every other equally often.

    A Williams design: the rows of a Latin square whose first row is
    0, 1, n-1, 2, n-2, …, each row the one before plus one (mod n); for an odd
    ``n`` the mirrored rows too (2n orders). A plain rotation would keep
    the cycle, so one callable would always follow the same other one.
    """
    first = [0]
    for k in range(1, n):
        first.append((k + 1) // 2 if k % 2 else n - k // 2)
    rows = [[(x + i) % n for x in first] for i in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 else rows


def warehouse(data_dir: Path, users: int, days: int) -> tuple[Path, float | None]:
    path = data_dir / f"demo_{users}_{days}_{END:%Y%m%d}_v3.duckdb"
    if path.exists():
        return path, None
    info = generate(path, users=users, days=days, seed=0, end=END, progress=False)
    return path, info.seconds


def bench_rules(ws, con, frames, as_of, repeat: int) -> list[dict]:
    rows = []
    for rule in peers.RULES:
        sql = rule.sql.replace("{T}", as_of.isoformat())
        calls = {
            "segnb": lambda r=rule: ws.estimate(r.text, as_of=as_of),
            "duckdb_sql": lambda s=sql: con.execute(s).fetchone()[0],
            "ibis_by_hand": lambda r=rule: r.ibis(ws.con, as_of),
            "polars": lambda r=rule: r.polars(frames, as_of),
            "pandas": lambda r=rule: r.pandas(frames, as_of),
        }
        if frames is None:
            del calls["polars"], calls["pandas"]
        medians, results = interleaved(calls, repeat)
        counts = {int(v) for v in results.values()}
        if len(counts) != 1:
            raise SystemExit(f"{rule.name}: the peers disagree: {results}")
        rows.append({"rule": rule.name, "count": counts.pop(), **medians})
        print(f"  {rule.name:<36}" + " ".join(f"{k} {v:.3f}s" for k, v in medians.items()),
              flush=True)  # fmt: skip
    return rows


def bench_members(ws, con, as_of, repeat: int) -> dict:
    rule = next(r for r in peers.RULES if r.name == "no purchase in 30 days")
    ids_sql = rule.sql.replace("{T}", as_of.isoformat()).replace(
        "SELECT count(*)", "SELECT u.user_id", 1
    )
    seconds, sizes = [], []
    for n in range(repeat):
        start = time.perf_counter()
        seg = ws.create_segment(f"bench_members_{n}", rules=rule.text, as_of=as_of)
        seconds.append(time.perf_counter() - start)
        sizes.append(seg.size)
        seg.delete()
    hand = []
    with tempfile.TemporaryDirectory() as tmp:  # segnb writes members to Parquet: so does the peer
        target = Path(tmp) / "members.parquet"
        for _ in range(repeat):
            start = time.perf_counter()
            con.execute(f"COPY ({ids_sql}) TO '{target}' (FORMAT parquet)")
            hand.append(time.perf_counter() - start)
        n_hand = con.execute(f"SELECT count(*) FROM '{target}'").fetchone()[0]
    assert set(sizes) == {n_hand}, (sizes, n_hand)
    return {"rule": rule.text, "members": n_hand, "segnb": statistics.median(seconds),
            "duckdb_copy": statistics.median(hand)}  # fmt: skip


def bench_size(args, users: int, days: int) -> dict:
    path, built = warehouse(args.data_dir, users, days)
    print(f"\n== {users:,} users x {days} days ({path.name})"
          + (f", built in {built:.0f}s" if built else ", cached"), flush=True)  # fmt: skip
    ws = segnb.connect(f"duckdb:///{path}")
    con = ws.con.con
    con.execute(f"SET threads = {args.threads}; SET memory_limit = '{args.duckdb_memory}'")
    as_of = END + dt.timedelta(days=1)
    doctor = [str(f) for f in ws.doctor()]
    frames = None
    load = None
    if users <= args.memory_peers_max:
        start = time.perf_counter()
        frames = peers.load_frames(con)
        load = time.perf_counter() - start
    rules = bench_rules(ws, con, frames, as_of, args.repeat)
    del frames  # the in-memory peers are done: give their memory back before the next step
    gc.collect()
    members = None if "members" in args.skip else bench_members(ws, con, as_of, 3)
    plans = {}
    slow = {r["rule"] for r in rules if r["segnb"] / r["duckdb_sql"] > report.RATIO_LIMIT}
    for rule in peers.RULES:  # the plans of the ratios over the limit, kept for the report
        if rule.name in slow:
            plans[rule.name] = (
                con.execute("EXPLAIN ANALYZE " + ws.sql(rule.text, as_of=as_of)).fetchall()[0][1],
                con.execute("EXPLAIN ANALYZE " + rule.sql.replace("{T}", as_of.isoformat())).fetchall()[0][1],
            )  # fmt: skip
    ws.con.disconnect()
    return {"users": users, "days": days, "built": built, "load": load, "rules": rules,
            "members": members, "doctor": doctor, "plans": plans}  # fmt: skip


def bench_sets(args) -> dict:
    import sets

    return sets.measure(args.set_users, args.set_rounds, args.threads, data_dir=args.data_dir)


def bench_models(args) -> list[dict]:
    import ibis
    import models
    import numpy as np

    from segnb.models.api import predict, rescore

    path = args.data_dir / f"models_{args.model_users}.duckdb"
    if not path.exists():
        models.build(path, args.model_users)
    ws = segnb.connect(f"duckdb:///{path}", catalog=models.CATALOG)
    ws.con.raw_sql(f"SET threads = {args.threads}; SET memory_limit = '{args.duckdb_memory}'")
    labels = ws.con.table("labels")
    users = ws.catalog.table("users").select("user_id")
    out = []
    for model in args.models:
        start = time.perf_counter()
        res = predict(
            ws, audience=users, positive=labels.filter(labels.label).select("user_id"),
            negative=labels.filter(~labels.label).select("user_id"), model=model,
            as_of=models.AS_OF, max_rows=100_000, importances=False, progress=False,
        )  # fmt: skip
        train = time.perf_counter() - start
        table = f"bench_scores_{model}"
        plan = res.model.plan(ws.catalog, as_of=models.AS_OF)

        def engine(model_=res.model, table=table) -> float:
            start = time.perf_counter()
            scores, _ = rescore(ws, model_, audience=users, as_of=models.AS_OF)
            ws.con.raw_sql(  # a temporary table: the warehouse file is opened read-only
                f"CREATE OR REPLACE TEMP TABLE {table} AS {ibis.to_sql(scores, dialect='duckdb')}"
            )
            return time.perf_counter() - start

        def in_python(model_=res.model, plan=plan):
            start = time.perf_counter()
            frame = plan.table.to_pyarrow().to_pandas()
            pull = time.perf_counter() - start
            x = frame[plan.names].to_numpy(dtype=float, na_value=np.nan)
            start = time.perf_counter()
            python = model_.predict_proba(x)[:, 1]
            return pull, time.perf_counter() - start, frame, python

        # three rounds, engine and Python taking turns to go first: medians
        engines, pulls, probas = [], [], []
        for round_ in range(3):
            if round_ % 2:
                pull, proba, frame, python = in_python()
                engines.append(engine())
            else:
                engines.append(engine())
                pull, proba, frame, python = in_python()
            pulls.append(pull)
            probas.append(proba)
        engine_s, pull, proba = (statistics.median(v) for v in (engines, pulls, probas))
        engine_scores = (
            ws.con.con.execute(f"SELECT user_id, score FROM {table}").df().set_index("user_id")
            .loc[frame["user_id"], "score"].to_numpy()
        )  # fmt: skip
        diff = float(np.max(np.abs(engine_scores - python)))
        ws.con.raw_sql(f"DROP TABLE {table}")
        out.append({"model": model, "users": args.model_users, "auc": res.evaluation()["roc_auc"],
                    "train": train,
                    "engine": engine_s, "pull": pull, "predict_proba": proba, "max_diff": diff})  # fmt: skip
        print(f"  {model}: train {train:.1f}s, engine {engine_s:.1f}s, python {pull:.1f}+{proba:.1f}s,"
              f" max diff {diff:.2g}", flush=True)  # fmt: skip
        del frame, python, engine_scores
    ws.con.disconnect()
    return out


def bench_spark(args) -> dict:
    try:
        import spark_rules
    except ImportError as exc:
        return {"skipped": f"pyspark is not installed ({exc})"}
    path, _ = warehouse(args.data_dir, args.spark_users, 30)
    return spark_rules.measure(path, END + dt.timedelta(days=1), args.repeat)


SECTIONS = ("rules", "sets", "models", "spark")
RUNNERS = {
    "rules": lambda args: [
        bench_size(args, u, d) for u, d in zip(args.users, args.days, strict=True)
    ],
    "sets": lambda args: bench_sets(args),
    "models": lambda args: bench_models(args),
    "spark": lambda args: bench_spark(args),
}


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants (MB), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[int(entry)] = int(statm[1]) * page
    mine, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, p in parents.items() if p == pid and c not in mine]
        mine.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in mine) / 2**20


class Sampler:
    """The peak resident memory of this process and its children together, sampled."""

    def __init__(self, every: float = 0.25) -> None:
        self.every, self.peak, self._stop = every, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, _tree_rss_mb(os.getpid()))
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _child_peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run_section(name: str, argv: list[str]) -> tuple[object, dict]:
    """Run one section in a fresh process (its memory is returned when it ends).

    The value it returns, and its wall time and peak memory: the largest of
    the sampled memory of the process tree and the peak RSS of the child.
    """
    with tempfile.TemporaryDirectory() as tmp, Sampler() as sampler:
        out = Path(tmp) / "result.pickle"
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--section", name,
               "--result-file", str(out)]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds = time.perf_counter() - start
        value, child_peak = pickle.loads(out.read_bytes())
    peak = max(sampler.peak, child_peak)
    print(f"  [{name}: {seconds:.0f}s, peak memory {peak:,.0f} MB]", flush=True)
    return value, {"seconds": seconds, "peak_mb": peak}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--days", type=int, nargs="+", default=[30], help="one per --users")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duckdb-memory", default="2GB", help="DuckDB's memory_limit")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "segnb-bench"
    )
    parser.add_argument("--memory-peers-max", type=int, default=2_000_000,
                        help="polars and pandas only up to this many users (memory)")  # fmt: skip
    parser.add_argument("--set-users", type=int, default=10_000_000)
    parser.add_argument("--set-rounds", type=int, default=301,
                        help="turns of segnb and pyroaring per set question")  # fmt: skip
    parser.add_argument("--model-users", type=int, default=1_000_000)
    parser.add_argument("--models", nargs="+",
                        default=["logistic", "random_forest", "gradient_boosting"])  # fmt: skip
    parser.add_argument("--spark-users", type=int, default=100_000)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["rules", "members", "sets", "models", "spark"])  # fmt: skip
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--section", choices=SECTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.days = args.days if len(args.days) == len(args.users) else args.days[:1] * len(args.users)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.section:  # one section, in a process of its own (run_section)
        value = RUNNERS[args.section](args)
        args.result_file.write_bytes(pickle.dumps((value, _child_peak_mb())))
        return 0
    started, load_before = time.perf_counter(), os.getloadavg()
    results: dict = {"argv": " ".join(argv) or "(defaults)", "sizes": [], "sections": {}}
    titles = {"rules": "", "sets": "\n== sets", "models": "\n== models", "spark": "\n== spark"}
    for name in SECTIONS:
        if name in args.skip:
            continue
        if titles[name]:
            print(titles[name], flush=True)
        value, results["sections"][name] = run_section(name, argv)
        results["sizes" if name == "rules" else name] = value
    results["seconds"] = time.perf_counter() - started
    results["peak_mb"] = max((s["peak_mb"] for s in results["sections"].values()), default=0.0)
    results["load"] = (load_before, os.getloadavg())
    report.write(args.out, results)
    print(f"\nwrote {args.out} in {results['seconds']:.0f}s, peak memory "
          f"{results['peak_mb']:,.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
