"""Where a store keeps its member, score and list tables: in its schema, or as Parquet files.

On PostgreSQL (and an in-memory DuckDB) they are tables of the store's
schema (:class:`SchemaTables`). Beside a DuckDB warehouse they are Parquet
files in the store's folder (:class:`ParquetTables`): a version's files are
written once and never changed, so any process reads them without a lock,
and a lazy Ibis table of members stays valid after the store file is
released. Both answer the same questions, so the store's code is one.

A file is written to a temporary name and renamed when complete; it is
removed if its transaction rolls back, and a dropped file is removed only
once the transaction that dropped it has committed.

Examples
--------
>>> tables.create("segnb_m_1_2", "SELECT user_id, dense FROM …")   # doctest: +SKIP
>>> tables.table("segnb_m_1_2").count().execute()                 # doctest: +SKIP
1000
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from segnb.errors import StoreError, first_line
from segnb.store.database import quote

__all__ = ["ParquetTables", "SchemaTables"]

_NAME = re.compile(r"^segnb_[A-Za-z0-9_]+$")
#: seconds an upload's list file may wait for its segment's row before it counts as lost
LIST_GRACE = 3600.0
#: member (m), score (s), unmatched (u) and list (l) tables
_DATA = re.compile(r"^segnb_[msul]_[A-Za-z0-9_]+$")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class SchemaTables:
    """Data tables as tables of the store's own schema."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def ref(self, name: str) -> str:
        """The table in a FROM clause."""
        return self.store.t(name)

    def table(self, name: str) -> Any:
        """A lazy Ibis table (a missing one is a StoreError that says what to do)."""
        store = self.store
        try:
            return store.con.table(name, database=store.schema)
        except Exception as exc:  # the drivers' and Ibis's own "table not found"
            raise _lost(name, store.schema, exc) from exc

    def create(self, name: str, select: str) -> None:
        """Make table ``name`` from a SELECT (replacing one of that name)."""
        self.drop(name)
        self.store.db.execute(f"CREATE TABLE {self.ref(name)} AS {select}")

    def fill(self, name: str, column: str, ids: str) -> None:
        """Set the missing ``dense`` numbers of table ``name`` from the dense-id table ``ids``."""
        ref, col = self.ref(name), quote(column)
        self.store.db.execute(
            f"UPDATE {ref} AS m SET dense = i.dense FROM {ids} AS i "
            f"WHERE m.dense IS NULL AND m.{col} = i.{col}"
        )

    def load(self, name: str, rows: Any, types: dict[str, str]) -> None:
        """Make table ``name`` from the Arrow table ``rows``, its columns of SQL ``types``."""
        db = self.store.db
        if db.dialect == "duckdb":
            view = f"_segnb_load_{uuid.uuid4().hex[:8]}"
            db.raw.register(view, rows)
            try:
                cols = ", ".join(f"CAST({quote(c)} AS {t}) AS {quote(c)}" for c, t in types.items())
                self.create(name, f"SELECT {cols} FROM {view}")
            finally:
                db.raw.unregister(view)
            return
        import pyarrow.csv as pacsv

        ref, cols = self.ref(name), ", ".join(quote(c) for c in types)
        db.execute(f"CREATE TABLE {ref} ({', '.join(f'{quote(c)} {t}' for c, t in types.items())})")
        buffer = io.BytesIO()
        pacsv.write_csv(rows, buffer, pacsv.WriteOptions(include_header=False))
        with (
            db.raw.cursor() as cur,
            cur.copy(f"COPY {ref} ({cols}) FROM STDIN (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getvalue())

    def count(self, name: str, where: str | None = None) -> int:
        """Rows of table ``name`` (where the SQL condition ``where`` holds)."""
        sql = f"SELECT count(*) FROM {self.ref(name)}" + (f" WHERE {where}" if where else "")
        return int(self.store.db.scalar(sql))

    def dense_arrays(self, name: str, batch: int) -> Iterator[np.ndarray]:
        """The ``dense`` column of table ``name``, in arrays of up to ``batch`` values."""
        db, sql = self.store.db, f"SELECT dense FROM {self.ref(name)}"
        if db.dialect == "duckdb":
            with db.session():
                for part in db.raw.execute(sql).to_arrow_reader(batch):
                    yield part.column(0).to_numpy(zero_copy_only=False)
            return
        with db.raw.cursor(name=f"segnb_dense_{name}") as cur:
            cur.itersize = batch
            cur.execute(sql)
            while rows := cur.fetchmany(batch):
                yield np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    # -- dense ids: a table of the store's own database ------------------------------

    def ids_table(self, table: str) -> Any:
        """The dense-id table ``table`` as an Ibis table, to join member queries on."""
        return self.store.meta_table(table)

    def make_ids(self, table: str, ids: Any, column: str) -> int:
        """Number the distinct ids of the Ibis table ``ids`` 0..n-1 into ``table``; n."""
        store, db, col = self.store, self.store.db, quote(column)
        ref = store.t(table)
        db.execute(f"DROP TABLE IF EXISTS {ref}")
        # stored in id order: DuckDB's zone maps then make an id lookup (verify) ~1 ms at 10M
        db.execute(
            f"CREATE TABLE {ref} AS SELECT {col}, row_number() OVER (ORDER BY {col}) - 1 AS dense "
            f"FROM ({store.con.compile(ids)}) AS n ORDER BY dense"
        )
        if db.dialect == "postgres":
            db.execute(f"CREATE UNIQUE INDEX ON {ref} ({col})")
        return int(db.scalar(f"SELECT count(*) FROM {ref}"))

    def extend_ids(self, table: str, member_table: str, column: str) -> tuple[int, int]:
        """Number the members of ``member_table`` without a dense id into ``table``, fill them in.

        The first new number and the next free one after.
        """
        store, db, col = self.store, self.store.db, quote(column)
        ref = store.t(table)
        start = int(db.scalar(f"SELECT coalesce(max(dense) + 1, 0) FROM {ref}"))
        db.execute(
            f"INSERT INTO {ref} ({col}, dense) SELECT {col}, {start} + row_number() OVER "
            f"(ORDER BY {col}) - 1 FROM {self.ref(member_table)} WHERE dense IS NULL"
        )
        self.fill(member_table, column, ref)
        return start, int(db.scalar(f"SELECT coalesce(max(dense) + 1, 0) FROM {ref}"))

    def dense_of(self, table: str, column: str, value: Any) -> int | None:
        """The dense number of one id in ``table``, or None."""
        rows = self.store.db.execute(
            f"SELECT dense FROM {self.store.t(table)} WHERE {quote(column)} = ?", (value,)
        )
        return int(rows[0][0]) if rows else None

    def drop(self, name: str) -> None:
        """Drop table ``name`` if it exists.

        On PostgreSQL with CASCADE: the temporary views that scoring left in
        this session (:func:`segnb.models.to_ibis.score_table`) may read it.
        """
        cascade = " CASCADE" if self.store.db.dialect == "postgres" else ""
        self.store.db.execute(f"DROP TABLE IF EXISTS {self.ref(name)}{cascade}")

    def names(self) -> set[str]:
        """The member, score and list tables there are (``segnb_m_…``, ``segnb_s_…``, …)."""
        listed = self.store.con.list_tables(database=self.store.schema)
        return {t for t in listed if _DATA.match(t)}

    def orphans(self, known: set[str]) -> list[str]:  # tables go with their transaction
        return []


class ParquetTables(SchemaTables):
    """Data tables as Parquet files in ``folder`` (one file a table)."""

    def __init__(self, store: Any, folder: Path) -> None:
        super().__init__(store)
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise StoreError(f"{name!r} is not a store table name (segnb_<letters, digits, _>)")
        return self.folder / f"{name}.parquet"

    def names(self) -> set[str]:
        if not self.folder.is_dir():
            return set()
        return {p.name[: -len(".parquet")] for p in self.folder.glob("segnb_*.parquet")}

    def ref(self, name: str) -> str:
        return f"read_parquet({_literal(str(self.path(name)))})"

    def table(self, name: str) -> Any:
        path = self.path(name)
        if not path.exists():
            raise _lost(name, str(self.folder), FileNotFoundError(str(path)))
        return self.store.con.sql(f"SELECT * FROM {self.ref(name)}")

    def create(self, name: str, select: str) -> None:
        self._write(name, select)

    def fill(self, name: str, column: str, ids: str) -> None:
        col = quote(column)
        self._write(
            name,
            f"SELECT m.{col}, coalesce(m.dense, i.dense) AS dense FROM {self.ref(name)} AS m "
            f"LEFT JOIN {ids} AS i ON m.{col} = i.{col}",
        )

    def _write(self, name: str, select: str) -> None:
        final = self.path(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        part = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        db = self.store.db
        try:
            with db.session():  # a partial file exists only while its writer holds the store
                db.raw.execute(f"COPY ({select}) TO {_literal(str(part))} (FORMAT parquet)")
                with open(part, "rb") as handle:
                    os.fsync(handle.fileno())
                new = not final.exists()
                os.replace(part, final)
        except Exception as exc:
            with contextlib.suppress(OSError):
                part.unlink()
            raise StoreError(f"cannot write {final}: {first_line(exc)}") from exc
        if new:
            db.after_rollback(lambda: _remove(final))

    def drop(self, name: str) -> None:
        path = self.path(name)
        self.store.db.after_commit(lambda: _remove(path))

    def orphans(self, known: set[str]) -> list[str]:
        """Remove the files ``known`` does not name, and partial files; their names.

        Member, score and unmatched files are written only while a version
        is written, holding the store: under the store's lock, one that no
        version names is a killed write's. An upload's list file is written
        before its segment is recorded, so it goes only once an hour old.
        """
        if not self.folder.is_dir():
            return []
        gone = []
        for path in self.folder.iterdir():
            stem = path.name[: -len(".parquet")] if path.name.endswith(".parquet") else None
            if stem and (stem in known or not _DATA.match(stem)):
                continue
            if not stem and not path.name.startswith(".segnb_"):
                continue  # not ours
            young = time.time() - path.stat().st_mtime < LIST_GRACE
            if (stem or path.name[1:]).startswith("segnb_l_") and young:
                continue
            _remove(path)
            gone.append(path.name)
        return gone


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _lost(name: str, where: str, exc: BaseException) -> StoreError:
    return StoreError(
        f"the segment store has lost table {name!r} of {where!r} ({first_line(exc)}); "
        "refresh the segment to write it again"
    )
