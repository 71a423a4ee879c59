"""The SQL that synthesises the demo warehouse's tables inside DuckDB.

Every number comes from hash-based pseudo-random numbers: the stable mixer
of :mod:`segnb.demo.mixer` over ``(id, day, salt)`` under the seed (macros
``_h1``…``_h5``, ``_r``, ``_r2`` and ``_bits``), so the same seed, end date
and sizes give the same table contents on any number of threads and any
DuckDB version. The
value distributions (channels, cities, industries, card bins, levels) are
the constants below; :class:`Synthesis` holds the SQL of each step, run by
:mod:`segnb.demo.warehouse` chunk by chunk of users.

Examples
--------
>>> _by_index("i", ["a", "b"])
"['a', 'b'][(i) + 1]"
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from segnb.demo.mixer import macros_sql

__all__ = ["EVENTS", "ORDER", "SCHEMA", "TABLES", "Synthesis"]

TABLES = ("users", "user_tags", "events", "merchants", "merchant_tags", "ground_truth",
          "segnb_catalog")  # fmt: skip
#: the order rows are written in: snapshots by date and events by day, then event name, as a
#: warehouse keeps them (partitioned by date, clustered by event: a scan of one day reads that
#: day's row groups, and one of purchases over a month the purchase row groups of each day),
#: the rest by id
ORDER = {"users": "user_id", "user_tags": "dt, user_id",
         "events": "CAST(ts AS DATE), event, user_id, ts",
         "merchants": "merchant_id", "merchant_tags": "dt, merchant_id",
         "ground_truth": "user_id"}  # fmt: skip

# -- value distributions -------------------------------------------------------

CHANNELS = [  # (channel, share, effect on the purchase log-odds)
    ("ads", 0.34, -0.25), ("organic", 0.28, 0.10), ("social", 0.17, -0.10),
    ("referral", 0.13, 0.30), ("email", 0.08, 0.15),
]  # fmt: skip
CITIES = [
    ("Shanghai", 9.0), ("Beijing", 8.5), ("Shenzhen", 7.0), ("Guangzhou", 6.5),
    ("Chengdu", 5.0), ("Hangzhou", 4.5), ("Chongqing", 4.0), ("Wuhan", 3.8),
    ("Xi'an", 3.2), ("Nanjing", 3.2), ("Tianjin", 3.0), ("Suzhou", 3.0),
    ("Changsha", 2.6), ("Zhengzhou", 2.5), ("Dongguan", 2.4), ("Qingdao", 2.2),
    ("Shenyang", 2.0), ("Ningbo", 2.0), ("Kunming", 1.8), ("Hefei", 1.8),
    ("Foshan", 1.8), ("Xiamen", 1.6), ("Fuzhou", 1.5), ("Jinan", 1.5),
    ("Dalian", 1.4), ("Harbin", 1.3), ("Nanning", 1.2), ("Changchun", 1.2),
    ("Shijiazhuang", 1.1), ("Guiyang", 1.0),
]  # fmt: skip
INDUSTRIES = [  # (industry, share of browsing, mean log of an order amount in CNY)
    ("Food & Beverages", 18, 3.4), ("Apparel", 15, 5.0), ("Electronics", 12, 6.2),
    ("Beauty", 11, 4.7), ("Home", 10, 5.3), ("Toys & Baby", 8, 4.6),
    ("Sports & Outdoors", 7, 5.2), ("Health", 7, 4.4), ("Books & Media", 6, 3.8),
    ("Travel", 6, 6.6),
]  # fmt: skip
CARD_BINS = [
    ("622202", 14), ("621700", 12), ("622848", 11), ("621661", 9), ("622588", 9),
    ("436742", 8), ("622609", 7), ("621483", 7), ("456351", 6), ("625807", 5),
    ("623058", 4), ("518710", 3),
]  # fmt: skip
EVENTS = ["login", "search", "view_product", "add_cart", "purchase", "refund"]
LEVELS = [("platinum", 2_000_000), ("gold", 500_000), ("silver", 100_000)]  # cents
NAME_HEADS = ["Golden", "Lucky", "Happy", "Red", "Jade", "Bright", "Sunny", "Blue Sky",
              "Panda", "Dragon", "Phoenix", "Lotus", "Silver", "Star", "Harmony", "Pearl",
              "Bamboo", "Orchid", "Great Wall", "Peach"]  # fmt: skip
NAME_TAILS = ["Store", "Shop", "Mart", "Outlet", "House", "Corner", "Market", "Co.", "Select",
              "Flagship"]  # fmt: skip
TWO_POW_48 = 1 << 48


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _pick(u: str, weights: Sequence[float], buckets: int = 1024) -> str:
    """SQL drawing index ``i`` with probability ~ ``weights[i]``, from ``u`` uniform in [0,1).

    A lookup list of ``buckets`` entries (weights rounded to 1/buckets) is
    several times faster in DuckDB than a chain of ``CASE WHEN u < …``.
    """
    total = float(sum(weights))
    cum, acc = [], 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)
    table, i = [], 0
    for k in range(buckets):
        x = (k + 0.5) / buckets
        while i < len(cum) - 1 and x >= cum[i]:
            i += 1
        table.append(i)
    return f"{table}[1 + floor({u} * {buckets})::INTEGER]"


def _by_index(index: str, values: Sequence[Any]) -> str:
    """SQL mapping a 0-based index to ``values[index]`` (strings or numbers)."""
    if all(isinstance(v, str) for v in values):
        return f"[{', '.join(_quote(v) for v in values)}][({index}) + 1]"
    return f"([{', '.join(repr(float(v)) for v in values)}]::DOUBLE[])[({index}) + 1]"


def _industry_index(u: str) -> str:
    return _pick(u, [w for _, w, _ in INDUSTRIES])


def _amount_cents(ind: str, lvl: str, u1: str, u2: str) -> str:
    """Lognormal order amount in cents (at least 1 CNY) for industry index ``ind``."""
    mu = _by_index(ind, [m for _, _, m in INDUSTRIES])
    return f"greatest(100, round(100 * {lvl} * exp({mu} + 0.55 * _norm({u1}, {u2}))))::BIGINT"


SCHEMA = """
CREATE TABLE users (user_id BIGINT, device_id VARCHAR, account_id VARCHAR, channel VARCHAR,
    is_member BOOLEAN, signup_date DATE, gender VARCHAR, age INTEGER);
