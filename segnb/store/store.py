"""The segment store: ``segnb_*`` tables in the warehouse, versioned and transactional.

Metadata (segments, membership versions, runs, groups, operation plans, the
deleted-records log) lives in tables of the connected warehouse under one
schema (``segnb`` by default), so a team sharing a warehouse shares its
segments. The layout and its migrations are in :mod:`segnb.store.schema`;
writing a membership version is in :mod:`segnb.store.versions`; the rows
come back as typed records (:mod:`segnb.store.records`).

The same SQL runs on DuckDB and PostgreSQL: plain types (TEXT, BIGINT,
BOOLEAN, DATE, TIMESTAMP, BYTEA) and ``?`` parameters, turned into ``%s``
for psycopg.

Examples
--------
>>> store = Store(con, catalog, schema="segnb")        # doctest: +SKIP
>>> store.segment_rows()[:1]                           # doctest: +SKIP
[SegmentRecord(id=1, name='vip', ...)]
"""

from __future__ import annotations

import json
from typing import Any

from segnb.errors import StoreError, first_line
from segnb.store import schema as layout
from segnb.store.database import Database, quote, utcnow
from segnb.store.records import SEGMENT_COLUMNS, VERSION_COLUMNS, SegmentRecord, VersionRecord
from segnb.store.schema import DEFAULT_SCHEMA, ID_TABLES, MIGRATIONS, SCHEMA_VERSION
from segnb.store.versions import NOTEBOOK_RUN_ENV, Versions, checkpoint

__all__ = [
    "MIGRATIONS",
    "NOTEBOOK_RUN_ENV",
    "SCHEMA_VERSION",
    "Database",
    "SegmentRecord",
    "Store",
    "VersionRecord",
    "checkpoint",
    "quote",
    "utcnow",
]


