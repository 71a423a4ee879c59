"""The segment store: ``segnb_*`` tables in the warehouse, versioned and transactional.

Metadata (segments, membership versions, runs, groups, operation plans, the
deleted-records log) lives in tables of the connected warehouse under one
schema (``segnb`` by default), so a team sharing a warehouse shares its
segments. The layout has a version of its own (``segnb_schema``); opening a
store applies the migrations it lacks and refuses one written by a newer segnb.

Membership is written by the engine: each version is a table
``segnb_m_<segment>_<version>`` made by ``CREATE TABLE … AS SELECT`` from the
compiled query, holding the entity id and its dense integer
(:mod:`segnb.store.bitmaps`). A version becomes current by updating one
metadata row in the same transaction that wrote it; readers keep the previous
version until then, and a failed or killed refresh leaves nothing behind.

The same SQL runs on DuckDB and PostgreSQL: plain types (TEXT, BIGINT,
BOOLEAN, DATE, TIMESTAMP, BYTEA) and ``?`` parameters, turned into ``%s``
for psycopg.

Examples
--------
>>> store = Store(ws, schema="segnb")                  # doctest: +SKIP
>>> store.rows("segments")[:1]                        # doctest: +SKIP
[{'id': 1, 'name': 'vip', ...}]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
from collections.abc import Callable
from importlib import metadata
from typing import Any

from segnb.errors import SegmentBusyError, SegnbError, StoreError, WarehouseError
from segnb.store.bitmaps import (
    bitmap_of_table,
    ensure_dense_ids,
    extend_dense_ids,
    member_select,
)
from segnb.store.database import Database, first_line, quote, utcnow

__all__ = ["NOTEBOOK_RUN_ENV", "SCHEMA_VERSION", "Database", "Store", "quote", "utcnow"]

SCHEMA_VERSION = 3
DEFAULT_SCHEMA = "segnb"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


#: checkpoints a test may replace to stop a refresh at a known spot
def checkpoint(stage: str) -> None:
    """Called at fixed stages of a write ("members_written"); a no-op unless patched."""


# -- the layout ----------------------------------------------------------------

#: schema version -> statements that bring the previous version to it;
#: ``{t:name}`` is replaced by the qualified table name
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE IF NOT EXISTS {t:groups} (
            name TEXT PRIMARY KEY, description TEXT, owner TEXT, created_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS {t:segments} (
            id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, group_name TEXT NOT NULL,
            description TEXT, entity TEXT NOT NULL, method TEXT NOT NULL, definition TEXT,
            refresh TEXT NOT NULL, scenario TEXT, timezone TEXT, expires_at DATE,
            time_sensitive BOOLEAN NOT NULL, email TEXT, scope TEXT NOT NULL,
            shared_with TEXT, owner TEXT, status TEXT NOT NULL, error TEXT,
            current_version INTEGER, created_at TIMESTAMP, updated_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS {t:versions} (
            segment_id BIGINT NOT NULL, version INTEGER NOT NULL, as_of DATE,
            started_at TIMESTAMP, finished_at TIMESTAMP, size BIGINT,
            member_table TEXT, bitmap BYTEA, scores_table TEXT, extra TEXT,
            dropped BOOLEAN NOT NULL, PRIMARY KEY (segment_id, version))""",
        """CREATE TABLE IF NOT EXISTS {t:runs} (
            id BIGINT PRIMARY KEY, segment_id BIGINT, segment TEXT, kind TEXT, as_of DATE,
            started_at TIMESTAMP, finished_at TIMESTAMP, status TEXT, version INTEGER,
            error TEXT, host TEXT, pid BIGINT)""",
        """CREATE TABLE IF NOT EXISTS {t:plans} (
            id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, segment_id BIGINT NOT NULL,
            segment TEXT NOT NULL, channel TEXT NOT NULL, starts DATE, ends DATE,
            status TEXT NOT NULL, owner TEXT, created_at TIMESTAMP, finished_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS {t:deleted} (
            segment_id BIGINT, name TEXT, group_name TEXT, entity TEXT, method TEXT,
            definition TEXT, owner TEXT, last_size BIGINT, last_version INTEGER,
            created_at TIMESTAMP, deleted_at TIMESTAMP, deleted_by TEXT)""",
        """CREATE TABLE IF NOT EXISTS {t:ids} (
            entity TEXT PRIMARY KEY, id_table TEXT NOT NULL, next_dense BIGINT NOT NULL)""",
    ],
    # scheduled work (segnb.refresh): notebook runs, the notebook run a segment run
    # belongs to, and the log of notification e-mails (also what keeps warnings unique)
    2: [
        "ALTER TABLE {t:runs} ADD COLUMN IF NOT EXISTS notebook_run BIGINT",
        """CREATE TABLE IF NOT EXISTS {t:notebook_runs} (
            id BIGINT PRIMARY KEY, notebook TEXT, output TEXT, parameters TEXT, as_of DATE,
            started_at TIMESTAMP, finished_at TIMESTAMP, status TEXT, error TEXT,
            failed_cell INTEGER, failed_source TEXT, host TEXT, pid BIGINT)""",
        """CREATE TABLE IF NOT EXISTS {t:notices} (
            id BIGINT PRIMARY KEY, segment_id BIGINT, segment TEXT, kind TEXT, key TEXT,
            recipient TEXT, subject TEXT, sent_at TIMESTAMP, status TEXT, error TEXT)""",
    ],
    # lookalike and AI prediction segments (segnb.segments.methods): the trained model
    # (joblib bytes) and its held-out evaluation, keyed by the version that trained it
    3: [
        """CREATE TABLE IF NOT EXISTS {t:models} (
            segment_id BIGINT NOT NULL, version INTEGER NOT NULL, kind TEXT, method TEXT,
            sklearn_version TEXT, trained_as_of DATE, created_at TIMESTAMP, model BYTEA,
            evaluation TEXT, PRIMARY KEY (segment_id, version))""",
    ],
}

