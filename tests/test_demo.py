"""The demo warehouse: shape, determinism and internal consistency."""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path

import duckdb
import numpy as np
import pytest

from segnb.demo import synth, warehouse
from segnb.demo.mixer import hash_sql, stable_hash
from segnb.demo.warehouse import DEMO_CATALOG, TABLES, DemoError, DemoInfo, demo_catalog, generate
from segnb.errors import SegnbError, WarehouseError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

END = datetime.date(2025, 3, 31)
USERS, DAYS = 2_000, 40

SCHEMA = {
    "users": {
        "user_id": "BIGINT",
        "device_id": "VARCHAR",
        "account_id": "VARCHAR",
        "channel": "VARCHAR",
        "is_member": "BOOLEAN",
        "signup_date": "DATE",
        "gender": "VARCHAR",
        "age": "INTEGER",
    },
    "user_tags": {
        "user_id": "BIGINT",
        "dt": "DATE",
        "city": "VARCHAR",
        "is_black_list": "BOOLEAN",
        "register_time": "TIMESTAMP",
        "trade_cnt_7d": "INTEGER",
        "total_spend": "DOUBLE",
        "member_level": "VARCHAR",
        "last_login_days": "INTEGER",
    },
    "events": {
        "user_id": "BIGINT",
        "ts": "TIMESTAMP",
        "event": "VARCHAR",
        "industry": "VARCHAR",
        "card_bin": "VARCHAR",
        "amount": "DOUBLE",
    },
    "merchants": {
        "merchant_id": "BIGINT",
        "name": "VARCHAR",
        "industry": "VARCHAR",
        "city": "VARCHAR",
        "opened_date": "DATE",
    },
    "merchant_tags": {
        "merchant_id": "BIGINT",
        "dt": "DATE",
        "gmv_7d": "DOUBLE",
        "rating": "DOUBLE",
        "is_active": "BOOLEAN",
    },
    "ground_truth": {"user_id": "BIGINT", "propensity": "DOUBLE", "will_purchase": "BOOLEAN"},
    "segnb_catalog": {"toml": "VARCHAR"},
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoInfo:
    path = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    return generate(path, users=USERS, days=DAYS, seed=7, end=END)


@pytest.fixture()
def con(demo):
    with duckdb.connect(str(demo.path), read_only=True) as c:
        yield c


def one(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchone()[0]


def checksums(path) -> dict[str, tuple[int, int]]:
    """An order-independent (row count, sum of row hashes) per table."""
    with duckdb.connect(str(path), read_only=True) as c:
        return {
            t: c.execute(f"SELECT count(*), sum(hash({t})) FROM {t}").fetchone() for t in TABLES
        }


# -- the result -----------------------------------------------------------------


def test_info_describes_what_was_written(demo, con):
    assert demo.users == USERS and demo.days == DAYS and demo.seed == 7
    assert demo.end == END
    assert demo.start == END - datetime.timedelta(days=DAYS - 1)
    assert demo.path.exists() and demo.url == f"duckdb:///{demo.path}"
    assert set(demo.rows) == set(TABLES)
    for table, n in demo.rows.items():
        assert one(con, f"SELECT count(*) FROM {table}") == n
    assert demo.seconds > 0
    # nothing left beside the file
    assert sorted(p.name for p in demo.path.parent.iterdir()) == ["warehouse.duckdb"]


def test_every_table_and_column_with_its_type(con):
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        found.setdefault(table, {})[column] = dtype
    assert found == SCHEMA


def test_dates_cover_the_range(demo, con):
    assert con.execute("SELECT min(dt), max(dt), count(DISTINCT dt) FROM user_tags").fetchone() == (
        demo.start,
        demo.end,
        DAYS,
    )
    assert con.execute("SELECT min(dt), max(dt) FROM merchant_tags").fetchone() == (
        demo.start,
        demo.end,
    )
    lo, hi = con.execute("SELECT min(ts), max(ts) FROM events").fetchone()
    assert lo.date() >= demo.start and hi.date() <= demo.end


# -- determinism ------------------------------------------------------------------


def test_same_arguments_give_the_same_tables(tmp_path):
    args = dict(users=300, days=10, seed=3, end=END)
    a = generate(tmp_path / "a.duckdb", **args)
    b = generate(tmp_path / "b.duckdb", **args)
    assert a.rows == b.rows
    assert checksums(a.path) == checksums(b.path)


def test_another_seed_gives_other_tables(tmp_path):
    a = checksums(generate(tmp_path / "a.duckdb", users=300, days=10, seed=3, end=END).path)
    b = checksums(generate(tmp_path / "b.duckdb", users=300, days=10, seed=4, end=END).path)
    for table in ("users", "user_tags", "events", "merchants", "merchant_tags", "ground_truth"):
        assert a[table] != b[table], table
    assert a["segnb_catalog"] == b["segnb_catalog"]


def test_more_users_leave_the_first_ones_unchanged(tmp_path):
    """Users are drawn per id, so the size does not reshuffle who a user is."""
    a = generate(tmp_path / "a.duckdb", users=200, days=5, seed=1, end=END)
    b = generate(tmp_path / "b.duckdb", users=400, days=5, seed=1, end=END)
    sql = "SELECT sum(hash(users)) FROM users WHERE user_id <= 200"
    with (
        duckdb.connect(str(a.path), read_only=True) as ca,
        duckdb.connect(str(b.path), read_only=True) as cb,
    ):
        assert one(ca, sql) == one(cb, sql)


def test_the_mixer_in_sql_is_the_python_reference():
    """The demo's numbers come from arithmetic that DuckDB and Python agree on, not hash()."""
    rng = np.random.default_rng(5)
    rows = [tuple(int(v) for v in rng.integers(0, 2**32, size=n)) for n in (1, 2, 3, 4, 5)] * 4
    rows += [(0,), (2**32 - 1, 0, 7), (1_000_000_000, 3650, 400, 60)]
    for seed in (0, -(2**63), 2**63 - 1, 12345):
        for values in rows:
            sql = hash_sql([f"{v}::BIGINT" for v in values], seed)
            assert one(duckdb.connect(), f"SELECT {sql}") == stable_hash(values, seed)
    hashes = {stable_hash((i, 9), seed=0) for i in range(10_000)}
    assert len(hashes) == 10_000
    top_bits = np.array([h >> 44 for h in hashes]) / 2**20  # roughly uniform in [0, 1)
    assert abs(top_bits.mean() - 0.5) < 0.02 and abs(np.median(top_bits) - 0.5) < 0.03


def test_no_duckdb_hash_in_the_generator():
    source = Path(synth.__file__).read_text() + Path(warehouse.__file__).read_text()
    assert "hash(" not in source.replace("_hash(", "")


def test_snapshots_and_events_are_stored_in_date_order(con):
    """Snapshots in date order, events by day and then event name: a one-day scan skips the rest."""
    for table, key in (
        ("user_tags", "[dt]"), ("events", "[CAST(ts AS DATE)::VARCHAR, event]"),
        ("merchant_tags", "[dt]"),
    ):  # fmt: skip
        ordered = con.execute(
            f"SELECT bool_and(a <= b) FROM (SELECT {key} AS a, "
            f"lead({key}) OVER (ORDER BY rowid) AS b FROM {table}) WHERE b IS NOT NULL"
        ).fetchone()[0]
        assert ordered, table


# -- users ------------------------------------------------------------------------------


def test_one_row_per_user_with_unique_ids(con):
    n, ids, devices, accounts = con.execute(
        "SELECT count(*), count(DISTINCT user_id), count(DISTINCT device_id), "
        "count(DISTINCT account_id) FROM users"
    ).fetchone()
    assert n == ids == devices == accounts == USERS
    assert (
        one(
            con,
            "SELECT count(*) FROM users WHERE NOT regexp_full_match(device_id, 'd[0-9a-f]{12}')",
        )
        == 0
    )
    assert (
        one(con, "SELECT count(*) FROM users WHERE NOT regexp_full_match(account_id, 'a[0-9]+')")
        == 0
    )
    assert one(con, "SELECT count(*) FROM ground_truth") == USERS
    assert one(con, "SELECT count(*) FROM users ANTI JOIN ground_truth USING (user_id)") == 0


def test_user_attributes_are_plausible(con, demo):
    shares = dict(
        con.execute(
            "SELECT channel, count(*) / sum(count(*)) OVER () FROM users GROUP BY 1"
        ).fetchall()
    )
    assert set(shares) == {"ads", "organic", "referral", "social", "email"}
    assert shares["ads"] > shares["email"]
    assert 0 < one(con, "SELECT avg((gender IS NULL)::INT) FROM users") < 0.2
    assert 0 < one(con, "SELECT avg((age IS NULL)::INT) FROM users") < 0.2
    assert one(con, "SELECT min(age) FROM users") >= 18
    assert 0.05 < one(con, "SELECT avg(is_member::INT) FROM users") < 0.5
    first, last = con.execute("SELECT min(signup_date), max(signup_date) FROM users").fetchone()
    assert last <= demo.end and (demo.end - first).days > 700
    assert one(con, "SELECT count(*) FROM users WHERE signup_date >= ?", [demo.start]) > 0


# -- tags -------------------------------------------------------------------------------


def test_tags_only_from_signup_and_about_one_percent_missing(con, demo):
    assert (
        one(con, "SELECT count(*) FROM user_tags JOIN users USING (user_id) WHERE dt < signup_date")
        == 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM (SELECT user_id, dt FROM user_tags GROUP BY ALL HAVING count(*) > 1)",
        )
        == 0
    )
    expected = one(
        con,
        "SELECT sum(date_diff('day', greatest(signup_date, ?::DATE), ?::DATE) + 1) FROM users",
        [demo.start, demo.end],
    )
    missing = 1 - one(con, "SELECT count(*) FROM user_tags") / expected
    assert 0.003 < missing < 0.02


def test_cities_include_the_big_four_and_some_users_move(con):
    cities = {r[0] for r in con.execute("SELECT DISTINCT city FROM user_tags").fetchall()}
    assert {"Shenzhen", "Guangzhou", "Shanghai", "Beijing", None} <= cities
    assert 20 <= len(cities) <= 31
    movers = one(
        con,
        "SELECT count(*) FROM (SELECT user_id FROM user_tags GROUP BY 1 HAVING count(DISTINCT city) > 1)",
    )
    assert 0 < movers < 0.1 * USERS
    blacklisted = one(con, "SELECT avg(is_black_list::INT) FROM user_tags")
    assert 0.005 < blacklisted < 0.05


def test_trade_cnt_7d_counts_purchases_of_the_7_days_ending_dt(con):
    mismatches = con.execute(
        """
        WITH sample AS (
            SELECT * FROM user_tags WHERE hash(user_id, dt) % 5 = 0
        ), counted AS (
            SELECT s.user_id, s.dt, any_value(s.trade_cnt_7d) AS tag, count(e.ts) AS n
            FROM sample s LEFT JOIN events e
              ON e.user_id = s.user_id AND e.event = 'purchase'
             AND e.ts >= s.dt - INTERVAL 6 DAY AND e.ts < s.dt + INTERVAL 1 DAY
            GROUP BY ALL
        )
        SELECT count(*) FILTER (WHERE tag <> n), count(*), sum(n) FROM counted
        """
    ).fetchone()
    bad, checked, purchases = mismatches
    assert bad == 0 and checked > 1000 and purchases > 100


def test_total_spend_grows_by_each_days_purchases(con):
    bad, checked = con.execute(
        """
        WITH spend AS (
            SELECT user_id, ts::DATE AS dt, sum(amount) AS amount
            FROM events WHERE event = 'purchase' GROUP BY ALL
        ), pairs AS (
            SELECT t.user_id, t.total_spend - y.total_spend AS grew, coalesce(s.amount, 0) AS bought
            FROM user_tags t
            JOIN user_tags y ON y.user_id = t.user_id AND y.dt = t.dt - 1
            LEFT JOIN spend s ON s.user_id = t.user_id AND s.dt = t.dt
        )
        SELECT count(*) FILTER (WHERE abs(grew - bought) > 0.005), count(*) FROM pairs
        """
    ).fetchone()
    assert bad == 0 and checked > 10_000
    levels = con.execute(
        "SELECT member_level, min(total_spend), max(total_spend) FROM user_tags GROUP BY 1 ORDER BY 2"
    ).fetchall()
    assert [lvl for lvl, _, _ in levels] == ["bronze", "silver", "gold", "platinum"]
    assert all(hi < nxt for (_, _, hi), (_, nxt, _) in itertools.pairwise(levels))


def test_last_login_days_counts_days_since_the_last_event(con):
    bad, checked, nulls = con.execute(
        """
        WITH active AS (SELECT DISTINCT user_id, ts::DATE AS day FROM events),
        sample AS (SELECT * FROM user_tags WHERE hash(user_id, dt) % 7 = 0),
        expected AS (
            SELECT s.user_id, s.dt, any_value(s.last_login_days) AS tag,
                   date_diff('day', max(a.day), s.dt) AS want
            FROM sample s LEFT JOIN active a ON a.user_id = s.user_id AND a.day <= s.dt
            GROUP BY s.user_id, s.dt
        )
        SELECT count(*) FILTER (WHERE tag IS DISTINCT FROM want), count(*),
               count(*) FILTER (WHERE tag IS NULL)
        FROM expected
        """
    ).fetchone()
    assert bad == 0 and checked > 1000 and nulls > 0


# -- events -------------------------------------------------------------------------------


def test_events_only_on_or_after_signup(con):
    assert (
        one(
            con,
            "SELECT count(*) FROM events JOIN users USING (user_id) WHERE ts::DATE < signup_date",
        )
        == 0
    )
    # not before registering, even on the signup day
    assert (
        one(
            con,
            "SELECT count(*) FROM events e JOIN user_tags t ON t.user_id = e.user_id "
            "AND t.dt = e.ts::DATE WHERE e.ts < t.register_time",
        )
        == 0
    )


def test_event_funnel_and_fields(con):
    counts = dict(con.execute("SELECT event, count(*) FROM events GROUP BY 1").fetchall())
    assert set(counts) == {"login", "search", "view_product", "add_cart", "purchase", "refund"}
    assert counts["view_product"] > counts["add_cart"] > counts["purchase"] > counts["refund"] > 0
    assert counts["view_product"] > counts["login"]
    wrong = con.execute(
        """
        SELECT count(*) FILTER (WHERE (industry IS NULL) <> (event IN ('login', 'search'))),
               count(*) FILTER (WHERE (card_bin IS NULL) <> (event NOT IN ('purchase', 'refund'))),
               count(*) FILTER (WHERE (amount IS NULL) <> (event NOT IN ('purchase', 'refund'))),
               count(*) FILTER (WHERE amount <= 0 OR round(amount, 2) <> amount),
               count(*) FILTER (WHERE NOT regexp_full_match(card_bin, '[0-9]{6}'))
        FROM events
        """
    ).fetchone()
    assert wrong == (0, 0, 0, 0, 0)
    industries = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT industry FROM events WHERE industry IS NOT NULL"
        ).fetchall()
    }
    assert {"Food & Beverages", "Electronics", "Apparel", "Beauty", "Home"} <= industries
    assert len(industries) == 10


