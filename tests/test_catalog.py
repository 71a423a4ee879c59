"""The catalog takes any table and column names, infers types, and says clearly what is wrong."""

from __future__ import annotations

import textwrap

import ibis
import pytest

import segnb
from segnb.catalog.model import Catalog, closest
from segnb.errors import CatalogError

WAREHOUSE_SQL = """
CREATE SCHEMA crm;
CREATE TABLE crm.customers(customer_id VARCHAR, signup_channel VARCHAR, vip BOOLEAN,
                           joined DATE, credit DOUBLE, tier_code INTEGER, tags VARCHAR[]);
CREATE TABLE customer_tags(customer_id VARCHAR, snap DATE, region VARCHAR, spend_30d DOUBLE,
                           churned BOOLEAN, last_seen TIMESTAMP);
CREATE TABLE orders(customer_id VARCHAR, placed_at TIMESTAMP, store VARCHAR, total DOUBLE);
CREATE TABLE clicks(cust VARCHAR, "at" TIMESTAMP, kind VARCHAR, page VARCHAR);
"""

CUSTOM = {
    "entities": {
        "customers": {
            "table": "crm.customers",
            "id": "customer_id",
            "types": {"tier_code": "enum"},
            "labels": {"vip": "VIP customer"},
            "descriptions": {"credit": "Store credit in EUR"},
            "tags": {
                "table": "customer_tags",
                "id": "customer_id",
                "date": "snap",
                "exclude": ["last_seen"],
            },
            "events": [
                {"table": "orders", "id": "customer_id", "time": "placed_at", "event": "order"},
                {
                    "table": "clicks",
                    "id": "cust",
                    "time": "at",
                    "name": "kind",
                    "event_labels": {"add": "Added to basket"},
                },
            ],
        }
    }
}


@pytest.fixture
def custom_con():
    con = ibis.duckdb.connect()
    for statement in WAREHOUSE_SQL.split(";"):
        if statement.strip():
            con.raw_sql(statement)
    con.raw_sql("INSERT INTO clicks VALUES ('a', now(), 'view', 'home'), ('b', now(), 'add', 'p1')")
    return con


def test_types_are_inferred_and_overridden(custom_con):
    catalog = Catalog.load(CUSTOM, custom_con)
    ent = catalog.entity()
    assert ent.name == "customers" and ent.id == "customer_id"
    types = {name: f.type for name, f in ent.attributes.items()}
    # arrays are not usable in rules and are left out; tier_code is declared an enum
    assert types == {
        "signup_channel": "enum",
        "vip": "boolean",
        "joined": "datetime",
        "credit": "number",
        "tier_code": "enum",
    }
    assert ent.attributes["vip"].label == "VIP customer"
    assert ent.attributes["credit"].description == "Store credit in EUR"
    assert ent.attributes["signup_channel"].label == "Signup channel"
    assert {n: ent.tag(n).type for n in ent.tag_names} == {
        "region": "enum",
        "spend_30d": "number",
        "churned": "boolean",
    }


def test_event_names_come_from_constants_and_data(custom_con):
    catalog = Catalog.load(CUSTOM, custom_con)
    ent = catalog.entity()
    assert catalog.event_names(ent) == ["order", "add", "view"]
    assert catalog.event_source(ent, "order").table == "orders"
    assert catalog.event_source(ent, "view").table == "clicks"
    assert catalog.event_source(ent, "nope") is None
    described = catalog.describe()
    row = described[(described.kind == "event") & (described.name == "add")].iloc[0]
    assert row.label == "Added to basket"


def test_enum_values_are_bounded_and_ordered_by_frequency(custom_con):
    custom_con.raw_sql(
        "INSERT INTO crm.customers SELECT 'c' || i, CASE WHEN i % 3 = 0 THEN 'web' ELSE 'app' END,"
        " false, DATE '2024-01-01', 1.0, i % 5, NULL FROM range(30) t(i)"
    )
    catalog = Catalog.load(CUSTOM, custom_con)
    values, more = catalog.values(None, "signup_channel")
    assert values == ["app", "web"] and not more
    values, more = catalog.values(None, "tier_code", limit=2)
    assert len(values) == 2 and more
    # a complete list is read once: the wizard's warnings ask again on every change
    custom_con.raw_sql("ALTER TABLE crm.customers RENAME TO customers_away")
    assert catalog.values(None, "signup_channel") == (["app", "web"], False)
    with pytest.raises(Exception, match="customers"):
        catalog.values(None, "tier_code", limit=50)  # more than it holds: read again


