"""Shared fixtures: a schema-only catalog for parser tests; backends for engine tests."""

from __future__ import annotations

import ibis
import pytest

from segnb.engine.catalog import Catalog

SCHEMA_SQL = """
CREATE TABLE users(user_id BIGINT, device_id VARCHAR, account_id VARCHAR, channel VARCHAR,
                   is_member BOOLEAN, signup_date DATE, gender VARCHAR, age INTEGER);
CREATE TABLE user_tags(user_id BIGINT, dt DATE, city VARCHAR, is_black_list BOOLEAN,
                       register_time TIMESTAMP, trade_cnt_7d INTEGER, total_spend DOUBLE,
                       member_level VARCHAR, last_login_days INTEGER);
CREATE TABLE events(user_id BIGINT, ts TIMESTAMP, event VARCHAR, industry VARCHAR,
                    card_bin VARCHAR, amount DOUBLE);
CREATE TABLE merchants(merchant_id BIGINT, name VARCHAR, industry VARCHAR, city VARCHAR,
                       opened_date DATE);
CREATE TABLE merchant_tags(merchant_id BIGINT, dt DATE, gmv_7d DOUBLE, rating DOUBLE,
                           is_active BOOLEAN);
"""

EVENTS = ["login", "search", "view_product", "add_cart", "purchase", "refund"]

SCHEMA_CATALOG = {
    "entities": {
        "users": {
            "table": "users",
            "id": "user_id",
            "tags": {"table": "user_tags", "id": "user_id", "date": "dt"},
            "events": {
                "table": "events",
                "id": "user_id",
                "time": "ts",
                "name": "event",
                "names": EVENTS,
            },
        },
        "merchants": {
            "table": "merchants",
            "id": "merchant_id",
            "tags": {"table": "merchant_tags", "id": "merchant_id", "date": "dt"},
        },
    }
}


@pytest.fixture(scope="session")
def schema_con():
    """An in-memory DuckDB holding the demo's tables, empty."""
    con = ibis.duckdb.connect()
    for statement in SCHEMA_SQL.split(";"):
        if statement.strip():
            con.raw_sql(statement)
    return con


@pytest.fixture(scope="session")
def schema_catalog(schema_con):
    """A catalog over empty demo-shaped tables (event names declared): for parser tests."""
    return Catalog.load(SCHEMA_CATALOG, schema_con)