def test_many_users_buy_nothing_and_some_do_nothing(con, demo):
    since = demo.end - datetime.timedelta(days=29)
    buyers = one(
        con,
        "SELECT count(DISTINCT user_id) FROM events WHERE event = 'purchase' AND ts >= ?",
        [since],
    )
    assert 0.4 <= 1 - buyers / USERS <= 0.65
    silent = one(con, "SELECT count(*) FROM users ANTI JOIN events USING (user_id)")
    assert 0.02 * USERS < silent < 0.4 * USERS


# -- merchants -----------------------------------------------------------------------------


def test_merchants_and_their_snapshots(con, demo):
    assert one(con, "SELECT count(*) FROM merchants") == 50  # at least 50, else users // 100
    assert one(con, "SELECT count(DISTINCT merchant_id) FROM merchants") == 50
    assert (
        one(
            con,
            "SELECT count(*) FROM merchant_tags JOIN merchants USING (merchant_id) WHERE dt < opened_date",
        )
        == 0
    )
    bad = con.execute(
        "SELECT count(*) FILTER (WHERE gmv_7d < 0 OR (NOT is_active AND gmv_7d <> 0)), "
        "count(*) FILTER (WHERE rating NOT BETWEEN 1 AND 5) FROM merchant_tags"
    ).fetchone()
    assert bad == (0, 0)


