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
import os
import shutil
from pathlib import Path
from typing import Any

from segnb.errors import StoreError
from segnb.store import schema as layout
from segnb.store.backend import opened_read_only, warehouse_file
from segnb.store.cache import StoreCache, bump, file_stamp, generation
from segnb.store.data import ParquetTables, SchemaTables
from segnb.store.database import Database, quote, utcnow
from segnb.store.legacy import adopt, legacy_version
from segnb.store.records import SEGMENT_COLUMNS, VERSION_COLUMNS, SegmentRecord, VersionRecord
from segnb.store.schema import DEFAULT_SCHEMA, ID_TABLES, MIGRATIONS, SCHEMA_VERSION
from segnb.store.spark import SparkTables, metadata_database
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
    read_only
        Read the store, never change it.
    location
        On Spark: where the metadata lives, a DuckDB file or a ``postgres://``
        URL (:mod:`segnb.store.spark`); elsewhere it is the warehouse's.
    """

    def __init__(
        self,
        con: Any,
        catalog: Any,
        schema: str = DEFAULT_SCHEMA,
        *,
        keep_versions: int = 3,
        lock_wait: float = 30.0,
        read_only: bool = False,
        location: str | None = None,
    ) -> None:
        layout.check_schema_name(schema)
        if not isinstance(keep_versions, int) or keep_versions < 1:
            raise StoreError(f"keep_versions must be a whole number >= 1, not {keep_versions!r}")
        self.con = con
        self.catalog = catalog
        self.schema = schema
        self.keep_versions = keep_versions
        self.lock_wait = float(lock_wait)
        read_only = read_only or opened_read_only(con)
        self.read_only = read_only
        self.bitmaps: dict[tuple[int, int], Any] = {}  # (segment id, version) -> BitMap
        self.folder = None if _on_spark(con) else _folder(con, schema, read_only)
        if _on_spark(con):
            self.db = metadata_database(con, location, read_only=read_only, wait=lock_wait)
            self.data = SparkTables(self, schema)
        elif self.folder is not None:
            self.db = Database(
                con, store_file=str(self.folder / STORE_FILE), read_only=read_only, wait=lock_wait
            )
            self.data: SchemaTables = ParquetTables(self, self.folder / schema)
        else:
            self.db = Database(con)
            self.data = SchemaTables(self)
        # a store file (beside a DuckDB or Spark warehouse), or a DuckDB database of this process
        self._cache_key = (
            (self.db.store_file, schema) if self.db.store_file else _duckdb_key(con, schema)
        )
        self.cache = StoreCache(self._stamp)
        if self._cache_key is not None:
            self.db.on_write = self._bump
            self._bump()
        with self.db.session():
            layout.open_layout(self.db, schema)
            if self.folder is not None and not read_only:
                adopt(self)

    def __repr__(self) -> str:
        return f"<segnb.Store {self.db.dialect} schema={self.schema!r}>"

    @property
    def schema_version(self) -> int:
        """Layout version of the store's tables."""
        return layout.layout_version(self.db, self.schema)

    # -- names ------------------------------------------------------------------

    def t(self, name: str) -> str:
        """Qualified, quoted name of the store table ``segnb_<name>`` (or a given table)."""
        return layout.qualified(self.schema, name, self.db.catalog)

    def drop_table(self, table: str) -> None:
        """Drop a member, score or list table (:attr:`data`) if it exists."""
        self.data.drop(table)

    def ibis_table(self, table: str):
        """A lazy Ibis table of a member, score or list table (a missing one is a StoreError)."""
        return self.data.table(table)

    def meta_table(self, table: str):
        """An Ibis table of a table of the store's own database (a dense-id table).

        With a store file of its own it runs only inside :meth:`Database.session`.
        """
        database = (self.db.catalog, self.schema) if self.db.catalog else self.schema
        with self.db.session():
            return self.db.con.table(table, database=database)

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

        def one() -> dict[str, SegmentRecord]:
            rows = self.select("segments", {"name": name}, columns=SEGMENT_COLUMNS)
            return {name: SegmentRecord.from_row(rows[0])} if rows else {}

        return self.cache.get("segments", self._all_segments, one).get(name)

    def segment_row_by_id(self, segment_id: int) -> SegmentRecord | None:
        """The segment with id ``segment_id``, or None."""
        rows = self.select("segments", {"id": segment_id}, columns=SEGMENT_COLUMNS)
        return SegmentRecord.from_row(rows[0]) if rows else None

    def _bump(self) -> None:
        bump(self._cache_key)

    def _stamp(self) -> tuple | int | None:
        """What changes when the store changes (:mod:`segnb.store.cache`); None: read afresh.

        On PostgreSQL, and inside a transaction, rows are always read.
        """
        if self._cache_key is None or self.db.in_transaction:
            return None
        if self.db.store_file is None:  # the store is in a DuckDB file only this process writes
            return generation(self._cache_key)
        stamp = file_stamp(self.db.store_file)
        return None if stamp is None else (generation(self._cache_key), stamp)

    def _all_segments(self) -> dict[str, SegmentRecord]:
        rows = self.select("segments", columns=SEGMENT_COLUMNS, order="name")
        return {r.name: r for r in map(SegmentRecord.from_row, rows)}

    def segment_rows(self, names: list[str] | None = None) -> list[SegmentRecord]:
        """Every segment (by name), or those of ``names`` in one query.

        On DuckDB the records are kept until the store changes (a write of
        this process, or a commit of another to the store file: see
        :mod:`segnb.store.cache`). A row that cannot be decoded comes back
        marked ``broken``.
        """
        cached = self.cache.get("segments", self._all_segments, lambda: None)
        if cached is not None:
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

    def tables_in_use(self) -> set[str]:
        """Member, score and side tables of kept versions, and the uploads' list tables."""
        names: set[str] = set()
        for row in self.db.dicts(
            f"SELECT member_table, scores_table, extra FROM {self.t('versions')} WHERE NOT dropped"
        ):
            names.update(t for t in (row["member_table"], row["scores_table"]) if t)
            names.update(_json(row["extra"]).get("tables", []))
        for row in self.db.dicts(f"SELECT definition FROM {self.t('segments')}"):
            listed = _json(row["definition"]).get("list_table")
            if listed:
                names.add(listed)
        return names

    def remove_orphans(self) -> list[str]:
        """Remove data files no version or definition names (a killed write's); their names.

        Runs in a session: while this process holds the store, no other
        process is between writing a file and committing the version that names it.
        """
        with self.db.session():
            return self.data.orphans(self.tables_in_use())

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


