"""The layout of the segment store: its tables, its version and the migrations between versions.

The ``segnb_*`` tables live in one schema of the warehouse (``segnb`` by
default). The layout has a version of its own, kept in ``segnb_schema``;
opening a store applies the migrations it lacks, in one transaction (on
PostgreSQL under an advisory lock, so two sessions opening a new store do
not both create it), and refuses a store written by a newer segnb.

A migration step is SQL, where ``{t:name}`` stands for the qualified table
``segnb_<name>``, or a function of the database and that naming function for
a step that needs to read the store first (the id sequences of version 4
start after the largest id already used).

Examples
--------
>>> open_layout(Database(con), "segnb")              # doctest: +SKIP
>>> layout_version(Database(con), "segnb")           # doctest: +SKIP
4
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata
from typing import Union

from segnb.errors import StoreError, WarehouseError
from segnb.store.database import Database, quote, utcnow

__all__ = [
    "DEFAULT_SCHEMA",
    "ID_TABLES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "check_schema_name",
    "layout_version",
    "open_layout",
    "qualified",
    "sequence_name",
]

SCHEMA_VERSION = 6
DEFAULT_SCHEMA = "segnb"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: tables whose ``id`` comes from a sequence ``segnb_<table>_id`` (layout 4 on)
ID_TABLES = ("segments", "runs", "plans", "notebook_runs", "notices")

Naming = Callable[[str], str]
Step = Union[str, Callable[[Database, Naming], None]]


def qualified(schema: str, name: str, catalog: str | None = None) -> str:
    """Qualified, quoted name of the store table ``segnb_<name>`` (or a given ``segnb_`` table).

    ``catalog`` is the attached store file's name, when the store is a file of its own.
    """
    table = name if name.startswith("segnb_") else f"segnb_{name}"
    head = f"{quote(catalog)}." if catalog else ""
    return f"{head}{quote(schema)}.{quote(table)}"


def sequence_name(table: str) -> str:
    """Name of the sequence that gives ``table`` its ids (``segnb_segments_id``)."""
    return f"{table}_id"


def check_schema_name(schema: object) -> str:
    if not isinstance(schema, str) or not _IDENT.match(schema):
        raise StoreError(
            f"store schema {schema!r} is not a plain name; use letters, digits and _ "
            "(e.g. 'segnb' or 'segnb_team')"
        )
    return schema


def _id_sequences(db: Database, t: Naming) -> None:
    """Layout 4: one sequence per id column, starting after the largest id already used.

    Segment ids are never reused, so the segments sequence also starts after
    the deleted segments' ids.
    """
    for table in ID_TABLES:
        top = int(db.scalar(f"SELECT coalesce(max(id), 0) FROM {t(table)}"))
        if table == "segments":
            gone = db.scalar(f"SELECT coalesce(max(segment_id), 0) FROM {t('deleted')}")
            top = max(top, int(gone))
        db.execute(f"CREATE SEQUENCE IF NOT EXISTS {t(sequence_name(table))} START WITH {top + 1}")


#: schema version -> steps that bring the previous version to it
MIGRATIONS: dict[int, list[Step]] = {
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
    # ids from sequences: two sessions creating segments (runs, plans, …) at once
    # get distinct ids without retrying on a max(id) + 1 that both of them read
    4: [_id_sequences],
    # the deleted-records log keeps each segment's expose scope, so it shows others only
    # what they could see (rows deleted before this layout show to their owner alone)
    5: [
        "ALTER TABLE {t:deleted} ADD COLUMN IF NOT EXISTS scope TEXT",
        "ALTER TABLE {t:deleted} ADD COLUMN IF NOT EXISTS shared_with TEXT",
    ],
    # a DuckDB warehouse's store moves to a file of its own (segnb.store.legacy); this
    # records the store it was copied from, so the copy is made once
    6: [
        """CREATE TABLE IF NOT EXISTS {t:adopted} (
            source TEXT, adopted_at TIMESTAMP, segments BIGINT)""",
    ],
}


def layout_version(db: Database, schema: str) -> int:
    """Layout version of the store in ``schema`` (0 when there is none yet)."""
    if not _has_table(db, schema, "segnb_schema"):
        return 0
    return _recorded_version(db, schema)


def open_layout(db: Database, schema: str) -> None:
    """Bring the store in ``schema`` to :data:`SCHEMA_VERSION`, creating it when missing.

    Reads :data:`SCHEMA_VERSION` and :data:`MIGRATIONS` of this module when
    called, so a test may replace them.
    """
    version = layout_version(db, schema)
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the segment store in schema {schema!r} has layout version {version}, "
            f"newer than this segnb understands ({SCHEMA_VERSION}); upgrade segnb "
            "(pip install -U segnb) or use another schema"
        )
    try:
        _migrate(db, schema)
    except WarehouseError as exc:
        if "read-only" in str(exc).lower() or "read only" in str(exc).lower():
            raise StoreError(
                f"the warehouse is open read-only, and the segment store (schema "
                f"{schema!r}) does not exist yet; connect without read_only to save "
                "segments"
            ) from exc
        raise


def _migrate(db: Database, schema: str) -> None:
    def t(name: str) -> str:
        return qualified(schema, name, db.catalog)

    with db.transaction():
        if db.dialect == "postgres":
            db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"segnb:{schema}",))
        head = f"{quote(db.catalog)}." if db.catalog else ""
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {head}{quote(schema)}")
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {t('schema')} "
            "(version INTEGER NOT NULL, applied_at TIMESTAMP, segnb_version TEXT)"
        )
        version = _recorded_version(db, schema)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for step in MIGRATIONS[target]:
                if callable(step):
                    step(db, t)
                else:
                    db.execute(re.sub(r"\{t:(\w+)\}", lambda m: t(m.group(1)), step))
            db.execute(
                f"INSERT INTO {t('schema')} VALUES (?, ?, ?)",
                (target, utcnow(), _segnb_version()),
            )


def _has_table(db: Database, schema: str, table: str, catalog: str | None = None) -> bool:
    catalog = catalog or db.catalog
    sql = "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?"
    if catalog:
        sql += " AND table_catalog = ?"
    return bool(db.execute(sql, (schema, table, catalog) if catalog else (schema, table)))


def _recorded_version(db: Database, schema: str) -> int:
    found = db.scalar(
        f"SELECT coalesce(max(version), 0) FROM {qualified(schema, 'schema', db.catalog)}"
    )
    return int(found)


def _segnb_version() -> str:
    try:
        return metadata.version("segnb")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
