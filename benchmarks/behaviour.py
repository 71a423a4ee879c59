"""Time each behaviour condition (first, last, days_since, avg, min, max, distinct,
active_days, sequences) against the same question hand-written in DuckDB SQL, and
the two query shapes of a sequence against each other.

Usage::

    python benchmarks/behaviour.py --users 1000000 --days 30 --path w1m.duckdb

Part 1 prints, per condition kind (a sequence with a gap against the self-join
written by hand), segnb's time (``ws.estimate``: parse,
compile, run), the hand-written SQL's time, their ratio, and checks that both
count the same entities. Part 2 runs the two shapes a sequence can take,
written by hand: window functions over the steps' events (what segnb
compiles to, see ``segnb/compile/sequences.py``) and a self-join of those
events restricted to the window and the gap, and prints self-join / window.
Runs alternate ``--repeat`` times after a warm-up round; the best counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
from pathlib import Path

from rules import interleaved

import segnb
from segnb.demo.warehouse import generate

#: name -> (rule, hand-written SQL); {T}, {T6}, {T29}, {T1} are T, T-6, T-29 and T+1
KINDS = {
    "first": (
        "first(purchase) >= T-29",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'purchase' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING min(ts) >= TIMESTAMP '{T29}')""",
    ),
    "last": (
        "last(purchase) < T-6",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'purchase' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING max(ts) < TIMESTAMP '{T6}')""",
    ),
    "days_since": (
        "days_since(login) > 3",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'login' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING DATE '{T}' - CAST(max(ts) AS DATE) > 3)""",
    ),
    "avg": (
        "avg(purchase.amount, T-29..T) > 50",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'purchase' AND ts >= TIMESTAMP '{T29}' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING avg(amount) > 50)""",
    ),
    "min": (
        "min(purchase.amount, T-29..T) < 20",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'purchase' AND ts >= TIMESTAMP '{T29}' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING min(amount) < 20)""",
    ),
    "max": (
        "max(purchase.amount, T-29..T) > 200",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'purchase' AND ts >= TIMESTAMP '{T29}' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING max(amount) > 200)""",
    ),
    "distinct": (
        "distinct(purchase.industry, T-29..T) >= 3",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'purchase' AND ts >= TIMESTAMP '{T29}' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING count(DISTINCT industry) >= 3)""",
    ),
    "active_days": (
        "active_days(login, T-29..T) >= 10",
        """SELECT count(*) FROM (SELECT user_id FROM events
           WHERE event = 'login' AND ts >= TIMESTAMP '{T29}' AND ts < TIMESTAMP '{T1}'
           GROUP BY user_id HAVING count(DISTINCT CAST(ts AS DATE)) >= 10)""",
    ),
}

STEPS = ("view_product", "add_cart", "purchase")
SEQUENCES = {
    "2 steps within 2h, 7 days": (STEPS[1:], "2h", 6),
    "3 steps within 1d, 30 days": (STEPS, "1d", 29),
}


def _events(steps, first_day: str, t1: str) -> str:
    names = ", ".join(f"'{s}'" for s in dict.fromkeys(steps))
    return (f"SELECT user_id, ts, event FROM events WHERE event IN ({names})"
            f" AND ts >= TIMESTAMP '{first_day}' AND ts < TIMESTAMP '{t1}'")  # fmt: skip


def window_sql(steps, gap: str, first_day: str, t1: str) -> str:
    """Window functions: one row per instant, each step good where a good next one follows."""
    flags = ", ".join(f"max(CASE WHEN event = '{s}' THEN 1 ELSE 0 END) AS s{i}"
                      for i, s in enumerate(steps))  # fmt: skip
    sql = f"WITH r AS (SELECT user_id, ts, {flags} FROM ({_events(steps, first_day, t1)}) GROUP BY ALL)"
    prev, k = "r", len(steps) - 1
    sql += f", g{k} AS (SELECT *, s{k} = 1 AS good FROM r)"
    for i in range(k - 1, -1, -1):
        nxt = ("min(CASE WHEN good THEN ts END) OVER (PARTITION BY user_id ORDER BY ts "
               "ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)")  # fmt: skip
        sql += (f", n{i} AS (SELECT * EXCLUDE (good), {nxt} AS nxt FROM g{i + 1})"
                f", g{i} AS (SELECT * EXCLUDE (nxt), s{i} = 1 AND nxt <= ts + INTERVAL '{gap}' AS good FROM n{i})")  # fmt: skip
        prev = f"g{i}"
    return sql + f" SELECT count(DISTINCT user_id) FROM {prev} WHERE good"