#: the store's own DuckDB file, in the folder beside the warehouse
STORE_FILE = "store.duckdb"


def store_folder(warehouse: str) -> Path:
    """The folder of the store of a DuckDB warehouse file: ``warehouse.segnb`` beside it."""
    path = Path(warehouse)
    return path.with_name(f"{path.stem}.segnb")


def remove_store(warehouse: str | os.PathLike) -> bool:
    """Delete the store beside a DuckDB warehouse file (its segments go); whether there was one.

    For a warehouse that is replaced (``segnb demo --force``): its segments
    described the data that is gone.
    """
    folder = store_folder(os.fspath(warehouse))
    if not folder.is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def _folder(con: Any, schema: str, read_only: bool) -> Path | None:
    """The store folder of a DuckDB warehouse file (None: the store is in the warehouse).

    A read-only session on a warehouse whose store was never moved out of it
    (segnb before 0.2) reads the store where it is.
    """
    warehouse = warehouse_file(con)
    if warehouse is None:
        return None
    folder = store_folder(warehouse)
    if read_only and not (folder / STORE_FILE).exists():
        if legacy_version(con, schema):
            return None
        raise StoreError(
            f"there is no segment store beside {warehouse!r} yet ({folder / STORE_FILE} is "
            "missing), and this session is read-only; connect without read_only to create it"
        )
    folder.mkdir(exist_ok=True)
    return folder


def _on_spark(con: Any) -> bool:
    return getattr(con, "name", None) == "pyspark"


def _duckdb_key(con: Any, schema: str) -> tuple[str, str] | None:
    """What identifies a store kept in a DuckDB database of this process (in memory)."""
    if getattr(con, "name", None) != "duckdb":
        return None
    return (warehouse_file(con) or f"memory:{id(con.con)}", schema)


def _json(text: Any) -> dict[str, Any]:
    try:
        found = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _param(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value