#: environment variable naming the notebook run (``segnb run``) a kernel works for;
#: segment runs written by that kernel record it, so the run knows what it touched
NOTEBOOK_RUN_ENV = "SEGNB_NOTEBOOK_RUN"

SEGMENT_COLUMNS = (
    "id", "name", "group_name", "description", "entity", "method", "definition", "refresh",
    "scenario", "timezone", "expires_at", "time_sensitive", "email", "scope", "shared_with",
    "owner", "status", "error", "current_version", "created_at", "updated_at",
)  # fmt: skip
VERSION_COLUMNS = (
    "segment_id", "version", "as_of", "started_at", "finished_at", "size", "member_table",
    "scores_table", "extra", "dropped",
)  # fmt: skip


class Store:
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
        if not isinstance(schema, str) or not _IDENT.match(schema):
            raise StoreError(
                f"store schema {schema!r} is not a plain name; use letters, digits and _ "
                "(e.g. 'segnb' or 'segnb_team')"
            )
        if not isinstance(keep_versions, int) or keep_versions < 1:
            raise StoreError(f"keep_versions must be a whole number >= 1, not {keep_versions!r}")
        self.con = con
        self.catalog = catalog
        self.db = Database(con)
        self.bitmaps: dict[tuple[int, int], Any] = {}  # (segment id, version) -> BitMap
        self._cache_key = _duckdb_key(con, schema)
        self._cached: tuple[int, dict[str, dict[str, Any]]] | None = None
        if self._cache_key is not None:
            self.db.on_write = self._bump
            self._bump()  # another process may have written while this one had the file closed
        self.schema = schema
        self.keep_versions = keep_versions
        self.lock_wait = float(lock_wait)
        self._open()

    def __repr__(self) -> str:
        return f"<segnb.Store {self.db.dialect} schema={self.schema!r}>"

    # -- names ------------------------------------------------------------------

    def t(self, name: str) -> str:
        """Qualified, quoted name of the store table ``segnb_<name>`` (or a given table)."""
        table = name if name.startswith("segnb_") else f"segnb_{name}"
        return f"{quote(self.schema)}.{quote(table)}"

    def drop_table(self, table: str) -> None:
        """Drop a table of the store's schema if it exists.

        On PostgreSQL with CASCADE: the temporary views that scoring left in
        this session (:func:`segnb.models.to_ibis.score_table`) may read it.
        """
        cascade = " CASCADE" if self.db.dialect == "postgres" else ""
        self.db.execute(f"DROP TABLE IF EXISTS {self.t(table)}{cascade}")

    def ibis_table(self, table: str):
        """An Ibis table for a table of the store's schema."""
        return self.con.table(table, database=self.schema)

    # -- opening and migrating -------------------------------------------------

    def _open(self) -> None:
        exists = self._has_table("segnb_schema")
        version = self._schema_version() if exists else 0
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the segment store in schema {self.schema!r} has layout version {version}, "
                f"newer than this segnb understands ({SCHEMA_VERSION}); upgrade segnb "
                "(pip install -U segnb) or use another schema"
            )
        try:
            self._migrate()
        except WarehouseError as exc:
            if "read-only" in str(exc).lower() or "read only" in str(exc).lower():
                raise StoreError(
                    f"the warehouse is open read-only, and the segment store (schema "
                    f"{self.schema!r}) does not exist yet; connect without read_only to save "
                    "segments"
                ) from exc
            raise

    def _migrate(self) -> None:
        db = self.db
        with db.transaction():
            if db.dialect == "postgres":
                db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"segnb:{self.schema}",))
            db.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t('schema')} "
                "(version INTEGER NOT NULL, applied_at TIMESTAMP, segnb_version TEXT)"
            )
            version = self._schema_version()
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    db.execute(re.sub(r"\{t:(\w+)\}", lambda m: self.t(m.group(1)), statement))
                db.execute(
                    f"INSERT INTO {self.t('schema')} VALUES (?, ?, ?)",
                    (target, utcnow(), _segnb_version()),
                )

    def _has_table(self, table: str) -> bool:
        rows = self.db.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (self.schema, table),
        )
        return bool(rows)

    def _schema_version(self) -> int:
        return int(self.db.scalar(f"SELECT coalesce(max(version), 0) FROM {self.t('schema')}"))

    @property
    def schema_version(self) -> int:
        """Layout version of the store's tables."""
        return self._schema_version()

    # -- generic rows ------------------------------------------------------------

    def next_id(self, table: str) -> int:
        """A fresh id; segment ids are never reused (deleted ones count too)."""
        sql = f"SELECT coalesce(max(id), 0) FROM {self.t(table)}"
        top = int(self.db.scalar(sql))
        if table == "segments":
            gone = self.db.scalar(f"SELECT coalesce(max(segment_id), 0) FROM {self.t('deleted')}")
            top = max(top, int(gone))
        return top + 1

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

    def segment_row(self, name: str) -> dict[str, Any] | None:
        rows = self.select("segments", {"name": name}, columns=SEGMENT_COLUMNS)
        return _decode_row(rows[0]) if rows else None

    def segment_row_by_id(self, segment_id: int) -> dict[str, Any] | None:
        rows = self.select("segments", {"id": segment_id}, columns=SEGMENT_COLUMNS)
        return _decode_row(rows[0]) if rows else None

    def _bump(self) -> None:
        _GENERATIONS[self._cache_key] = _GENERATIONS.get(self._cache_key, 0) + 1

    def segment_rows(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        """Every segment row (by name), or those of ``names`` in one query.

        On DuckDB the rows are cached until any segnb write to the same file
        (only this process can write to a DuckDB file while it has it open).
        """
        if self._cache_key is not None and not self.db.in_transaction:
            generation = _GENERATIONS.get(self._cache_key, 0)
            if self._cached is None or self._cached[0] != generation:
                rows = self.select("segments", columns=SEGMENT_COLUMNS, order="name")
                self._cached = (generation, {r["name"]: _decode_row(r) for r in rows})
            cached = self._cached[1]
            wanted = cached if names is None else [n for n in names if n in cached]
            return [dict(cached[n], shared_with=list(cached[n]["shared_with"])) for n in wanted]
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
        return [_decode_row(r) for r in rows]

    def version_rows(self, segment_id: int) -> list[dict[str, Any]]:
        return self.select(
            "versions", {"segment_id": segment_id}, columns=VERSION_COLUMNS, order="version"
        )

    def version_row(self, segment_id: int, version: int) -> dict[str, Any] | None:
        rows = self.select(
            "versions", {"segment_id": segment_id, "version": version}, columns=VERSION_COLUMNS
        )
        return rows[0] if rows else None

    def bitmap_bytes(self, segment_id: int, version: int) -> bytes | None:
        value = self.db.scalar(
            f"SELECT bitmap FROM {self.t('versions')} WHERE segment_id = ? AND version = ?",
            (segment_id, version),
        )
        return bytes(value) if value is not None else None

    # -- writing a version -------------------------------------------------------

    def lock_segment(self, segment_id: int, name: str) -> None:
        """Hold the segment's row until the transaction ends (PostgreSQL; DuckDB has one writer)."""
        if self.db.dialect != "postgres":
            return
        self.db.execute(f"SET LOCAL lock_timeout = '{int(self.lock_wait * 1000)}ms'")
        try:
            self.db.execute(
                f"SELECT id FROM {self.t('segments')} WHERE id = ? FOR UPDATE", (segment_id,)
            )
        except StoreError as exc:
            raise SegmentBusyError(
                f"segment {name!r} is being written by another session; waited "
                f"{self.lock_wait:g}s. Try again when it has finished (seg.history() shows "
                "the versions; nothing was changed)"
            ) from exc
        self.db.execute("SET LOCAL lock_timeout = 0")

    def start_run(self, row: dict[str, Any], kind: str, as_of: dt.date | None) -> int:
        """Record a run as running (committed at once, so other sessions see it)."""
        for _ in range(5):
            run_id = self.next_id("runs")
            try:
                self.insert(
                    "runs",
                    {
                        "id": run_id, "segment_id": row["id"], "segment": row["name"],
                        "kind": kind, "as_of": as_of, "started_at": utcnow(),
                        "status": "running", "host": socket.gethostname(), "pid": os.getpid(),
                        "notebook_run": _notebook_run(),
                    },
                )  # fmt: skip
                return run_id
            except WarehouseError:
                continue  # two sessions took the same id; take the next one
        raise StoreError("could not record the run in the segment store; try again")

    def write_version(
        self,
        row: dict[str, Any],
        build: Callable[[], Any],
        *,
        as_of: dt.date | None,
        kind: str,
        extra: Callable[[int, str], dict[str, Any]] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Materialise a new membership version of ``row`` and make it current.

        ``build()`` returns the Ibis table of member ids (one column named as
        the entity id); it runs inside the transaction, so it sees the store
        as of the start of the write. ``extra(version, member_table)`` may
        write side tables (an upload's unmatched ids) in the same transaction
        and returns JSON-ready details kept with the version. ``changes``
        (e.g. a new definition) update the segment row in the same transaction.
        On failure the segment's status becomes ``failed`` with the error,
        and the current version is unchanged.
        """
        entity = row["entity"]
        run_id = self.start_run(row, kind, as_of)
        started = utcnow()
        try:
            ids_table = ensure_dense_ids(self, entity)
            with self.db.transaction():
                self.lock_segment(row["id"], row["name"])
                fresh = self.segment_row_by_id(row["id"])
                if fresh is None:
                    raise StoreError(f"segment {row['name']!r} was deleted by another session")
                self.db.execute(
                    f"UPDATE {self.t('runs')} SET status = 'interrupted', finished_at = ? "
                    "WHERE segment_id = ? AND status = 'running' AND id < ?",
                    (utcnow(), row["id"], run_id),
                )
                version = int(
                    self.db.scalar(
                        f"SELECT coalesce(max(version), 0) + 1 FROM {self.t('versions')} "
                        "WHERE segment_id = ?",
                        (row["id"],),
                    )
                )
                table = f"segnb_m_{row['id']}_{version}"
                query = member_select(self, build(), entity, ids_table)
                self.drop_table(table)
                self.db.execute(f"CREATE TABLE {self.t(table)} AS {query}")
                if self.db.scalar(f"SELECT count(*) FROM {self.t(table)} WHERE dense IS NULL"):
                    extend_dense_ids(self, entity, table)
                checkpoint("members_written")
                size = int(self.db.scalar(f"SELECT count(*) FROM {self.t(table)}"))
                bitmap = bitmap_of_table(self, table)
                details = extra(version, table) if extra is not None else {}
                finished = utcnow()
                self.insert(
                    "versions",
                    {
                        "segment_id": row["id"], "version": version, "as_of": as_of,
                        "started_at": started, "finished_at": finished, "size": size,
                        "member_table": table, "bitmap": bitmap,
                        "scores_table": details.pop("scores_table", None),
                        "extra": json.dumps(details, default=str), "dropped": False,
                    },
                )  # fmt: skip
                self.update(
                    "segments",
                    {"id": row["id"]},
                    {"current_version": version, "status": "active", "error": None,
                     "updated_at": finished, **(changes or {})},
                )  # fmt: skip
                self.update(
                    "runs",
                    {"id": run_id},
                    {"status": "succeeded", "finished_at": finished, "version": version},
                )
                checkpoint("before_commit")
        except BaseException as exc:
            self._record_failure(row, run_id, exc)
            raise
        self._drop_old_versions(row["id"])
        return self.version_row(row["id"], version)

    def _record_failure(self, row: dict[str, Any], run_id: int, exc: BaseException) -> None:
        message = first_line(exc) if isinstance(exc, Exception) else type(exc).__name__
        with contextlib.suppress(Exception):
            busy = isinstance(exc, SegmentBusyError)  # the other session's write stands
            if not busy and self.segment_row_by_id(row["id"]) is not None:
                self.update(
                    "segments",
                    {"id": row["id"]},
                    {"status": "failed", "error": message, "updated_at": utcnow()},
                )
            self.update(
                "runs",
                {"id": run_id},
                {"status": "failed", "error": message, "finished_at": utcnow()},
            )

    def _drop_old_versions(self, segment_id: int) -> None:
        """Drop member tables beyond ``keep_versions`` (their metadata and bitmaps stay)."""
        rows = [r for r in self.version_rows(segment_id) if not r["dropped"]]
        for r in rows[: max(0, len(rows) - self.keep_versions)]:
            with contextlib.suppress(SegnbError), self.db.transaction():
                self.drop_version_tables(r)
                self.update(
                    "versions",
                    {"segment_id": segment_id, "version": r["version"]},
                    {"dropped": True},
                )

    def drop_version_tables(self, version_row: dict[str, Any]) -> None:
        for key in ("member_table", "scores_table"):
            if version_row.get(key):
                self.drop_table(version_row[key])
        extra = json.loads(version_row.get("extra") or "{}")
        for table in extra.get("tables", []):
            self.drop_table(table)

    def runs(self, segment_id: int | None = None) -> list[dict[str, Any]]:
        where = {"segment_id": segment_id} if segment_id is not None else None
        return self.select("runs", where, order="id")


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


def _notebook_run() -> int | None:
    value = os.environ.get(NOTEBOOK_RUN_ENV, "").strip()
    return int(value) if value.isdigit() else None


def _param(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if row.get("shared_with"):
        row["shared_with"] = json.loads(row["shared_with"])
    else:
        row["shared_with"] = []
    if isinstance(row.get("expires_at"), dt.datetime):
        row["expires_at"] = row["expires_at"].date()
    return row


def _segnb_version() -> str:
    try:
        return metadata.version("segnb")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