CREATE TABLE user_tags (user_id BIGINT, dt DATE, city VARCHAR, is_black_list BOOLEAN,
    register_time TIMESTAMP, trade_cnt_7d INTEGER, total_spend DOUBLE, member_level VARCHAR,
    last_login_days INTEGER);
CREATE TABLE events (user_id BIGINT, ts TIMESTAMP, event VARCHAR, industry VARCHAR,
    card_bin VARCHAR, amount DOUBLE);
CREATE TABLE merchants (merchant_id BIGINT, name VARCHAR, industry VARCHAR, city VARCHAR,
    opened_date DATE);
CREATE TABLE merchant_tags (merchant_id BIGINT, dt DATE, gmv_7d DOUBLE, rating DOUBLE,
    is_active BOOLEAN);
CREATE TABLE ground_truth (user_id BIGINT, propensity DOUBLE, will_purchase BOOLEAN);
CREATE TABLE segnb_catalog (toml VARCHAR);
"""


class Synthesis:
    """The SQL steps of one generation run, on an open DuckDB connection ``con``.

    ``create_macros()`` first, then per chunk of users ``write_users(lo, hi)``,
    ``write_days()``, ``write_events()`` and ``write_tags()``; ``write_merchants()``
    once at the end.
    """

    con: Any

    def __init__(self, users: int, days: int, seed: int, end: datetime.date) -> None:
        self.users, self.days, self.seed, self.end = users, days, seed, end
        self.start = end - datetime.timedelta(days=days - 1)

    def create_macros(self) -> None:
        # uniform numbers in [0,1) from hashes of (ids, salt) under the seed: deterministic
        # on any number of threads, unlike random(); _bits takes 20-bit slices of one hash
        self.con.execute(macros_sql(self.seed))
        self.con.execute("""
            CREATE TEMP MACRO _r(a, salt) AS (_h2(a, salt) >> 11)::DOUBLE / 9007199254740992.0;
            CREATE TEMP MACRO _r2(a, b, salt) AS
                (_h3(a, b, salt) >> 11)::DOUBLE / 9007199254740992.0;
            CREATE TEMP MACRO _norm(u1, u2) AS sqrt(-2 * ln(1 - u1)) * cos(2 * pi() * u2);
            CREATE TEMP MACRO _sig(x) AS 1 / (1 + exp(-x));
            CREATE TEMP MACRO _geo(u, m) AS floor(ln(1 - u) / ln(m / (1 + m)))::INTEGER;
            CREATE TEMP MACRO _bits(h, shift) AS ((h >> shift) & 1048575)::DOUBLE / 1048576.0;
        """)

    # -- per chunk of users ----------------------------------------------------

    def write_users(self, lo: int, hi: int) -> None:
        """Latent parameters of users lo+1..hi (temp table _p), then users and ground_truth."""
        d, end = self.days, self.end.isoformat()
        ch_eff = _by_index("ch", [e for _, _, e in CHANNELS])
        cities = [w for _, w in CITIES]
        cards = [w for _, w in CARD_BINS]
        channels = [w for _, w, _ in CHANNELS]
        # 30 uniform numbers per user, three 20-bit slices of each of 10 hashes
        hashes = ", ".join(f"_h2(user_id, {k}) AS h{k}" for k in range(10))

        def u(n: int) -> str:
            return f"_bits(h{n // 3}, {20 * (n % 3)})"

        self.con.execute(f"""
            -- scanning a table rather than range() lets DuckDB use every core
            CREATE OR REPLACE TEMP TABLE _ids AS SELECT range + 1 AS user_id FROM range({lo}, {hi});
            CREATE OR REPLACE TEMP TABLE _p AS
            WITH a AS (
                SELECT user_id, {hashes} FROM _ids
            ), b AS (
                SELECT user_id,
                    _norm({u(0)}, {u(1)}) AS z,
                    _norm({u(2)}, {u(3)}) AS z2,
                    {u(4)} < 0.05 AS ghost,
                    floor(1095 * pow({u(5)}, 1.35))::INTEGER AS signup_back,
                    {_pick(u(6), channels)}::UTINYINT AS ch,
                    {u(7)} AS u_member,
                    {u(8)} AS u_gender,
                    CASE WHEN {u(9)} >= 0.09 THEN 18 + floor(52 * pow({u(10)}, 1.7))::INTEGER END AS age,
                    floor((6 + 18 * {u(11)}) * 3600)::INTEGER AS reg_sec,
                    1.6 * {u(12)} - 0.8 AS trend,
                    {_industry_index(u(13))}::UTINYINT AS fav1,
                    {_pick(u(14), cards)}::UTINYINT AS card1,
                    {_pick(u(15), cards)}::UTINYINT AS card2,
                    {u(16)} < 0.01 AS city_null,
                    {_pick(u(17), cities)}::UTINYINT AS city1,
                    {_pick(u(18), cities)}::UTINYINT AS city2,
                    CASE WHEN {u(19)} < 0.04 THEN floor({d} * {u(20)})::INTEGER END AS move_idx,
                    {u(21)} < 0.02 AS black0,
                    CASE WHEN {u(22)} < 0.004 THEN floor({d} * {u(23)})::INTEGER END AS flip_idx,
                    _norm({u(24)}, {u(25)}) AS z_lvl,
                    _norm({u(26)}, {u(27)}) AS z_base,
                    {u(28)} AS u_future
                FROM a
            ), c AS (
                SELECT *,
                    u_member < _sig(-1.6 + 0.9 * z) AS is_member,
                    DATE '{end}' - signup_back AS signup_date,
                    {d - 1} - signup_back AS signup_idx,
                    exp(0.35 * z_lvl + 0.006 * (coalesce(age, 35) - 35)) AS lvl
                FROM b
            ), e AS (
                SELECT *,
                    -- p: probability of at least one purchase in a week; act: of being active on a day
                    _sig(-1.9 + 1.5 * z + 0.4 * is_member::INTEGER + {ch_eff})
                        * CASE WHEN ghost THEN 0.03 ELSE 1.0 END AS p,
                    CASE WHEN ghost THEN 0.0 ELSE _sig(-2.0 + 0.9 * z + 0.8 * z2) END AS act
                FROM c
            )
            SELECT * EXCLUDE (z, z2, z_lvl, z_base, u_member),
                1 - pow(1 - p, 1 / 7) AS q,
                CAST(signup_date AS TIMESTAMP) + to_seconds(reg_sec) AS register_time,
                -- lifetime spend before the range, in cents: ~weekly purchases since signup
                CASE WHEN signup_idx >= 0 OR ghost THEN 0
                     ELSE round(100 * (-signup_idx) * (1 - pow(1 - p, 1 / 7)) * 0.8 * lvl
                                * exp({_by_index("fav1", [m for _, _, m in INDUSTRIES])}
                                      + 0.15 + 0.5 * z_base))::BIGINT END AS base_cents
            FROM e
        """)
        self.con.execute(f"""
            INSERT INTO users
            SELECT user_id,
                -- bijections of user_id (odd multiplier mod 2^48, one prime to 10 mod 10^10): unique
                'd' || lower(lpad(hex((user_id * 7866721973 + {self.seed % TWO_POW_48})
                    & {TWO_POW_48 - 1}), 12, '0')),
                'a' || (10000000000 + (user_id * 6364136223 + {self.seed % 10**10})
                    % 10000000000)::VARCHAR,
                {_by_index("ch", [c for c, _, _ in CHANNELS])},
                is_member, signup_date,
                CASE WHEN u_gender < 0.07 THEN NULL WHEN u_gender < 0.58 THEN 'female' ELSE 'male' END,
                age
            FROM _p;
            INSERT INTO ground_truth SELECT user_id, p, u_future < p FROM _p;
        """)

    def write_days(self) -> None:
        """One row per user and active day (temp table _ud): how much of what the user did."""
        d, dow0 = self.days, self.start.weekday()
        amount = _amount_cents
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _ud AS
            WITH g AS (
                SELECT *,
                    -- daily purchase probability, drifting towards q (the week after the range)
                    least(0.9, q * exp(trend * ({d - 1} - day) / 60.0)) AS qd
                FROM (
                    SELECT user_id, unnest(range(greatest(signup_idx, 0), {d}))::INTEGER AS day,
                        signup_idx, ghost, q, trend, act, reg_sec, fav1, card1, card2, lvl, black0
                    FROM _p
                    WHERE NOT ghost
                )
            ), h AS (
                SELECT *,
                    CASE WHEN day = signup_idx THEN 0.9
                         ELSE least(1.0, greatest(qd / 0.85,
                             act * CASE WHEN ({dow0} + day) % 7 >= 5 THEN 1.15 ELSE 0.95 END))
                    END AS ad,
                    _h3(user_id, day, 40) AS h1
                FROM g
            ), i AS (
                SELECT * EXCLUDE (ghost, q, trend),
                    least(1.0, qd / ad) AS pb,
                    _h3(user_id, day, 41) AS h2,
                    _h3(user_id, day, 42) AS h3,
                    _h3(user_id, day, 43) AS h4
                FROM h
                WHERE _bits(h1, 0) < ad
            ), j AS (
                SELECT user_id, day, fav1, card1::UTINYINT AS card1, card2::UTINYINT AS card2, lvl,
                    (_bits(h1, 20) < 0.85)::INTEGER + (_bits(h1, 20) < 0.04)::INTEGER AS n_login,
                    least(15, _geo(_bits(h1, 40), 0.7)) AS n_search,
                    least(40, 1 + _geo(_bits(h2, 0), 0.8 + 2.5 * act)) AS n_view,
                    CASE WHEN _bits(h2, 20) < pb
                         THEN 1 + (_bits(h2, 40) < 0.08)::INTEGER ELSE 0 END AS n_purchase,
                    (_bits(h3, 0) < pb * 0.1 * CASE WHEN black0 THEN 3 ELSE 1 END)::INTEGER AS n_refund,
                    (_bits(h4, 20) < 0.15 + 0.5 * pb)::INTEGER + (_bits(h4, 20) < 0.04)::INTEGER AS n_cart0,
                    -- session start, seconds after midnight: evening peak, daytime, night owls;
                    -- on the signup day, after registering
                    CASE WHEN day = signup_idx
                         THEN reg_sec + floor((86399 - reg_sec) * 0.6 * _bits(h3, 20))
                         WHEN _bits(h3, 40) < 0.55
                         THEN greatest(0, least(86000, floor(3600 * (20.5 + 1.8 * _norm(
                             _bits(h3, 20), _bits(h4, 0))))))
                         WHEN _bits(h3, 40) < 0.95 THEN floor(3600 * (7 + 16 * _bits(h3, 20)))
                         ELSE floor(86000 * _bits(h3, 20))
                    END::INTEGER AS s0,
                    _bits(h4, 40) AS u_ind
                FROM i
            ), k AS (
                SELECT * EXCLUDE (n_cart0, u_ind),
                    n_purchase + n_cart0 AS n_cart,
                    CASE WHEN n_purchase >= 1 THEN CASE WHEN u_ind < 0.6 THEN fav1
                        ELSE {_industry_index("((u_ind - 0.6) / 0.4)")} END END AS ind1,
                    CASE WHEN n_purchase >= 2 THEN {_industry_index("_r2(user_id, day, 50)")} END AS ind2,
                    CASE WHEN n_refund >= 1 THEN {_industry_index("_r2(user_id, day, 51)")} END AS rind
                FROM j
            )
            SELECT * EXCLUDE (lvl),
                CASE WHEN ind1 IS NOT NULL THEN {amount("ind1", "lvl", "_r2(user_id, day, 52)", "_r2(user_id, day, 53)")} END AS cents1,
                CASE WHEN ind2 IS NOT NULL THEN {amount("ind2", "lvl", "_r2(user_id, day, 54)", "_r2(user_id, day, 55)")} END AS cents2,
                CASE WHEN rind IS NOT NULL THEN {amount("rind", "lvl", "_r2(user_id, day, 56)", "_r2(user_id, day, 57)")} END AS rcents
            FROM k
        """)

    def write_events(self) -> None:
        """Expand _ud's daily counts into one row per event, in funnel order within a session."""
        epoch0 = (self.start - datetime.date(1970, 1, 1)).days * 86400  # naive local time
        # event i of a user-day is of type t where c[t-1] <= i < c[t] (running counts)
        counts = ["n_login", "n_search", "n_view", "n_cart", "n_purchase", "n_refund"]
        ends = [" + ".join(counts[: t + 1]) for t in range(len(counts))]
        kind = " ".join(f"WHEN i < c{t} THEN {t}" for t in range(len(counts) - 1))
        first = " ".join(f"WHEN {t + 1} THEN c{t}" for t in range(len(counts) - 1))
        offset = (
            "CASE t WHEN 0 THEN k * (3600 + floor(7200 * u1)) WHEN 1 THEN 20 + k * 60 + floor(240 * u1) "
            "WHEN 2 THEN 60 + k * 90 + floor(600 * u1) WHEN 3 THEN 300 + k * 120 + floor(900 * u1) "
            "WHEN 4 THEN 600 + k * 600 + floor(1200 * u1) ELSE 900 + floor(3600 * u1) END"
        )
        browsed = f"CASE WHEN u2 < 0.5 THEN fav1 ELSE {_industry_index('((u2 - 0.5) * 2)')} END"
        self.con.execute(f"""
            INSERT INTO events
            WITH e AS (
                SELECT user_id, day, s0, fav1, card1, card2, ind1, ind2, rind, cents1, cents2, rcents,
                    {", ".join(f"{end} AS c{t}" for t, end in enumerate(ends[:-1]))},
                    unnest(range({ends[-1]})) AS i
                FROM _ud
            ), f AS (
                SELECT *, CASE {kind} ELSE {len(counts) - 1} END AS t,
                    _h4(user_id, day, i, 60) AS h
                FROM e
            ), g AS (
                SELECT *, i - CASE t {first} ELSE 0 END AS k,
                    _bits(h, 0) AS u1, _bits(h, 20) AS u2, _bits(h, 40) AS u3
                FROM f
            ), x AS (
                SELECT user_id, day, t,
                    least(86399, s0 + {offset})::BIGINT AS sec,
                    CASE WHEN t < 2 THEN NULL WHEN t < 4 THEN {browsed}
                         WHEN t = 5 THEN rind WHEN k = 0 THEN ind1 ELSE ind2 END AS ind,
                    CASE WHEN t >= 4 THEN CASE WHEN u3 < 0.85 THEN card1 ELSE card2 END END AS card,
                    CASE WHEN t = 5 THEN rcents WHEN t = 4 AND k = 0 THEN cents1
                         WHEN t = 4 THEN cents2 END AS cents
                FROM g
            )
            SELECT user_id,
                make_timestamp(({epoch0} + day * 86400 + sec) * 1000000),
                {_by_index("t", EVENTS)},
                {_by_index("ind", [n for n, _, _ in INDUSTRIES])},
                {_by_index("card", [b for b, _ in CARD_BINS])},
                cents / 100.0
            FROM x
        """)

    def write_tags(self) -> None:
        """Daily tag snapshots of the chunk, computed from the events in _ud.

        Rather than a window over every user-day, the tags are computed at each
        user's breakpoints only (first day, active days, the day a purchase
        leaves the 7-day window, the day the user moves or is (un)blacklisted)
        and then copied to the days until the next breakpoint.
        """
        d = self.days
        levels = " ".join(f"WHEN cents >= {c} THEN {_quote(n)}" for n, c in LEVELS)
        city = _by_index(
            "CASE WHEN c.day >= p.move_idx THEN p.city2 ELSE p.city1 END", [c for c, _ in CITIES]
        )
        self.con.execute(f"""
            INSERT INTO user_tags
            WITH b AS (
                SELECT user_id, greatest(signup_idx, 0) AS day, 0 AS kind, 0::BIGINT AS cents,
                    0 AS trade
                FROM _p
                UNION ALL
                SELECT user_id, day, 1, coalesce(cents1, 0) + coalesce(cents2, 0), n_purchase
                FROM _ud
                UNION ALL
                SELECT user_id, day + 7, 2, 0, -n_purchase
                FROM _ud WHERE n_purchase > 0 AND day + 7 < {d}
                UNION ALL
                SELECT user_id, move_idx, 3, 0, 0 FROM _p WHERE move_idx > greatest(signup_idx, 0)
                UNION ALL
                SELECT user_id, flip_idx, 4, 0, 0 FROM _p WHERE flip_idx > greatest(signup_idx, 0)
            ), c AS (
                SELECT user_id, day,
                    lead(day, 1, {d}) OVER w AS next_day,
                    sum(cents) OVER w AS spent,
                    sum(trade) OVER w AS trade_cnt_7d,
                    max(CASE WHEN kind = 1 THEN day END) OVER w AS last_day
                FROM b
                WINDOW w AS (PARTITION BY user_id ORDER BY day, kind
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            ), x AS (
                SELECT c.user_id, c.day, c.next_day, c.last_day,
                    CASE WHEN NOT p.city_null THEN {city} END AS city,
                    CASE WHEN c.day >= p.flip_idx THEN NOT p.black0 ELSE p.black0 END AS black,
                    p.register_time,
                    c.trade_cnt_7d::INTEGER AS trade_cnt_7d,
                    p.base_cents + c.spent AS cents
                FROM c JOIN _p p USING (user_id)
                WHERE c.next_day > c.day
            ), y AS (
                SELECT * EXCLUDE (day, next_day, cents),
                    cents / 100.0 AS total_spend,
                    CASE {levels} ELSE 'bronze' END AS member_level,
                    unnest(range(day, next_day))::INTEGER AS day
                FROM x
            )
            SELECT user_id, DATE '{self.start.isoformat()}' + day, city, black, register_time,
                trade_cnt_7d, total_spend, member_level, (day - last_day)::INTEGER
            FROM y
            WHERE _r2(user_id, day, 70) >= 0.01   -- ~1% absent from each snapshot
        """)

    # -- merchants ---------------------------------------------------------------

    def write_merchants(self) -> None:
        m, d, end, start = max(50, self.users // 100), self.days, self.end, self.start
        heads, tails = NAME_HEADS, NAME_TAILS
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _m AS
            SELECT merchant_id,
                {_industry_index("_r(merchant_id, 101)")} AS ind,
                {_by_index(_pick("_r(merchant_id, 102)", [w for _, w in CITIES]), [c for c, _ in CITIES])} AS city,
                DATE '{end.isoformat()}' - floor(1825 * pow(_r(merchant_id, 103), 1.2))::INTEGER AS opened_date,
                {_by_index(f"floor({len(heads)} * _r(merchant_id, 104))::INTEGER", heads)} AS head,
                {_by_index(f"floor({len(tails)} * _r(merchant_id, 105))::INTEGER", tails)} AS tail,
                exp(8.5 + 1.2 * _norm(_r(merchant_id, 106), _r(merchant_id, 107))) AS gmv,
                3.0 + 1.9 * pow(_r(merchant_id, 108), 0.6) AS rating0,
                0.4 * _r(merchant_id, 109) - 0.2 AS drift,
                _r(merchant_id, 110) < 0.03 AS dormant,
                CASE WHEN _r(merchant_id, 111) < 0.06 THEN floor({d} * _r(merchant_id, 112))::INTEGER END AS close_idx
            FROM (SELECT range + 1 AS merchant_id FROM range({m}));
            INSERT INTO merchants
            SELECT merchant_id, head || ' ' || {_by_index("ind", [n for n, _, _ in INDUSTRIES])} || ' ' || tail,
                {_by_index("ind", [n for n, _, _ in INDUSTRIES])}, city, opened_date
            FROM _m;
            INSERT INTO merchant_tags
            WITH g AS (
                SELECT *, DATE '{start.isoformat()}' + day AS dt,
                    NOT dormant AND coalesce(day < close_idx, true) AS is_active
                FROM (SELECT *, unnest(range({d}))::INTEGER AS day FROM _m)
            )
            SELECT merchant_id, dt,
                CASE WHEN is_active THEN round(gmv * (1 + 0.15 * sin(2 * pi() * (day % 7) / 7))
                    * exp(0.12 * _norm(_r2(merchant_id, day, 120), _r2(merchant_id, day, 121))), 2)
                    ELSE 0.0 END,
                CASE WHEN dt - opened_date >= 14 THEN round(greatest(1.0, least(5.0, rating0
                    + drift * day / {max(d, 30)} + 0.05 * _norm(_r2(merchant_id, day, 122),
                    _r2(merchant_id, day, 123)))), 1) END,
                is_active
            FROM g
            WHERE dt >= opened_date;
            DROP TABLE _m;
        """)
