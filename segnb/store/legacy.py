"""Moving a store that lives inside a DuckDB warehouse (segnb 0.1) into its own file.

segnb 0.1 kept its tables in a schema of the warehouse file, which made the
warehouse a file every face had to write to. The first session that opens
the store of such a warehouse copies it, in one transaction of the new store
file: the metadata rows, the dense-id tables, and the member, score and list
tables of every kept version (as Parquet files). The id sequences continue
after the ids already used. The old schema in the warehouse is left as it
was; the warehouse is only read.

Examples
--------
>>> legacy_version(con, "segnb")        # doctest: +SKIP
5
"""

from __future__ import annotations

from typing import Any

from segnb.store.database import utcnow
from segnb.store.schema import ID_TABLES, _id_sequences, qualified, sequence_name

__all__ = ["adopt", "legacy_version"]

#: the metadata tables of a store, in the order they are copied
METADATA = (
    "schema", "groups", "segments", "versions", "runs", "plans", "deleted", "ids",
    "notebook_runs", "notices", "models",
)  # fmt: skip


def _tables_of(raw: Any, schema: str) -> set[str]:
    rows = raw.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = "
        "current_database() AND table_schema = ?",
        [schema],
    ).fetchall()
    return {r[0] for r in rows}


def legacy_version(con: Any, schema: str) -> int:
    """Layout version of a store inside the connection's current DuckDB database (0: none)."""
    raw = con.con
    if "segnb_schema" not in _tables_of(raw, schema):
        return 0
    found = raw.execute(f"SELECT coalesce(max(version), 0) FROM {qualified(schema, 'schema')}")
    return int(found.fetchone()[0])


def adopt(store: Any) -> bool:
    """Copy the warehouse's own store into ``store``'s file when that file is new; whether it did."""
    db, schema = store.db, store.schema
    if db.scalar(f"SELECT count(*) FROM {store.t('adopted')}") or db.scalar(
        f"SELECT count(*) FROM {store.t('segments')}"
    ):
        return False
    if not legacy_version(store.con, schema):
        return False
    old = _tables_of(db.raw, schema)
    segments = 0
    with db.transaction():
        for name in METADATA:
            table = f"segnb_{name}"
            if table not in old or name == "schema":
                continue
            db.execute(
                f"INSERT INTO {store.t(name)} BY NAME SELECT * FROM {qualified(schema, table)}"
            )
        for row in db.dicts(f"SELECT id_table FROM {store.t('ids')}"):
            source = qualified(schema, row["id_table"])
            db.execute(f"CREATE TABLE {store.t(row['id_table'])} AS SELECT * FROM {source}")
        for name in store.tables_in_use() & old:
            store.data.create(name, f"SELECT * FROM {qualified(schema, name)}")
        for table in ID_TABLES:
            db.execute(f"DROP SEQUENCE IF EXISTS {store.t(sequence_name(table))}")
        _id_sequences(db, store.t)
        segments = int(db.scalar(f"SELECT count(*) FROM {store.t('segments')}"))
        warehouse = db.scalar("SELECT current_database()")
        store.insert("adopted", {"source": f"{warehouse}.{schema}", "adopted_at": utcnow(),
                                 "segments": segments})  # fmt: skip
    return True