# -- ground truth ----------------------------------------------------------------------------


def test_ground_truth_is_learnable_but_not_trivially(con):
    frame = con.execute(
        """
        SELECT g.propensity, g.will_purchase,
               count(e.ts) FILTER (WHERE e.event = 'purchase') AS purchases,
               count(e.ts) AS events
        FROM ground_truth g LEFT JOIN events e USING (user_id)
        GROUP BY ALL
        """
    ).df()
    assert frame.propensity.between(0, 1).all()
    rate = frame.will_purchase.mean()
    assert 0.1 < rate < 0.4
    y = frame.will_purchase.to_numpy()
    assert 0.7 < auc(frame.propensity.to_numpy(), y) < 0.95  # the best any model can do
    assert 0.65 < auc(frame.purchases.to_numpy(), y) < auc(frame.propensity.to_numpy(), y) + 0.02


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney ROC AUC with ties counted half."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    # average ranks of ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2
    ranks[order] = np.repeat(average, counts)
    pos = y.sum()
    neg = len(y) - pos
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


# -- the catalog ---------------------------------------------------------------------------------


def test_the_stored_catalog_is_the_demo_catalog(con):
    rows = con.execute("SELECT toml FROM segnb_catalog").fetchall()
    assert len(rows) == 1
    assert tomllib.loads(rows[0][0]) == demo_catalog() == tomllib.loads(DEMO_CATALOG)


