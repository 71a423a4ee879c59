"""Tags and events tables that declare ``entity_ids`` skip the entity join; others keep it.

Tables here hold ids that are not entities (a CRM feed, deleted users). Without
the declaration those ids stay out; with it, on tables that hold entity ids
only, the query starts from the tags or events table and gives the same ids.
Every result is checked against the pandas oracle on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import datetime
import uuid

import ibis
import numpy as np
import pandas as pd
import pytest
from oracle import Oracle

from segnb.catalog.layout import check_entity_ids
from segnb.catalog.model import Catalog
from segnb.compile.rules import compile_rule
from segnb.lang.parse import parse_rule as parse

AS_OF = datetime.date(2025, 3, 10)
RULES = [
    "count(purchase, T-6..T) >= 1",
    'city = "a" and count(purchase, T-6..T) >= 2',
    "change(level, T-2, T-1) > 0",
    "not vip",
    'city = "b" or count(purchase, T-6..T) >= 1',  # left joins: the entity table stays
    "count(purchase, T-6..T) = 0",
    'did(purchase, T-6..T) and channel = "ads"',  # an attribute: the entity table stays
    "did(view, T-6..T) and not did(purchase, T-6..T)",  # distinct ids, an anti join
    'did(purchase, T-2..T) and count(view, T-6..T) = 0 and city = "a"',
]


def _frames(seed: int = 3) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    users = pd.DataFrame({"uid": np.arange(1, 301), "channel": rng.choice(["ads", "seo"], 300)})
    ids = np.arange(1, 401)  # 301..400 are not users
    days = [AS_OF - datetime.timedelta(days=d) for d in (3, 2, 1)]
    tags = pd.DataFrame({
        "uid": np.tile(ids, 3), "dt": np.repeat(days, len(ids)),
        "city": rng.choice(["a", "b", "c"], 3 * len(ids)),
        "level": rng.integers(0, 5, 3 * len(ids)), "vip": rng.random(3 * len(ids)) < 0.3,
    })  # fmt: skip
    n = 3000
    events = pd.DataFrame({
        "uid": rng.choice(ids, n), "event": rng.choice(["purchase", "view"], n),
        "ts": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 10 * 86400, n), unit="s"),
    })  # fmt: skip
    tags["dt"] = pd.to_datetime(tags["dt"]).dt.date
    return {"users": users, "tags": tags, "events": events}


def _spec(names: dict[str, str], which: str, declared: bool) -> dict:
    return {"entities": {"users": {
        "table": names["users"], "id": "uid",
        "tags": {"table": names[f"tags_{which}"], "id": "uid", "date": "dt",
                 "entity_ids": declared},
        "events": {"table": names[f"events_{which}"], "id": "uid", "time": "ts",
                   "name": "event", "entity_ids": declared},
    }}}  # fmt: skip


@pytest.fixture()
def tables(backend, tmp_path):
    con = ibis.duckdb.connect(tmp_path / "ids.duckdb") if backend.name == "duckdb" else backend.con
    frames = _frames()
    tag = uuid.uuid4().hex[:8]
    names = {k: f"eid_{k}_{tag}" for k in ("users", "tags_all", "events_all", "tags_own",
                                              "events_own")}  # fmt: skip
    own = set(frames["users"]["uid"])
    tables = {
        "users": frames["users"],
        "tags_all": frames["tags"],
        "events_all": frames["events"],
        "tags_own": frames["tags"][frames["tags"]["uid"].isin(own)],
        "events_own": frames["events"][frames["events"]["uid"].isin(own)],
    }
    for key, frame in tables.items():
        con.create_table(names[key], frame)
    yield con, names, frames
    for name in names.values():
        con.drop_table(name, force=True)


def _oracle(frames, names, which: str, catalog: Catalog) -> Oracle:
    renamed = {
        names["users"]: frames["users"],
        names[f"tags_{which}"]: frames["tags"],
        names[f"events_{which}"]: frames["events"],
    }
    return Oracle(renamed, catalog)


@pytest.mark.parametrize("which, declared", [("all", False), ("own", True), ("own", False)])
def test_the_same_members_as_the_oracle(tables, which, declared):
    con, names, frames = tables
    catalog = Catalog.load(_spec(names, which, declared), con)
    oracle = _oracle(frames, names, which, catalog)
    for text in RULES:
        rule = parse(text, catalog)
        expr = compile_rule(rule, catalog, as_of=AS_OF)
        ids = expr.to_pyarrow().column(0).to_pylist()
        assert len(ids) == len(set(ids)), text
        assert set(ids) == oracle.members(rule, AS_OF), (text, which, declared)


def test_only_declared_tables_skip_the_entity_table(tables):
    con, names, _ = tables
    declared = Catalog.load(_spec(names, "own", True), con)
    plain = Catalog.load(_spec(names, "own", False), con)

    def reads_users(catalog, text):
        sql = ibis.to_sql(compile_rule(parse(text, catalog), catalog, as_of=AS_OF))
        return names["users"] in sql

    assert not reads_users(declared, RULES[0]) and not reads_users(declared, RULES[1])
    assert not reads_users(declared, RULES[2])
    assert reads_users(declared, RULES[4]) and reads_users(declared, RULES[6])
    assert all(reads_users(plain, text) for text in RULES)


def test_the_doctor_checks_each_declaration(tables):
    con, names, _ = tables
    wrong = check_entity_ids(Catalog.load(_spec(names, "all", True), con), con)
    assert [f.ok for f in wrong] == [False, False]
    tags = sorted(set(_frames()["tags"]["uid"]) - set(range(1, 301)))
    assert f"{len(tags)} ids" in wrong[0].measured and "entity_ids" in wrong[0].advice
    right = check_entity_ids(Catalog.load(_spec(names, "own", True), con), con)
    assert [f.ok for f in right] == [True, True]
    assert check_entity_ids(Catalog.load(_spec(names, "all", False), con), con) == []