class Store(Versions):
    """The ``segnb_*`` tables of one schema of the connected warehouse.

    Parameters
    ----------
    con
        The Ibis backend (DuckDB or PostgreSQL) the workspace is connected to.
    catalog
        The workspace's catalog (entity tables and id columns).
    schema
        Schema holding the store's tables (created when missing).
    keep_versions
        Member tables kept per segment; older versions keep their size,
        times and bitmap (for ``verify``) but not their table.
    lock_wait
        Seconds a refresh waits for another session refreshing the same
        segment (PostgreSQL) before giving up with a clear error.
    """

    def __init__(
        self,
        con: Any,
        catalog: Any,
        schema: str = DEFAULT_SCHEMA,
        *,
        keep_versions: int = 3,
        lock_wait: float = 30.0,
    ) -> None:
        layout.check_schema_name(schema)
        if not isinstance(keep_versions, int) or keep_versions < 1:
            raise StoreError(f"keep_versions must be a whole number >= 1, not {keep_versions!r}")
        self.con = con
        self.catalog = catalog
        self.db = Database(con)
        self.bitmaps: dict[tuple[int, int], Any] = {}  # (segment id, version) -> BitMap
        self._cache_key = _duckdb_key(con, schema)
        self._cached: tuple[int, dict[str, SegmentRecord]] | None = None
        if self._cache_key is not None:
            self.db.on_write = self._bump
            self._bump()  # another process may have written while this one had the file closed
        self.schema = schema
        self.keep_versions = keep_versions
        self.lock_wait = float(lock_wait)
        layout.open_layout(self.db, schema)

    def __repr__(self) -> str:
        return f"<segnb.Store {self.db.dialect} schema={self.schema!r}>"

    @property
    def schema_version(self) -> int:
        """Layout version of the store's tables."""
        return layout.layout_version(self.db, self.schema)

    # -- names ------------------------------------------------------------------

    def t(self, name: str) -> str:
        """Qualified, quoted name of the store table ``segnb_<name>`` (or a given table)."""
        return layout.qualified(self.schema, name)

    def drop_table(self, table: str) -> None:
        """Drop a table of the store's schema if it exists.

        On PostgreSQL with CASCADE: the temporary views that scoring left in
        this session (:func:`segnb.models.to_ibis.score_table`) may read it.
        """
        cascade = " CASCADE" if self.db.dialect == "postgres" else ""
        self.db.execute(f"DROP TABLE IF EXISTS {self.t(table)}{cascade}")

    def ibis_table(self, table: str):
        """An Ibis table for a table of the store's schema (a missing one is a StoreError)."""
        try:
            return self.con.table(table, database=self.schema)
        except Exception as exc:  # the drivers' and Ibis's own "table not found"
            raise StoreError(
                f"the segment store has lost table {table!r} of schema {self.schema!r} "
                f"({first_line(exc)}); refresh the segment to write it again"
            ) from exc

    # -- generic rows ------------------------------------------------------------

    def next_id(self, table: str) -> int:
        """A fresh id for a row of ``table``, from its sequence.

        Distinct across sessions without retries; ids are never reused (a
        deleted segment's id neither).
        """
        if table not in ID_TABLES:
            raise StoreError(
                f"the store table {table!r} has no id sequence; ids come for {', '.join(ID_TABLES)}"
            )
        sequence = self.t(layout.sequence_name(table))
        return int(self.db.scalar(f"SELECT nextval({_literal(sequence)})"))

    def insert(self, table: str, values: dict[str, Any]) -> None:
        names = ", ".join(quote(k) for k in values)
        marks = ", ".join("?" for _ in values)
        self.db.execute(
            f"INSERT INTO {self.t(table)} ({names}) VALUES ({marks})",
            tuple(_param(v) for v in values.values()),
        )

    def update(self, table: str, where: dict[str, Any], values: dict[str, Any]) -> int:
        sets = ", ".join(f"{quote(k)} = ?" for k in values)
        cond = " AND ".join(f"{quote(k)} = ?" for k in where)
        params = tuple(_param(v) for v in values.values()) + tuple(where.values())
        self.db.execute(f"UPDATE {self.t(table)} SET {sets} WHERE {cond}", params)
        return 1

    def select(
        self,
        table: str,
        where: dict[str, Any] | None = None,
        *,
        columns: tuple[str, ...] | None = None,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        cols = ", ".join(quote(c) for c in columns) if columns else "*"
        sql = f"SELECT {cols} FROM {self.t(table)}"
        params: tuple = ()
        if where:
            sql += " WHERE " + " AND ".join(f"{quote(k)} = ?" for k in where)
            params = tuple(where.values())
        if order:
            sql += f" ORDER BY {order}"
        return self.db.dicts(sql, params)

    # -- segments ----------------------------------------------------------------

    def segment_row(self, name: str) -> SegmentRecord | None:
        """The segment named ``name``, or None."""
        rows = self.select("segments", {"name": name}, columns=SEGMENT_COLUMNS)
        return SegmentRecord.from_row(rows[0]) if rows else None

    def segment_row_by_id(self, segment_id: int) -> SegmentRecord | None:
        """The segment with id ``segment_id``, or None."""
        rows = self.select("segments", {"id": segment_id}, columns=SEGMENT_COLUMNS)
        return SegmentRecord.from_row(rows[0]) if rows else None

    def _bump(self) -> None:
        _GENERATIONS[self._cache_key] = _GENERATIONS.get(self._cache_key, 0) + 1

    def segment_rows(self, names: list[str] | None = None) -> list[SegmentRecord]:
        """Every segment (by name), or those of ``names`` in one query.

        On DuckDB the records are cached until any segnb write to the same
        file (only this process can write to a DuckDB file while it has it
        open). A row that cannot be decoded comes back marked ``broken``.
        """
        if self._cache_key is not None and not self.db.in_transaction:
            generation = _GENERATIONS.get(self._cache_key, 0)
            if self._cached is None or self._cached[0] != generation:
                rows = self.select("segments", columns=SEGMENT_COLUMNS, order="name")
                records = (SegmentRecord.from_row(r) for r in rows)
                self._cached = (generation, {r.name: r for r in records})
            cached = self._cached[1]
            wanted = cached if names is None else [n for n in names if n in cached]
            return [cached[n] for n in wanted]
        if names is None:
            rows = self.select("segments", columns=SEGMENT_COLUMNS, order="name")
        elif not names:
            return []
        else:
            cols = ", ".join(quote(c) for c in SEGMENT_COLUMNS)
            marks = ", ".join("?" for _ in names)
            rows = self.db.dicts(
                f"SELECT {cols} FROM {self.t('segments')} WHERE name IN ({marks})", tuple(names)
            )
        return [SegmentRecord.from_row(r) for r in rows]

    # -- versions ----------------------------------------------------------------

    def version_rows(self, segment_id: int) -> list[VersionRecord]:
        """Every version of a segment, oldest first."""
        rows = self.select(
            "versions", {"segment_id": segment_id}, columns=VERSION_COLUMNS, order="version"
        )
        return [VersionRecord.from_row(r) for r in rows]

    def version_row(self, segment_id: int, version: int) -> VersionRecord | None:
        """One version of a segment, or None."""
        rows = self.select(
            "versions", {"segment_id": segment_id, "version": version}, columns=VERSION_COLUMNS
        )
        return VersionRecord.from_row(rows[0]) if rows else None

    def bitmap_bytes(self, segment_id: int, version: int) -> bytes | None:
        value = self.db.scalar(
            f"SELECT bitmap FROM {self.t('versions')} WHERE segment_id = ? AND version = ?",
            (segment_id, version),
        )
        return bytes(value) if value is not None else None


#: DuckDB file + schema -> count of segnb writes in this process. A DuckDB file
#: open for writing has no other writer process, so this counter is enough to
#: know whether cached metadata is still current.
_GENERATIONS: dict[tuple[str, str], int] = {}


def _duckdb_key(con: Any, schema: str) -> tuple[str, str] | None:
    if getattr(con, "name", None) != "duckdb":
        return None
    try:
        rows = con.con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchall()
    except Exception:
        return None
    path = rows[0][0] if rows and rows[0][0] else f"memory:{id(con.con)}"
    return (str(path), schema)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _param(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value