def test_the_catalog_hides_the_ground_truth():
    assert "ground_truth" not in DEMO_CATALOG
    assert "propensity" not in DEMO_CATALOG and "will_purchase" not in DEMO_CATALOG
    spec = demo_catalog()
    assert set(spec["entities"]) == {"users", "merchants"}
    tables = {spec["entities"][e][k]["table"] for e in spec["entities"] for k in ("tags",)}
    assert tables == {"user_tags", "merchant_tags"}


def test_the_catalog_resolves_against_the_warehouse(demo):
    ibis = pytest.importorskip("ibis")
    from segnb.catalog.model import Catalog, stored_spec

    backend = ibis.duckdb.connect(str(demo.path), read_only=True)
    try:
        assert stored_spec(backend) == demo_catalog()
        catalog = Catalog.from_spec(demo_catalog(), backend)
        users = catalog.entity("users")
        assert users.table == "users" and users.id == "user_id"
        types = {name: users.tag(name).type for name in users.tag_names}
        assert types == {
            "city": "enum",
            "is_black_list": "boolean",
            "register_time": "datetime",
            "trade_cnt_7d": "number",
            "total_spend": "number",
            "member_level": "enum",
            "last_login_days": "number",
        }
        assert all(users.tag(name).description for name in users.tag_names)
        assert users.tag("trade_cnt_7d").label == "Purchases, last 7 days"
        assert catalog.event_names(users) == [
            "login",
            "search",
            "view_product",
            "add_cart",
            "purchase",
            "refund",
        ]
        (events,) = users.events
        assert set(events.fields) == {"industry", "card_bin", "amount"}
        assert set(events.labels) == set(catalog.event_names(users))
        merchants = catalog.entity("merchants")
        assert merchants.tag_names == ["gmv_7d", "rating", "is_active"]
        assert set(merchants.attributes) == {"name", "industry", "city", "opened_date"}
    finally:
        backend.disconnect()


