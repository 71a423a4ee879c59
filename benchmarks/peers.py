"""The benchmark's rules, each written once in segnb's language and by hand for every peer.

A peer is a way to answer the same question: hand-written DuckDB SQL, polars
and pandas on the tables held in memory, and Ibis expressions written by
hand. Every function returns the number of matching users; the benchmark
checks that all of them agree with segnb.

``T`` is the as-of date; windows are whole days ``T-29..T`` (timestamps from
``T-29`` 00:00 to ``T+1`` 00:00); "latest" is the newest snapshot on or
before ``T``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd
import polars as pl

from segnb.demo.synth import CITIES

LEVELS = ["bronze", "silver", "gold", "platinum"]
#: the 20-group rule: (city, member level, minimum trade_cnt_7d) per group
GROUPS = [(CITIES[i % len(CITIES)][0], LEVELS[i % 4], i % 3) for i in range(20)]
FOOD = "Food & Beverages"


@dataclass(frozen=True)
class Rule:
    name: str
    text: str
    sql: str  # hand-written DuckDB SQL; {T} is the as-of date
    polars: Callable[[dict, dt.date], int]
    pandas: Callable[[dict, dt.date], int]
    ibis: Callable[[Any, dt.date], int]


def _d(day: dt.date, days: int = 0) -> dt.date:
    return day + dt.timedelta(days=days)


def _ts(day: dt.date, days: int = 0) -> dt.datetime:
    return dt.datetime.combine(_d(day, days), dt.time())


# -- polars ----------------------------------------------------------------------------


def _pl_latest(f, T):
    tags = f["tags"]
    day = tags.filter(pl.col("dt") <= T).select(pl.col("dt").max()).item()
    return tags.filter(pl.col("dt") == day)


def _pl_window(f, T, first, event):
    e = f["events"]
    return e.filter(
        (pl.col("ts") >= _ts(T, first)) & (pl.col("ts") < _ts(T, 1)) & (pl.col("event") == event)
    )


def _pl_three(f, T):
    t = _pl_latest(f, T)
    return t.filter(
        ((pl.col("city") == "Shenzhen") & (pl.col("trade_cnt_7d") >= 1))
        | (pl.col("city").is_in(["Shanghai", "Beijing"]) & ~pl.col("is_black_list"))
        | ((pl.col("member_level") == "gold") & (pl.col("total_spend") > 1000))
    ).height


def _pl_food(f, T):
    e = _pl_window(f, T, -29, "purchase").filter(pl.col("industry") == FOOD)
    return e.group_by("user_id").len().filter(pl.col("len") >= 2).height


def _pl_viewed(f, T):
    viewed = _pl_window(f, T, -6, "view_product").select("user_id").unique()
    bought = _pl_window(f, T, -6, "purchase").select("user_id").unique()
    return viewed.join(bought, on="user_id", how="anti").height


def _pl_spend(f, T):
    spend = _pl_window(f, T, -29, "purchase").group_by("user_id").agg(pl.col("amount").sum())
    t = _pl_latest(f, T).filter(pl.col("city") == "Shanghai").select("user_id")
    return spend.filter(pl.col("amount") > 500).join(t, on="user_id").height


def _pl_change(f, T):
    tags = f["tags"]
    a = tags.filter(pl.col("dt") == _d(T, -7)).select("user_id", a="trade_cnt_7d")
    b = tags.filter(pl.col("dt") == _d(T, -1)).select("user_id", b="trade_cnt_7d")
    return a.join(b, on="user_id").filter((pl.col("b") - pl.col("a")) > 2).height


def _pl_none(f, T):
    bought = _pl_window(f, T, -29, "purchase").select("user_id").unique()
    return f["users"].join(bought, on="user_id", how="anti").height


def _pl_twenty(f, T):
    t = _pl_latest(f, T)
    cond = pl.lit(False)
    for city, level, k in GROUPS:
        cond = cond | (
            (pl.col("city") == city)
            & (pl.col("member_level") == level)
            & (pl.col("trade_cnt_7d") >= k)
        )
    return t.filter(cond).height


# -- pandas ----------------------------------------------------------------------------


def _pd_latest(f, T):
    tags = f["ptags"]
    day = tags.loc[tags["dt"] <= pd.Timestamp(T), "dt"].max()
    return tags[tags["dt"] == day]


def _pd_window(f, T, first, event):
    e = f["pevents"]
    return e[(e["ts"] >= _ts(T, first)) & (e["ts"] < _ts(T, 1)) & (e["event"] == event)]


def _pd_three(f, T):
    t = _pd_latest(f, T)
    keep = (
        ((t["city"] == "Shenzhen") & (t["trade_cnt_7d"] >= 1))
        | (t["city"].isin(["Shanghai", "Beijing"]) & ~t["is_black_list"])
        | ((t["member_level"] == "gold") & (t["total_spend"] > 1000))
    )
    return int(keep.fillna(False).sum())


def _pd_food(f, T):
    e = _pd_window(f, T, -29, "purchase")
    counts = e.loc[e["industry"] == FOOD, "user_id"].value_counts()
    return int((counts >= 2).sum())


def _pd_viewed(f, T):
    viewed = set(_pd_window(f, T, -6, "view_product")["user_id"].unique())
    bought = set(_pd_window(f, T, -6, "purchase")["user_id"].unique())
    return len(viewed - bought)


def _pd_spend(f, T):
    spend = _pd_window(f, T, -29, "purchase").groupby("user_id")["amount"].sum()
    t = _pd_latest(f, T)
    city = t.loc[(t["city"] == "Shanghai").fillna(False), "user_id"]
    return int(spend[spend > 500].index.isin(city).sum())


def _pd_change(f, T):
    tags = f["ptags"]
    a = tags.loc[tags["dt"] == pd.Timestamp(_d(T, -7)), ["user_id", "trade_cnt_7d"]]
    b = tags.loc[tags["dt"] == pd.Timestamp(_d(T, -1)), ["user_id", "trade_cnt_7d"]]
    m = a.merge(b, on="user_id", suffixes=("_a", "_b"))
    return int(((m["trade_cnt_7d_b"] - m["trade_cnt_7d_a"]) > 2).sum())


def _pd_none(f, T):
    bought = _pd_window(f, T, -29, "purchase")["user_id"].unique()
    return int((~f["pusers"]["user_id"].isin(bought)).sum())


def _pd_twenty(f, T):
    t = _pd_latest(f, T)
    keep = pd.Series(False, index=t.index)
    for city, level, k in GROUPS:
        keep |= ((t["city"] == city) & (t["member_level"] == level)
                 & (t["trade_cnt_7d"] >= k)).fillna(False)  # fmt: skip
    return int(keep.sum())


# -- Ibis, by hand ------------------------------------------------------------------------


def _ib_latest(con, T):
    tags = con.table("user_tags")
    day = tags.filter(tags.dt <= T).dt.max()
    return tags.filter(tags.dt == day)


def _ib_window(con, T, first, event):
    e = con.table("events")
    return e.filter(e.ts >= _ts(T, first), e.ts < _ts(T, 1), e.event == event)


def _ib_three(con, T):
    t = _ib_latest(con, T)
    return t.filter(
        ((t.city == "Shenzhen") & (t.trade_cnt_7d >= 1))
        | (t.city.isin(["Shanghai", "Beijing"]) & ~t.is_black_list)
        | ((t.member_level == "gold") & (t.total_spend > 1000))
    ).count()


def _ib_food(con, T):
    e = _ib_window(con, T, -29, "purchase")
    e = e.filter(e.industry == FOOD)
    return e.group_by("user_id").agg(n=e.count()).filter(ibis._.n >= 2).count()


def _ib_viewed(con, T):
    viewed = _ib_window(con, T, -6, "view_product").select("user_id").distinct()
    bought = _ib_window(con, T, -6, "purchase").select("user_id").distinct()
    return viewed.anti_join(bought, "user_id").count()


def _ib_spend(con, T):
    e = _ib_window(con, T, -29, "purchase")
    spend = e.group_by("user_id").agg(amount=e.amount.sum()).filter(ibis._.amount > 500)
    t = _ib_latest(con, T)
    return spend.semi_join(t.filter(t.city == "Shanghai"), "user_id").count()


def _ib_change(con, T):
    tags = con.table("user_tags")
    a = tags.filter(tags.dt == _d(T, -7)).select("user_id", a=tags.trade_cnt_7d)
    b = tags.filter(tags.dt == _d(T, -1)).select("user_id", b=tags.trade_cnt_7d)
    j = a.join(b, "user_id")
    return j.filter((j.b - j.a) > 2).count()


def _ib_none(con, T):
    bought = _ib_window(con, T, -29, "purchase").select("user_id").distinct()
    return con.table("users").anti_join(bought, "user_id").count()


def _ib_twenty(con, T):
    t = _ib_latest(con, T)
    cond = ibis.literal(False)
    for city, level, k in GROUPS:
        cond = cond | ((t.city == city) & (t.member_level == level) & (t.trade_cnt_7d >= k))
    return t.filter(cond).count()


def _run_ibis(build):
    return lambda con, T: int(build(con, T).execute())


# -- the rules --------------------------------------------------------------------------

_LATEST = (
    "(SELECT * FROM user_tags WHERE dt = (SELECT max(dt) FROM user_tags WHERE dt <= DATE '{T}'))"
)
_WINDOW = "ts >= DATE '{T}' - {n} AND ts < DATE '{T}' + 1"
_TWENTY_TEXT = "\n or ".join(
    f'(city = "{c}" and member_level = "{lvl}" and trade_cnt_7d >= {k})' for c, lvl, k in GROUPS
)
_TWENTY_SQL = " OR ".join(
    f"(city = '{c.replace(chr(39), chr(39) * 2)}' AND member_level = '{lvl}' AND trade_cnt_7d >= {k})"
    for c, lvl, k in GROUPS
)

RULES = [
    Rule(
        "3-group tag rule, latest snapshot",
        """(city = "Shenzhen" and trade_cnt_7d >= 1)
        or (city in ("Shanghai", "Beijing") and not is_black_list)
        or (member_level = "gold" and total_spend > 1000)""",
        f"""SELECT count(*) FROM {_LATEST} t
        WHERE (city = 'Shenzhen' AND trade_cnt_7d >= 1)
           OR (city IN ('Shanghai', 'Beijing') AND NOT is_black_list)
           OR (member_level = 'gold' AND total_spend > 1000)""",
        _pl_three, _pd_three, _run_ibis(_ib_three),
    ),
    Rule(
        "filtered 30-day count",
        f'count(purchase where industry = "{FOOD}", T-29..T) >= 2',
        f"""SELECT count(*) FROM (SELECT user_id FROM events
        WHERE event = 'purchase' AND industry = '{FOOD}' AND {_WINDOW.replace("{n}", "29")}
        GROUP BY user_id HAVING count(*) >= 2)""",
        _pl_food, _pd_food, _run_ibis(_ib_food),
    ),
    Rule(
        "viewed, not bought, 7 days",
        "did(view_product, T-6..T) and not did(purchase, T-6..T)",
        f"""SELECT count(*) FROM (
          SELECT DISTINCT user_id FROM events WHERE event = 'view_product' AND {_WINDOW.replace("{n}", "6")}
          EXCEPT
          SELECT DISTINCT user_id FROM events WHERE event = 'purchase' AND {_WINDOW.replace("{n}", "6")})""",
        _pl_viewed, _pd_viewed, _run_ibis(_ib_viewed),
    ),
    Rule(
        "spend and city",
        'sum(purchase.amount, T-29..T) > 500 and city = "Shanghai"',
        f"""SELECT count(*) FROM (SELECT user_id, sum(amount) AS s FROM events
          WHERE event = 'purchase' AND {_WINDOW.replace("{n}", "29")} GROUP BY user_id) e
        JOIN {_LATEST} t USING (user_id) WHERE e.s > 500 AND t.city = 'Shanghai'""",
        _pl_spend, _pd_spend, _run_ibis(_ib_spend),
    ),
    Rule(
        "change between dates",
        "change(trade_cnt_7d, T-7, T-1) > 2",
        """SELECT count(*) FROM user_tags a JOIN user_tags b
          ON a.user_id = b.user_id AND a.dt = DATE '{T}' - 7 AND b.dt = DATE '{T}' - 1
        WHERE b.trade_cnt_7d - a.trade_cnt_7d > 2""",
        _pl_change, _pd_change, _run_ibis(_ib_change),
    ),
    Rule(
        "no purchase in 30 days",
        "count(purchase, T-29..T) = 0",
        f"""SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM events e
          WHERE e.user_id = u.user_id AND e.event = 'purchase' AND {_WINDOW.replace("{n}", "29")})""",
        _pl_none, _pd_none, _run_ibis(_ib_none),
    ),
    Rule(
        "20-group tag rule",
        _TWENTY_TEXT,
        f"SELECT count(*) FROM {_LATEST} t WHERE {_TWENTY_SQL}",
        _pl_twenty, _pd_twenty, _run_ibis(_ib_twenty),
    ),
]  # fmt: skip


def load_frames(con) -> dict[str, Any]:
    """The tables the peers read, in memory: polars frames, and pandas frames with Arrow strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(sql: str):
        result = con.execute(sql).arrow()
        return result.read_all() if hasattr(result, "read_all") else result  # a batch reader

    columns = "user_id, dt, city, is_black_list, trade_cnt_7d, total_spend, member_level"
    events = arrow("SELECT user_id, ts, event, industry, amount FROM events")
    users = arrow("SELECT user_id FROM users")
    tags = arrow(f"SELECT {columns} FROM user_tags")
    frames = {
        "tags": pl.from_arrow(tags),
        "events": pl.from_arrow(events),
        "users": pl.from_arrow(users),
    }
    strings = {
        pa.string(): pd.ArrowDtype(pa.string()),
        pa.large_string(): pd.ArrowDtype(pa.string()),
    }
    # pandas gets the snapshot day as a timestamp; one read of the table serves both (memory)
    at = tags.schema.get_field_index("dt")
    ptags = tags.set_column(at, "dt", pc.cast(tags.column(at), pa.timestamp("us")))
    frames["ptags"] = ptags.to_pandas(types_mapper=strings.get)
    del tags, ptags
    frames["pevents"] = events.to_pandas(types_mapper=strings.get)
    frames["pusers"] = users.to_pandas()
    return frames
