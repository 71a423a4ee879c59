"""Resolving a catalog against the warehouse: table and column lookups, column types.

Every table a spec names is looked up (schema-qualified names too) and every
column checked to exist, with "did you mean" for near misses; each usable
column's tag type (enum, boolean, datetime, number) is inferred from its
database type or checked against the type the spec declares. The catalog's
reads of the data (event names, the most frequent values) are here too.

Examples
--------
>>> import ibis.expr.datatypes as dt
>>> infer_type(dt.string), infer_type(dt.float64), infer_type(dt.Array(dt.string))
('enum', 'number', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from segnb.catalog.spec import TYPES
from segnb.errors import CatalogError
from segnb.hints import did_you_mean

__all__ = [
    "Tables",
    "check_time_column",
    "column_type",
    "column_types",
    "distinct_values",
    "fits",
    "frequent_values",
    "infer_type",
]


class Tables:
    """Tables of one connection by (possibly schema-qualified) name.

    Parameters
    ----------
    con
        A connected Ibis backend.

    Examples
    --------
    >>> Tables(con).table("crm.customers")        # doctest: +SKIP
    """

    def __init__(self, con: Any) -> None:
        self.con = con

    def table(self, name: str, where: str = "") -> ibis.Table:
        """The Ibis table ``name`` (``table``, ``schema.table`` or ``db.schema.table``).

        Parameters
        ----------
        name
            The table's name as the catalog writes it.
        where
            The catalog section naming it, for the error when it is missing.
        """
        parts = name.split(".")
        database: Any = None
        if len(parts) == 2:
            database = parts[0]
        elif len(parts) >= 3:
            database = (".".join(parts[:-2]), parts[-2])
        try:
            table = self.con.table(parts[-1], database=database)
        except Exception as exc:
            try:
                known = (
                    self.con.list_tables(database=database) if database else self.con.list_tables()
                )
            except Exception:
                known = []
            place = f" ({where})" if where else ""
            raise CatalogError(
                f"table {name!r}{place} is not in the warehouse{did_you_mean(parts[-1], known)}"
            ) from exc
        return instants(self.con, table, name) if self.con.name == "pyspark" else table


def instants(con: Any, table: ibis.Table, name: str) -> ibis.Table:
    """A Spark table whose ``TIMESTAMP`` columns are typed as the instants they are.

    Spark's ``TIMESTAMP`` is a moment (shown in the session's zone, UTC under
    Ibis), but Ibis reads it as a wall-clock time; typed ``timestamp('UTC')``,
    rules cut its days in the segment's zone, as for DuckDB's ``TIMESTAMPTZ``.
    ``TIMESTAMP_NTZ`` stays a wall-clock time.
    """
    from pyspark.sql.types import TimestampType

    fields = con._session.table(name).schema.fields
    moments = [f.name for f in fields if type(f.dataType) is TimestampType]
    if not moments:
        return table
    utc = dt.Timestamp(timezone="UTC")
    return table.mutate(**{c: table[c].cast(utc) for c in moments})


# -- columns and their types ---------------------------------------------------------


def column_type(schema: Any, name: str, table: str, where: str) -> dt.DataType:
    """The database type of column ``name``; an error naming the table when it has none.

    Parameters
    ----------
    schema
        The table's Ibis schema.
    name, table, where
        The column, the table, and the catalog section, for the error.
    """
    if name not in schema:
        raise CatalogError(
            f"{where}: table {table!r} has no column {name!r}{did_you_mean(name, schema.names)}"
        )
    return schema[name]


def check_time_column(
    schema: Any, name: str, table: str, where: str, what: str, noun: str
) -> dt.DataType:
    """The type of a date or timestamp column; an error when it is neither.

    Parameters
    ----------
    schema, name, table, where
        As for :func:`column_type`.
    what, noun
        What the column is for and what it should hold, as the error says them
        (``"snapshot column"``, ``"a date"``).
    """
    dtype = column_type(schema, name, table, where)
    if not (dtype.is_date() or dtype.is_timestamp()):
        raise CatalogError(f"{where}: {what} {name!r} is {dtype}, not {noun}")
    return dtype


def infer_type(dtype: dt.DataType) -> str | None:
    """The tag type of a database type; None for types rules cannot use (arrays, structs).

    Parameters
    ----------
    dtype
        The column's Ibis type.
    """
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal() and (dtype.is_date() or dtype.is_timestamp()):
        return "datetime"
    if dtype.is_string():
        return "enum"
    return None


def fits(kind: str, dtype: dt.DataType) -> bool:
    """Whether a column of ``dtype`` can be declared a tag of type ``kind``.

    Parameters
    ----------
    kind
        One of :data:`~segnb.catalog.spec.TYPES`.
    dtype
        The column's Ibis type.
    """
    if kind == "enum":
        return dtype.is_string() or dtype.is_integer() or dtype.is_boolean()
    if kind == "number":
        return dtype.is_numeric()
    if kind == "boolean":
        return dtype.is_boolean()
    return dtype.is_date() or dtype.is_timestamp()


def column_types(
    schema: Any, skip: set[str], body: Mapping[str, Any], table: str, where: str
) -> dict[str, tuple[str, dt.DataType]]:
    """Every usable column of a table with its tag type and database type.

    Parameters
    ----------
    schema
        The table's Ibis schema.
    skip
        Columns that are not fields (ids, the snapshot date, the event time, the event name).
    body
        The catalog section: its ``types``, ``labels``, ``descriptions`` and ``exclude``.
    table, where
        The table and the catalog section, for errors.

    Returns
    -------
    dict
        Column name -> ``(type, dtype)``, in the table's column order.
    """
    types = body.get("types", {}) or {}
    exclude = set(body.get("exclude", []) or [])
    for key in ("types", "labels", "descriptions"):
        mapping = body.get(key, {}) or {}
        if not isinstance(mapping, Mapping):
            raise CatalogError(f"{where}.{key} must map column names to values")
        for column in mapping:
            if column not in schema:
                raise CatalogError(
                    f"{where}.{key}: table {table!r} has no column {column!r}"
                    f"{did_you_mean(column, schema.names)}"
                )
    out: dict[str, tuple[str, dt.DataType]] = {}
    for name, dtype in schema.items():
        if name in skip or name in exclude:
            continue
        kind = types.get(name)
        if kind is None:
            kind = infer_type(dtype)
            if kind is None:
                continue  # arrays, structs, …: not usable in rules
        elif kind not in TYPES:
            raise CatalogError(
                f"{where}.types.{name} = {kind!r} is not a tag type; use one of {', '.join(TYPES)}"
            )
        elif not fits(kind, dtype):
            raise CatalogError(
                f"{where}.types.{name} = {kind!r} does not fit column type {dtype} of {table!r}"
            )
        out[name] = (kind, dtype)
    return out


# -- reading the data ----------------------------------------------------------------


def distinct_values(table: ibis.Table, column: str, limit: int) -> list[Any]:
    """The distinct values of a column that are not null, sorted, at most ``limit``.

    Parameters
    ----------
    table
        The Ibis table.
    column
        The column to read.
    limit
        How many values at most.
    """
    col = table[column]
    rows = table.filter(col.notnull()).select(col.name("event")).distinct()
    rows = rows.order_by("event").limit(limit)
    return rows.to_pyarrow().column("event").to_pylist()


def frequent_values(table: ibis.Table, column: str, limit: int) -> list[Any]:
    """The values of a column that are not null, most frequent first, at most ``limit``.

    Parameters
    ----------
    table
        The Ibis table.
    column
        The column to read.
    limit
        How many values at most.
    """
    col = table[column]
    counts = (
        table.filter(col.notnull())
        .group_by(col.name("value"))
        .aggregate(n=ibis._.count())
        .order_by([ibis.desc("n"), "value"])
        .limit(limit)
    )
    return counts.to_pyarrow().column("value").to_pylist()
