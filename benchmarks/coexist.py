"""What sharing a DuckDB warehouse costs per operation: this segnb against an earlier one.

segnb opens a DuckDB warehouse read-only (attached to a database in memory)
and keeps its segments in a store file of its own, which it holds for the
span of each operation. This prints, median of ``--repeat`` runs on the same
warehouse, the time of

* ``segnb.connect(path)`` (the catalog loaded) and the first estimate after it;
* an interactive estimate (three rules: a tag rule, an event count, both);
* listing the segments (a store read: one attach, one query, one detach);
* refreshing a segment (a store write);

for this checkout and, with ``--baseline DIR``, for another checkout of
segnb (e.g. ``git worktree add ../segnb-0.1 v0.1``), each in a process of
its own on its own copy of the warehouse, with the ratio this / baseline.

    python benchmarks/coexist.py --users 1000000 --baseline ../segnb-0.1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = [
    'city = "Shenzhen" and trade_cnt_7d >= 2',
    "count(purchase, T-6..T) >= 2",
    'count(purchase, T-6..T) >= 1 and city = "Beijing"',
]

MEASURE = r"""
import json, statistics, sys, time
import segnb
path, repeat, rules = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])

def median(fn, n=repeat):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000

def connect_and_estimate():
    ws = segnb.connect(path)
    ws.estimate(rules[0])
    ws.con.disconnect()

out = {"connect": median(lambda: segnb.connect(path).con.disconnect())}
out["connect + first estimate"] = median(connect_and_estimate)
ws = segnb.connect(path)
ws.open_store(owner="bench")
for i, rule in enumerate(rules):
    ws.estimate(rule)  # warm
    out[f"estimate {i + 1}"] = median(lambda: ws.estimate(rule))
seg = ws.create_segment("bench_buyers", rules[1])
out["list segments"] = median(lambda: ws.segments())
out["segment size"] = median(lambda: ws.segment("bench_buyers").size)
out["refresh"] = median(seg.refresh, n=max(3, repeat // 5))
print(json.dumps(out))
"""


def measure(code_dir: Path, warehouse: Path, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="segnb-coexist-") as tmp:
        copy = Path(tmp) / "warehouse.duckdb"
        shutil.copy(warehouse, copy)
        env = {**os.environ, "PYTHONPATH": str(code_dir)}
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(copy), str(repeat), json.dumps(RULES)],
            env=env, cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"measuring {code_dir} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--warehouse", type=Path, help="an existing demo warehouse to use")
    parser.add_argument("--baseline", type=Path, help="another segnb checkout to compare with")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    root = HERE.parent
    with tempfile.TemporaryDirectory(prefix="segnb-coexist-demo-") as tmp:
        warehouse = args.warehouse
        if warehouse is None:
            sys.path.insert(0, str(root))
            from segnb.demo.warehouse import generate

            warehouse = Path(tmp) / "demo.duckdb"
            start = time.perf_counter()
            generate(warehouse, users=args.users, days=args.days)
            print(f"demo warehouse: {args.users:,} users x {args.days} days "
                  f"({time.perf_counter() - start:.0f}s)")  # fmt: skip
        runs = {"this": measure(root, warehouse, args.repeat)}
        if args.baseline:
            runs["baseline"] = measure(args.baseline.resolve(), warehouse, args.repeat)
    print(f"\nmedian of {args.repeat} runs, milliseconds")
    head = f"{'operation':<26}{'this':>10}"
    if "baseline" in runs:
        head += f"{'baseline':>10}{'ratio':>8}"
    print(head)
    for key, value in runs["this"].items():
        line = f"{key:<26}{value:>10.1f}"
        if "baseline" in runs:
            base = runs["baseline"][key]
            line += f"{base:>10.1f}{value / base:>8.2f}"
        print(line)
    print(
        f"\nmedian over the estimates: this {statistics.median(runs['this'][f'estimate {i + 1}'] for i in range(len(RULES))):.1f} ms"
    )


if __name__ == "__main__":
    main()
