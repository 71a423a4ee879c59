"""Does the warehouse's physical layout let a one-day scan read one day? (``segnb doctor``)

A rule on a tag's latest value reads one snapshot date; a window over events
reads a few days. Whether the engine then reads only those days depends on
how the rows are stored, not on the query:

* **DuckDB** keeps each row group's min and max per column (zone maps) and
  skips row groups whose date range misses the filter. Rows written in date
  order give row groups of one or two days; rows written by user give row
  groups that span every day, and then every scan reads the whole table.
  :func:`check_layout` counts, from ``pragma_storage_info``, the row groups
  a scan of the newest date (tags) or of the last seven days (events) must
  read.
* **PostgreSQL** reads the whole table unless an index or partitioning
  narrows it: the check looks for a partitioned table or an index led by
  the date column, and reads ``pg_stats.correlation`` (how closely the
  physical order follows the dates) to say which index fits.

Other engines are reported as not measured.

Examples
--------
>>> for finding in check_layout(catalog):                  # doctest: +SKIP
...     print(finding)
user_tags.dt (users tags): a latest-snapshot scan reads 47 of 47 row groups (100%) ...
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from segnb.catalog.model import Catalog

__all__ = ["LayoutFinding", "check_entity_ids", "check_layout", "sql_rows"]

#: the window of days an events check measures (the rules' common T-6..T)
EVENT_DAYS = 7
#: a scan that must read more than this share of a table's row groups is reported
MAX_SHARE = 0.5
_STATS = re.compile(r"\[Min: (.*?), Max: (.*?)\]")


@dataclass(frozen=True)
class LayoutFinding:
    """One table's layout, as measured, with what to do if it makes scans read every day.

    ``share`` is the measured share of the table a one-day (tags) or
    seven-day (events) scan reads, None where it could not be measured;
    ``ok`` is False when the layout makes such scans read most of the table.
    """

    entity: str
    kind: str  # "tags" or "events"
    table: str
    column: str
    ok: bool
    share: float | None
    measured: str
    advice: str = ""

    def __str__(self) -> str:
        head = f"{self.table}.{self.column} ({self.entity} {self.kind}): {self.measured}"
        return head + (f"\n  -> {self.advice}" if self.advice else "")


def check_layout(catalog: Catalog, con: Any = None) -> list[LayoutFinding]:
    """Measure, for every tags and events table of the catalog, how much a date scan reads.

    Parameters
    ----------
    catalog
        The resolved catalog.
    con
        The Ibis backend holding the tables (default: the catalog's).

    Returns
    -------
    list of LayoutFinding
        One per tags or events table, in catalog order.
    """
    con = con if con is not None else catalog.con
    engine = getattr(con, "name", "")
    measure = {"duckdb": _duckdb, "postgres": _postgres}.get(engine)
    findings = []
    for entity in catalog.entities.values():
        sources = [("tags", s, s.date) for s in entity.tags]
        sources += [("events", s, s.time) for s in entity.events]
        for kind, source, column in sources:
            if measure is None:
                findings.append(LayoutFinding(
                    entity.name, kind, source.table, column, True, None,
                    f"not measured on {engine or 'this engine'}",
                ))  # fmt: skip
                continue
            ok, share, measured, advice = measure(con, source.table, column, kind)
            findings.append(
                LayoutFinding(entity.name, kind, source.table, column, ok, share, measured, advice)
            )
    return findings


def check_entity_ids(catalog: Catalog, con: Any = None) -> list[LayoutFinding]:
    """Check each ``entity_ids = true`` declaration: are all the table's ids entities'?

    Rules skip the entity join on such tables, so an id that is no entity's
    would be counted. This reads every id once (seconds on millions of rows):
    it runs on demand, in ``segnb doctor``, not with every rule.

    Parameters
    ----------
    catalog
        The resolved catalog.
    con
        The Ibis backend holding the tables (default: the catalog's).
    """
    findings = []
    for entity in catalog.entities.values():
        ids = catalog.table(entity.table).select(_id=entity.id)
        for kind, source in [("tags", s) for s in entity.tags] + [
            ("events", s) for s in entity.events
        ]:
            if not source.entity_ids:
                continue
            table = catalog.table(source.table)
            own = table.select(_id=table[source.id]).distinct()
            foreign = int(own.anti_join(ids, "_id").count().execute())
            measured = (
                "every id is an entity's, as entity_ids = true declares"
                if not foreign
                else f"{foreign} ids are not {entity.name}' ids, though entity_ids = true"
            )
            advice = "" if not foreign else (
                f"rules on {source.table} count those ids as members: remove entity_ids = true "
                f"from its catalog section, or delete the rows whose {source.id} is not in "
                f"{entity.table}"
            )  # fmt: skip
            findings.append(LayoutFinding(
                entity.name, kind, source.table, source.id, not foreign, None, measured, advice
            ))  # fmt: skip
    return findings


def sql_rows(con: Any, sql: str) -> list[tuple]:
    """The rows of one SQL statement run on the backend's own connection, past Ibis."""
    if con.name == "pyspark":  # raw_sql hands back a DataFrame
        return [tuple(row) for row in con.raw_sql(sql).collect()]
    cursor = con.raw_sql(sql)
    try:
        return cursor.fetchall()
    finally:
        if con.name != "duckdb":  # DuckDB's raw_sql hands back the connection itself
            cursor.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


# -- DuckDB: row-group zone maps -------------------------------------------------------


def _as_time(text: str) -> datetime.datetime:
    text = text.strip()
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return datetime.datetime.fromisoformat(text[:19])


def _duckdb(con: Any, table: str, column: str, kind: str) -> tuple[bool, float | None, str, str]:
    try:
        stats = sql_rows(con, f"""
            SELECT row_group_id, any_value(count), stats FROM pragma_storage_info({_literal(table)})
            WHERE column_name = {_literal(column)} AND segment_type <> 'VALIDITY'
            GROUP BY row_group_id, stats""")  # fmt: skip
    except Exception as exc:  # a view, an attached file of another format, ...
        return True, None, f"not measured ({type(exc).__name__}: {exc})".splitlines()[0], ""
    groups: dict[int, list] = {}
    for group, count, text in stats:
        match = _STATS.search(text or "")
        if match is None:
            continue
        low, high = _as_time(match.group(1)), _as_time(match.group(2))
        entry = groups.setdefault(group, [low, high, count])
        entry[0], entry[1] = min(entry[0], low), max(entry[1], high)
    if len(groups) < 2:
        return True, None, f"{len(groups)} row group: too small to matter", ""
    newest = max(high for _, high, _ in groups.values())
    start = newest - datetime.timedelta(days=EVENT_DAYS) if kind == "events" else newest
    if kind == "tags":
        start = newest = newest.replace(hour=0, minute=0, second=0, microsecond=0)
    read = [g for g in groups.values() if g[0] <= newest and g[1] >= start]
    rows = sum(g[2] for g in groups.values())
    share = sum(g[2] for g in read) / rows
    span = max(g[1] for g in groups.values()) - min(g[0] for g in groups.values())
    days = max(1, span.days + 1)
    what = "a latest-snapshot scan" if kind == "tags" else f"a {EVENT_DAYS}-day window scan"
    measured = (
        f"{what} reads {len(read)} of {len(groups)} row groups ({share:.0%} of the rows); "
        f"the table spans {days} days"
    )
    wanted = (1 if kind == "tags" else EVENT_DAYS) / days
    ok = share <= max(MAX_SHARE, 3 * wanted)
    advice = "" if ok else (
        f"the rows are not stored in {column} order, so every date scan reads most of the "
        f"table; rewrite it ordered by date, e.g. CREATE TABLE {table}_by_day AS SELECT * FROM "
        f"{table} ORDER BY {column}, then swap the names (or write it partitioned by day)"
    )  # fmt: skip
    return ok, share, measured, advice


# -- PostgreSQL: indexes, partitioning and pg_stats.correlation ---------------------------


def _postgres(con: Any, table: str, column: str, kind: str) -> tuple[bool, float | None, str, str]:
    schema, _, name = table.rpartition(".")
    where_schema = f"n.nspname = {_literal(schema)}" if schema else "n.nspname = current_schema()"
    rel = sql_rows(con, f"""
        SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = {_literal(name)} AND {where_schema}""")  # fmt: skip
    if not rel:
        return True, None, "not measured (not a table of this database)", ""
    oid, relkind = rel[0]
    if relkind == "p":
        return True, None, "partitioned: a date scan reads the matching partitions only", ""
    indexes = sql_rows(con, f"""
        SELECT am.amname FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = {oid} AND a.attname = {_literal(column)}""")  # fmt: skip
    corr = sql_rows(
        con,
        f"""
        SELECT correlation FROM pg_stats WHERE tablename = {_literal(name)}
        AND attname = {_literal(column)} AND {where_schema.replace("n.nspname", "schemaname")}""",
    )
    correlation = corr[0][0] if corr and corr[0][0] is not None else None
    said = "no statistics (run ANALYZE)" if correlation is None else f"{correlation:+.2f}"
    kinds = sorted({row[0] for row in indexes})
    ordered = correlation is not None and abs(correlation) >= 0.9
    if "btree" in kinds or ("brin" in kinds and ordered):
        return True, None, f"index on {column} ({', '.join(kinds)}); correlation {said}", ""
    measured = (
        f"no index or partitioning on {column}: every date scan reads the whole table "
        f"(physical order vs {column}: correlation {said})"
    )
    if ordered:
        advice = (
            f"the rows are in date order: CREATE INDEX ON {_ident(table)} USING brin ({column})"
        )
    else:
        advice = (
            f"partition {table} by {column}, or CREATE INDEX ON {_ident(table)} ({column}) "
            f"(a BRIN index needs the rows in date order: CLUSTER or rewrite ordered by {column})"
        )
    return False, 1.0, measured, advice