def self_join_sql(steps, gap: str, first_day: str, t1: str) -> str:
    """A self-join of the steps' events in the window: each step after the previous, within the gap."""
    sql = f"WITH e AS ({_events(steps, first_day, t1)}) SELECT count(DISTINCT e0.user_id) FROM e e0"
    for i in range(1, len(steps)):
        sql += (f" JOIN e e{i} ON e{i}.user_id = e0.user_id AND e{i}.ts > e{i - 1}.ts"
                f" AND e{i}.ts <= e{i - 1}.ts + INTERVAL '{gap}'")  # fmt: skip
    return sql + " WHERE " + " AND ".join(f"e{i}.event = '{s}'" for i, s in enumerate(steps))


def _unit(gap: str) -> str:
    return gap[:-1] + {"d": " day", "h": " hour", "m": " minute"}[gap[-1]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--path", default=os.path.join(tempfile.gettempdir(), "segnb-bench-1m-30d.duckdb")
    )
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 11, 21))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if not Path(args.path).exists():
        print(f"building {args.users:,} users x {args.days} days at {args.path} ...")
        generate(args.path, users=args.users, days=args.days, end=args.end, progress=True)
    ws = segnb.connect(f"duckdb:///{args.path}", read_only=True)
    con = ws.con.con
    as_of = args.end + dt.timedelta(days=1)
    day = lambda n: (as_of + dt.timedelta(days=n)).isoformat()  # noqa: E731
    dates = {"T": day(0), "T1": day(1), "T6": day(-6), "T29": day(-29)}

    print(f"{'condition':<34}{'segnb s':>9}{'hand SQL s':>12}{'ratio':>7}{'count':>10}")
    cases = {k: (rule, sql.format(**dates)) for k, (rule, sql) in KINDS.items()}
    for name, (steps, gap, back) in SEQUENCES.items():
        rule = f"did({' then '.join(steps)} within {gap}, T-{back}..T)"
        # segnb compiles a sequence with a gap to the self-join (it measured faster)
        cases[f"did(… then …) {name}"] = (
            rule,
            self_join_sql(steps, _unit(gap), day(-back), day(1)),
        )
    for name, (rule, sql) in cases.items():
        ours, theirs, n_ours, n_theirs = interleaved(
            lambda r=rule: ws.estimate(r, as_of=as_of),
            lambda s=sql: con.execute(s).fetchone()[0],
            args.repeat,
        )
        assert n_ours == n_theirs, f"{name}: segnb {n_ours} != hand-written {n_theirs}"
        print(f"{name:<34}{ours:>9.3f}{theirs:>12.3f}{ours / theirs:>7.2f}{n_ours:>10,}")

    print(f"\n{'sequence shape':<34}{'window s':>9}{'self-join s':>12}{'ratio':>7}{'count':>10}")
    for name, (steps, gap, back) in SEQUENCES.items():
        shape = (steps, _unit(gap), day(-back), day(1))
        by_window, by_join = window_sql(*shape), self_join_sql(*shape)
        win, join, n_win, n_join = interleaved(
            lambda s=by_window: con.execute(s).fetchone()[0],
            lambda s=by_join: con.execute(s).fetchone()[0],
            args.repeat,
        )
        assert n_win == n_join, f"{name}: window {n_win} != self-join {n_join}"
        print(f"{name:<34}{win:>9.3f}{join:>12.3f}{join / win:>7.2f}{n_win:>10,}")
    print("ratio: self-join time / window-function time (above 1: the window functions win)")


if __name__ == "__main__":
    main()