def test_toml_in_working_directory(custom_con, tmp_path, monkeypatch):
    (tmp_path / "segnb.toml").write_text(
        textwrap.dedent(
            """
            [entities.shoppers]
            table = "crm.customers"
            id = "customer_id"
            [entities.shoppers.events]
            table = "orders"
            id = "customer_id"
            time = "placed_at"
            event = "purchase"
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    ws = segnb.connect(custom_con)
    assert list(ws.catalog.entities) == ["shoppers"]
    assert ws.catalog.event_names() == ["purchase"]


def test_catalog_path_argument(custom_con, tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[entities.c]\ntable = "orders"\nid = "customer_id"\n')
    ws = segnb.connect(custom_con, catalog=path)
    assert ws.catalog.entity().table == "orders"


def _error(spec, con) -> str:
    with pytest.raises(CatalogError) as info:
        Catalog.load(spec, con)
    return str(info.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, "the catalog has no entities"),
        ({"entities": {"u": {"table": "custmers", "id": "x"}}}, "table 'custmers'"),
        (
            {"entities": {"u": {"table": "orders", "id": "customerid"}}},
            "did you mean 'customer_id'",
        ),
        ({"entities": {"u": {"table": "orders"}}}, 'needs id = "..."'),
        (
            {"entities": {"u": {"table": "orders", "id": "customer_id", "tabel": 1}}},
            "did you mean 'table'",
        ),
        (
            {
                "entities": {
                    "u": {"table": "orders", "id": "customer_id", "types": {"store": "text"}}
                }
            },
            "is not a tag type",
        ),
        (
            {
                "entities": {
                    "u": {"table": "orders", "id": "customer_id", "types": {"store": "number"}}
                }
            },
            "does not fit column type",
        ),
        (
            {
                "entities": {
                    "u": {
                        "table": "orders",
                        "id": "customer_id",
                        "events": {"table": "orders", "id": "customer_id", "time": "placed_at"},
                    }
                }
            },
            "needs either name",
        ),
        (
            {
                "entities": {
                    "u": {
                        "table": "orders",
                        "id": "customer_id",
                        "tags": {"table": "orders", "id": "customer_id", "date": "store"},
                    }
                }
            },
            "not a date",
        ),
    ],
)
def test_bad_catalogs_say_what_and_where(custom_con, spec, expected):
    assert expected in _error(spec, custom_con)


def test_unknown_target_object(custom_con):
    catalog = Catalog.load(CUSTOM, custom_con)
    with pytest.raises(CatalogError, match="did you mean 'customers'"):
        catalog.entity("customer")


def test_no_catalog_anywhere(custom_con, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CatalogError, match="no catalog"):
        segnb.connect(custom_con)


def test_closest():
    assert closest("cty", ["city", "channel"]) == "city"
    assert closest("CITY", ["city"]) == "city"
    assert closest("zzz", ["city"]) is None


def test_alternate_ids_are_id_columns_not_attributes(custom_con):
    spec = {"entities": {"c": {"table": "clicks", "id": "cust", "ids": ["page"]}}}
    ent = Catalog.load(spec, custom_con).entity()
    assert list(ent.id_columns) == ["cust", "page"]
    assert "page" not in ent.attributes
    bad = {"entities": {"c": {"table": "clicks", "id": "cust", "ids": ["pag"]}}}
    assert "did you mean 'page'" in _error(bad, custom_con)


def test_the_catalogs_own_tables_are_looked_up_once(custom_con):
    catalog = Catalog.load(CUSTOM, custom_con)
    ent = catalog.entity()
    assert catalog.table(ent.table) is catalog.table(ent.table)  # every live estimate asks
    custom_con.raw_sql("CREATE TABLE scratch AS SELECT 1 AS a")
    first = catalog.table("scratch")
    custom_con.raw_sql("CREATE OR REPLACE TABLE scratch AS SELECT 1 AS a, 2 AS b")
    assert first.columns == ("a",) and catalog.table("scratch").columns == ("a", "b")
