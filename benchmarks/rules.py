"""Time ``ws.estimate`` against the same question hand-written in DuckDB SQL.

Usage::

    python benchmarks/rules.py                      # 10M users x 7 days (builds it once)
    python benchmarks/rules.py --users 1000000 --days 30 --path w1m.duckdb

Prints, for each rule, segnb's time (parse + compile + run), the hand-written
SQL's time, the ratio, and checks both give the same count. The two run
alternately ``--repeat`` times and the best of each counts; a first round
warms the caches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

import segnb
from segnb.demo.warehouse import generate

RULES = {
    "3-group tag rule": (
        """(city = "Shenzhen" and trade_cnt_7d >= 1)
        or (city in ("Shanghai", "Beijing") and not is_black_list)
        or (member_level = "gold" and total_spend > 1000)""",
        """
        SELECT count(*) FROM users u
        LEFT JOIN (SELECT * FROM user_tags
                   WHERE dt = (SELECT max(dt) FROM user_tags WHERE dt <= DATE '{T}')) t
          ON t.user_id = u.user_id
        WHERE (t.city = 'Shenzhen' AND t.trade_cnt_7d >= 1)
           OR (t.city IN ('Shanghai', 'Beijing') AND NOT t.is_black_list)
           OR (t.member_level = 'gold' AND t.total_spend > 1000)
        """,
    ),
    "30-day purchase count": (
        "count(purchase, T-29..T) >= 2",
        """
        SELECT count(*) FROM (
          SELECT user_id FROM events
          WHERE event = 'purchase' AND ts >= DATE '{T}' - 29 AND ts < DATE '{T}' + 1
          GROUP BY user_id HAVING count(*) >= 2)
        """,
    ),
    "change between dates": (
        "change(trade_cnt_7d, T-6, T-1) > 2",
        """
        SELECT count(*) FROM user_tags a JOIN user_tags b
          ON a.user_id = b.user_id AND a.dt = DATE '{T}' - 6 AND b.dt = DATE '{T}' - 1
        WHERE b.trade_cnt_7d - a.trade_cnt_7d > 2
        """,
    ),
    # segnb keeps only ids of the entity table (a tag table may hold others);
    # the same question written by hand with that join:
    "change, entity join": (
        "change(trade_cnt_7d, T-6, T-1) > 2",
        """
        SELECT count(*) FROM users u
        JOIN user_tags a ON a.user_id = u.user_id AND a.dt = DATE '{T}' - 6
        JOIN user_tags b ON b.user_id = u.user_id AND b.dt = DATE '{T}' - 1
        WHERE b.trade_cnt_7d - a.trade_cnt_7d > 2
        """,
    ),
}


def interleaved(ours, theirs, repeat: int) -> tuple[float, float, object, object]:
    """Best times of two callables run alternately, so load drift hits both alike.

    The first round warms the caches and is not counted.
    """
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    results = {}
    for round_ in range(repeat + 1):
        for name, fn in (("ours", ours), ("theirs", theirs)):
            start = time.perf_counter()
            results[name] = fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return min(times["ours"]), min(times["theirs"]), results["ours"], results["theirs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--path", default=os.path.join(tempfile.gettempdir(), "segnb-bench-10m.duckdb")
    )
    parser.add_argument("--users", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 11, 21))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    if not Path(args.path).exists():
        print(f"building {args.users:,} users x {args.days} days at {args.path} ...")
        info = generate(args.path, users=args.users, days=args.days, end=args.end, progress=True)
        print(f"built in {info.seconds:.1f}s")
    ws = segnb.connect(f"duckdb:///{args.path}", read_only=True)
    as_of = args.end + dt.timedelta(days=1)
    con = ws.con.con  # the DuckDB connection under Ibis, for the hand-written SQL

    print(f"\n{'rule':<24}{'segnb s':>10}{'hand SQL s':>12}{'ratio':>8}{'count':>12}")
    for name, (rule, sql) in RULES.items():
        hand_sql = sql.format(T=as_of.isoformat())
        ours, theirs, n_ours, n_theirs = interleaved(
            lambda r=rule: ws.estimate(r, as_of=as_of),
            lambda s=hand_sql: con.execute(s).fetchone()[0],
            args.repeat,
        )
        assert n_ours == n_theirs, f"{name}: segnb {n_ours} != hand-written {n_theirs}"
        print(f"{name:<24}{ours:>10.3f}{theirs:>12.3f}{ours / theirs:>8.2f}{n_ours:>12,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"\npeak RSS {peak:,.0f} MiB; DuckDB threads {threads}")


if __name__ == "__main__":
    main()
