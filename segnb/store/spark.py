"""A segment store for a Spark warehouse: metadata in a transactional database, data on Spark.

Spark SQL has no transactions, ``UPDATE``, row locks or sequences, so the
store's metadata (segments, versions, runs, models) stays in a database that
has them: a local DuckDB file (the default, beside the Spark warehouse
folder) or a PostgreSQL schema. Only the data is written on Spark, as
Parquet tables of one Spark database: member, score and list tables, and the
dense ids of each target object (numbered there, in ``CREATE TABLE … AS``).

A version's tables are complete before its row commits in the metadata
database, and that commit is what makes the version current; a write that
fails drops the tables it made, and a killed one leaves at most a table no
version names, which the store's cleanup pass drops. Statements are built by
Ibis and sqlglot for Spark's dialect.

Examples
--------
>>> ws = segnb.connect(spark, catalog="segnb.toml")            # doctest: +SKIP
>>> ws.store.data                                              # doctest: +SKIP
<SparkTables segnb>
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import sqlglot as sg
import sqlglot.expressions as sge

from segnb.errors import StoreError, first_line
from segnb.store.backend import open_backend
from segnb.store.data import _DATA, _NAME, LIST_GRACE, SchemaTables, _lost
from segnb.store.database import Database

__all__ = ["SparkTables", "metadata_database"]

DIALECT = "spark"
STORE_FILE = "store.duckdb"


def metadata_database(con: Any, location: str | None, *, read_only: bool, wait: float) -> Database:
    """The database of a Spark store's metadata: ``location`` (a DuckDB file or postgres URL).

    None: ``store.duckdb`` in the folder beside the Spark warehouse folder
    (``spark-warehouse.segnb/``), when that folder is on this machine.
    """
    import ibis

    if location is None:
        location = str(_default_folder(con) / STORE_FILE)
    if urlsplit(location).scheme in ("postgres", "postgresql"):
        return Database(open_backend(location, wait=wait))
    path = Path(location).expanduser()
    if read_only and not path.exists():
        raise StoreError(
            f"there is no segment store at {str(path)!r} yet, and this session is read-only; "
            "connect without read_only to create it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return Database(
        ibis.duckdb.connect(), store_file=str(path.resolve()), read_only=read_only, wait=wait
    )


def _default_folder(con: Any) -> Path:
    where = con._session.conf.get("spark.sql.warehouse.dir")
    parts = urlsplit(where)
    if parts.scheme not in ("", "file"):
        raise StoreError(
            f"the Spark warehouse is at {where!r}, not on this machine, so segnb cannot keep its "
            "segment store beside it; pass store='segnb_store.duckdb' (a local file) or "
            "store='postgres://…' to segnb.connect, or set store under [settings] in segnb.toml"
        )
    folder = Path(parts.path)
    return folder.with_name(f"{folder.name}.segnb")


class SparkTables(SchemaTables):
    """Member, score, list and dense-id tables as Parquet tables of the Spark database ``database``."""

    def __init__(self, store: Any, database: str) -> None:
        super().__init__(store)
        self.database = database
        self.spark = store.con._session
        self._made = False

    def __repr__(self) -> str:
        return f"<SparkTables {self.database}>"

    # -- statements ---------------------------------------------------------------

    def _table(self, name: str) -> sge.Table:
        if not _NAME.match(name):
            raise StoreError(f"{name!r} is not a store table name (segnb_<letters, digits, _>)")
        return sg.table(name, db=self.database, quoted=True)

    def _run(self, statement: sge.Expression) -> Any:
        if not self._made:
            self.spark.sql(
                sge.Create(this=sg.to_identifier(self.database, quoted=True), kind="SCHEMA",
                           exists=True).sql(DIALECT)
            )  # fmt: skip
            self._made = True
        try:
            return self.spark.sql(statement.sql(DIALECT))
        except Exception as exc:
            raise StoreError(
                f"Spark refused a segment-store statement: {first_line(exc)} "
                f"[{statement.sql(DIALECT)[:120]}]"
            ) from exc

    def _select(self, expr: Any) -> sge.Expression:
        return sg.parse_one(self.store.con.compile(expr), read=DIALECT)

    def _create(self, name: str, select: sge.Expression) -> None:
        parquet = sge.FileFormatProperty(this=sge.Var(this="PARQUET"))
        self._run(
            sge.Create(this=self._table(name), kind="TABLE", expression=select,
                       properties=sge.Properties(expressions=[parquet]))
        )  # fmt: skip

    def _drop_now(self, name: str) -> None:
        self._run(sge.Drop(this=self._table(name), kind="TABLE", exists=True))

    def _scalar(self, expr: Any) -> Any:
        rows = self.spark.sql(self.store.con.compile(expr)).collect()
        return rows[0][0] if rows else None

    # -- the calls of SchemaTables ------------------------------------------------

    def ref(self, name: str) -> str:
        return self._table(name).sql(DIALECT)

    def table(self, name: str) -> Any:
        try:
            return self.store.con.table(name, database=self.database)
        except Exception as exc:
            raise _lost(name, self.database, exc) from exc

    def create(self, name: str, select: str) -> None:
        """Make table ``name`` from a Spark SELECT; dropped again if the transaction rolls back."""
        self._drop_now(name)
        self._create(name, sg.parse_one(select, read=DIALECT))
        self.store.db.after_rollback(lambda: self._drop_now(name))

    def load(self, name: str, rows: Any, types: dict[str, str]) -> None:
        import ibis

        frame = self.spark.createDataFrame(rows)  # Arrow, not rows through Python
        view = f"segnb_load_{uuid.uuid4().hex[:8]}"
        frame.createOrReplaceTempView(view)
        try:
            source = self.store.con.table(view)
            casts = {c: source[c].cast(ibis.dtype(_IBIS_TYPES.get(t, t))) for c, t in types.items()}
            self.create(name, self.store.con.compile(source.select(**casts)))
        finally:
            self.spark.catalog.dropTempView(view)

    def fill(self, name: str, column: str, ids: str) -> None:
        members, mapped = self.table(name), self.table(ids)
        joined = members.left_join(mapped, members[column] == mapped[column])
        select = joined.select(members[column], dense=members["dense"].coalesce(mapped["dense"]))
        filled = f"{name}_filled"
        self._drop_now(filled)
        self._create(filled, self._select(select))
        self._drop_now(name)
        self._run(sge.Alter(this=self._table(filled), kind="TABLE",
                            actions=[sge.AlterRename(this=self._table(name))]))  # fmt: skip

    def drop(self, name: str) -> None:
        self.store.db.after_commit(lambda: self._drop_now(name))

    def count(self, name: str, where: str | None = None) -> int:
        query = sge.select("count(*)").from_(self._table(name))
        if where:
            query = query.where(sg.parse_one(where, read=DIALECT))
        return int(self._run(query).collect()[0][0])

    def dense_arrays(self, name: str, batch: int) -> Iterator[np.ndarray]:
        frame = self.spark.table(self.ref(name)).select("dense")
        for part in frame.toArrow().to_batches(max_chunksize=batch):
            yield part.column(0).to_numpy(zero_copy_only=False)

    def names(self) -> set[str]:
        if not self.spark.catalog.databaseExists(self.database):
            return set()
        return {t.name for t in self.spark.catalog.listTables(self.database) if _DATA.match(t.name)}

    def orphans(self, known: set[str]) -> list[str]:
        """Drop the tables no version or definition names (a killed write's); their names.

        An upload's list table is made before its segment is recorded, so it
        goes only once an hour old.
        """
        gone = []
        for name in sorted(self.names() - known):
            if name.startswith("segnb_l_") and self._age(name) < LIST_GRACE:
                continue
            with contextlib.suppress(StoreError):
                self._drop_now(name)
                gone.append(name)
        return gone

    def _age(self, name: str) -> float:
        """Seconds since table ``name`` was written (0 where its folder is not on this machine)."""
        rows = self.spark.sql(f"DESCRIBE TABLE EXTENDED {self.ref(name)}").collect()
        where = next((row[1] for row in rows if row[0] == "Location"), "")
        parts = urlsplit(where)
        if parts.scheme not in ("", "file"):
            return 0.0
        try:
            return time.time() - os.stat(parts.path).st_mtime
        except OSError:
            return 0.0

    # -- dense ids: a Spark table of their own ------------------------------------

    def ids_table(self, table: str) -> Any:
        return self.table(table)

    def make_ids(self, table: str, ids: Any, column: str) -> int:
        import ibis

        numbered = ids.select(column, dense=ibis.row_number().over(order_by=ids[column]))
        self._drop_now(table)
        self._create(table, self._select(numbered))
        return self.count(table)

    def extend_ids(self, table: str, member_table: str, column: str) -> tuple[int, int]:
        import ibis

        mapped = self.table(table)
        start = int(self._scalar(mapped.dense.max().fill_null(-1) + 1))
        members = self.table(member_table)
        new = members.filter(members.dense.isnull())
        numbered = new.select(
            column, dense=(ibis.row_number().over(order_by=new[column]) + start).cast("int64")
        )
        self._run(sge.Insert(this=self._table(table), expression=self._select(numbered)))
        self.fill(member_table, column, table)
        mapped = self.table(table)
        return start, int(self._scalar(mapped.dense.max().fill_null(-1) + 1))

    def dense_of(self, table: str, column: str, value: Any) -> int | None:
        mapped = self.table(table)
        found = self._scalar(mapped.filter(mapped[column] == value).dense.min())
        return None if found is None else int(found)


#: the SQL type names of SchemaTables.load, in Ibis's words
_IBIS_TYPES = {"BIGINT": "int64", "TEXT": "string"}
