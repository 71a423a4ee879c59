"""Time from a changed condition in SegmentWizard to its new live estimate.

Usage::

    segnb demo --users 1000000 --days 30 --path w1m.duckdb
    python benchmarks/wizard.py --path w1m.duckdb

Each step changes one condition of the form (a threshold, a picked value, a
window) the way a click would, and measures the time until ``state.estimate``
holds the new size: parsing, compiling and running the count in the
warehouse (a change after a quiet spell runs at once; ``SegmentWizard.debounce``
only folds quick successive changes), next to ``ws.estimate`` of the same rule. The SQL panel is
filled after the estimate and is not counted. Prints each step and the median.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import segnb
from segnb.widgets import SegmentWizard

START = 'city in ("Shenzhen") and trade_cnt_7d >= 2 and count(purchase, T-6..T) >= 1'


def steps(app):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", required=True, help="a demo warehouse (segnb demo --path …)")
    parser.add_argument("--as-of", default=None, help="T (default: the newest tag snapshot)")
    args = parser.parse_args()
    ws = segnb.connect(args.path, read_only=True)
    as_of = (
        args.as_of or str(ws.con.sql("SELECT max(dt) AS d FROM user_tags").to_pandas()["d"][0])[:10]
    )
    app = SegmentWizard(ws)
    app.state.as_of = as_of
    app.state.rule = START
    app.wait()
    print(f"{app.state.population:,} users, T = {as_of}, "
          f"changes within {app.debounce * 1000:.0f} ms folded")  # fmt: skip
    done = threading.Event()
    app.state.observe(lambda change: change["new"] is not None and done.set(), "estimate")
    times, engine = [], []
    for label, change in steps(app):
        done.clear()
        start = time.perf_counter()
        change()
        if not done.wait(30):
            raise SystemExit(f"{label}: no estimate after 30 s ({app.state.error})")
        ms = (time.perf_counter() - start) * 1000
        times.append(ms)
        app.wait()
        start = time.perf_counter()  # the same count asked of the engine directly
        ws.estimate(app.state.rule, as_of=as_of)
        engine.append((time.perf_counter() - start) * 1000)
        print(
            f"{label:<22} {ms:7.0f} ms  -> {app.state.estimate:>9,}   (ws.estimate {engine[-1]:4.0f} ms)"
        )
    print(
        f"median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms; "
        f"ws.estimate alone: median {statistics.median(engine):.0f} ms"
    )


if __name__ == "__main__":
    main()
