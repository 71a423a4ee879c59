"""Time from a changed condition in SegmentWizard to its new live estimate, and where it goes.

Usage::

    segnb demo --users 1000000 --days 30 --path w1m.duckdb
    python benchmarks/wizard_latency.py --path w1m.duckdb
    python benchmarks/wizard_latency.py --path w1m.duckdb --by-date w1m_by_date.duckdb

Each step changes one condition of the form (a threshold, a picked value, a
window) the way a click would, and measures the whole path until
``state.estimate`` holds the new size and its HTML is drawn: the debounce
(the first change after a quiet spell runs at once), parsing, compiling and
the count in the warehouse. A burst (three changes ``--gap`` ms apart, as a
slider drag makes) is timed from its last change, so the debounce's trailing
wait counts. The rule's warnings and its SQL panel follow the estimate and are
timed apart. Then each step's rule is taken apart: parse and check, the Ibis
expression, Ibis to SQL, the warehouse run, the population, warnings, SQL text.

``--by-date COPY`` also writes (once) a copy whose tag snapshots and events
are stored ordered by date and runs everything on it too. Prints medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import segnb
from segnb.times import as_date
from segnb.widgets import SegmentWizard

START = 'city in ("Shenzhen") and trade_cnt_7d >= 2 and count(purchase, T-6..T) >= 1'


def steps(app) -> list[tuple[str, Callable[[], None]]]:
    city, trade, buys = app.groups[0]
    return [
        ("threshold 2 -> 3", lambda: setattr(trade, "value", 3.0)),
        ("threshold 3 -> 1", lambda: setattr(trade, "value", 1.0)),
        ("add a city", lambda: setattr(city, "values", ["Shenzhen", "Shanghai"])),
        ("window 7 -> 30 days", lambda: setattr(buys, "days", 30)),
        ("count >= 2", lambda: setattr(buys, "value", 2.0)),
        ("drop a city", lambda: setattr(city, "values", ["Shanghai"])),
        ("window 30 -> 14 days", lambda: setattr(buys, "days", 14)),
        ("threshold 1 -> 4", lambda: setattr(trade, "value", 4.0)),
    ]


def by_date_copy(source: Path, target: Path) -> Path:
    """A copy of a demo warehouse whose tags and events are stored ordered by date."""
    if target.exists():
        return target
    import duckdb

    partial = target.with_suffix(".partial")
    shutil.copyfile(source, partial)
    con = duckdb.connect(str(partial))
    con.execute("CREATE OR REPLACE TABLE user_tags AS SELECT * FROM user_tags ORDER BY dt, user_id")
    con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM events ORDER BY ts")
    con.execute("CHECKPOINT")
    con.close()
    partial.rename(target)
    return target


class Clock:
    """Milliseconds per label."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def __call__(self, label: str, fn: Callable[[], object]) -> object:
        start = time.perf_counter()
        out = fn()
        self.times.setdefault(label, []).append((time.perf_counter() - start) * 1000)
        return out

    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.times.items()}


def profile(ws, rule: str, as_of: str, clock: Clock) -> None:
    """Each part of one estimate, alone."""
    ent = ws.entity()
    tree = clock("parse + check", lambda: ws.parse(rule, ent))
    expr = clock("Ibis expression", lambda: ws.ctx.compile(tree, ent, as_date(as_of), ws.ctx.tz))
    count = expr.count()
    sql = clock("Ibis -> SQL", lambda: ws.con.compile(count))
    clock("warehouse run", lambda: ws.con.raw_sql(sql).fetchall())
    clock("ws.estimate (all of the above)", lambda: ws.estimate(rule, as_of=as_of))
    clock("population count", lambda: ws.catalog.table(ent.table).count().execute())
    clock("rule warnings (after)", lambda: ws.warnings(rule, ent))
    clock("SQL panel text (after)", lambda: ws.sql(rule, as_of=as_of, entity=ent))


def run(path: Path, gap: float) -> None:
    ws = segnb.connect(str(path), read_only=True)
    as_of = str(ws.con.sql("SELECT max(dt) AS d FROM user_tags").to_pandas()["d"][0])[:10]
    app = SegmentWizard(ws)
    app.state.as_of = as_of
    app.state.rule = START
    app.wait()
    print(f"\n{path.name}: {app.state.population:,} users, T = {as_of}, "
          f"debounce {app.debounce * 1000:.0f} ms")  # fmt: skip
    done = threading.Event()
    shown: list[str] = []

    def estimated(change) -> None:
        if change["new"] is not None:
            shown.append(app._estimate_html.value)  # drawn by the observer before this one
            done.set()

    app.state.observe(estimated, "estimate")
    single, after, rules = [], [], []
    for label, change in steps(app):
        done.clear()
        start = time.perf_counter()
        change()
        if not done.wait(60):
            raise SystemExit(f"{label}: no estimate after 60 s ({app.state.error})")
        single.append((time.perf_counter() - start) * 1000)
        assert f'data-estimate="{app.state.estimate}"' in shown[-1]
        app.wait()  # warnings and SQL
        after.append((time.perf_counter() - start) * 1000)
        rules.append(app.state.rule)
        print(f"  {label:<22} {single[-1]:6.0f} ms -> {app.state.estimate:>9,}"
              f"   (warnings and SQL shown at {after[-1]:5.0f} ms)")  # fmt: skip
    burst = []
    trade = app.groups[0][1]
    for first in (5.0, 8.0, 5.0, 8.0):
        time.sleep(app.debounce * 2)
        done.clear()
        for step in range(3):
            trade.value = first + step
            if step < 2:
                time.sleep(gap / 1000)
        start = time.perf_counter()
        want = app.state.rule
        while not (done.wait(60) and app.state.rule == want and app.state.estimate is not None):
            done.clear()
        burst.append((time.perf_counter() - start) * 1000)
        app.wait()
    clock = Clock()
    for _ in range(2):
        for rule in rules:
            profile(ws, rule, as_of, clock)
    print(f"  median change -> estimate shown: {statistics.median(single):.0f} ms "
          f"(worst {max(single):.0f}); last of a burst of 3 ({gap:.0f} ms apart): "
          f"{statistics.median(burst):.0f} ms; warnings and SQL at {statistics.median(after):.0f} ms")  # fmt: skip
    for label, ms in clock.medians().items():
        print(f"    {label:<32} {ms:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", required=True, type=Path, help="a demo warehouse")
    parser.add_argument("--by-date", type=Path, help="also time a copy stored ordered by date")
    parser.add_argument("--gap", type=float, default=60, help="ms between the changes of a burst")
    args = parser.parse_args()
    run(args.path, args.gap)
    if args.by_date:
        run(by_date_copy(args.path, args.by_date), args.gap)


if __name__ == "__main__":
    main()