# -- arguments and files ---------------------------------------------------------------------------


def test_an_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"precious")
    with pytest.raises(WarehouseError, match=r"w\.duckdb") as err:
        generate(path, users=10, days=1, end=END)
    assert "overwrite" in str(err.value)
    assert path.read_bytes() == b"precious"
    info = generate(path, users=10, days=1, end=END, overwrite=True)
    assert info.rows["users"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 0}, "users"),
        ({"users": -5}, "users"),
        ({"users": 10.5}, "users"),
        ({"users": True}, "users"),
        ({"days": 0}, "days"),
        ({"days": "7"}, "days"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 2**70}, "seed"),
        ({"end": "31/03/2025"}, "end"),
        ({"end": 20250331}, "end"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(DemoError, match=message) as err:
        generate(tmp_path / "w.duckdb", **kwargs)
    assert isinstance(err.value, SegnbError) and isinstance(err.value, ValueError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("seed", [-(2**63), 2**63 - 1])
def test_any_64_bit_seed_works(tmp_path, seed):
    info = generate(tmp_path / "w.duckdb", users=20, days=2, seed=seed, end=END)
    assert info.seed == seed and info.rows["users"] == 20


def test_a_missing_directory_is_a_warehouse_error(tmp_path):
    with pytest.raises(WarehouseError, match="does not exist"):
        generate(tmp_path / "nowhere" / "w.duckdb", users=10, days=1)


def test_defaults_end_yesterday_and_accept_iso_dates(tmp_path):
    info = generate(tmp_path / "w.duckdb", users=20, days=2)
    assert info.end == datetime.date.today() - datetime.timedelta(days=1)
    info = generate(tmp_path / "w.duckdb", users=20, days=2, end="2024-02-29", overwrite=True)
    assert info.end == datetime.date(2024, 2, 29) and info.start == datetime.date(2024, 2, 28)


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    generate(tmp_path / "w.duckdb", users=20, days=2, end=END, progress=True)
    captured = capsys.readouterr()
    assert "segnb demo" in captured.err and captured.out == ""
    generate(tmp_path / "w.duckdb", users=20, days=2, end=END, overwrite=True)
    assert capsys.readouterr().err == ""
