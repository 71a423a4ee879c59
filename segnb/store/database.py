"""The SQL channel of the segment store: parameters and transactions on DuckDB and PostgreSQL.

:class:`Database` runs statements on the Ibis backend's own driver
connection (so a compiled Ibis query and the metadata update share one
transaction), turns ``?`` parameters into psycopg's ``%s``, and maps driver
errors to segnb errors that say what happened.

Examples
--------
>>> db = Database(ibis.duckdb.connect())          # doctest: +SKIP
>>> with db.transaction():                        # doctest: +SKIP
...     db.execute("CREATE TABLE t AS SELECT 1 AS x")
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from segnb.errors import (
    InvalidValueError,
    NotAvailableError,
    SegmentBusyError,
    SegnbError,
    StoreError,
    WarehouseError,
    first_line,
)
from segnb.times import utcnow

__all__ = ["Database", "first_line", "quote", "utcnow"]


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (same rule on DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


# -- the SQL channel -----------------------------------------------------------


class Database:
    """SQL with parameters and transactions on the Ibis backend's own connection.

    Using the backend's driver connection (not a second one) means a compiled
    Ibis query and the metadata update run in one transaction.
    """

    def __init__(self, con: Any) -> None:
        name = getattr(con, "name", None)
        if name not in ("duckdb", "postgres"):
            raise NotAvailableError(
                f"the segment store runs on DuckDB and PostgreSQL, not on {name!r}; "
                "connect to one of those to save segments"
            )
        self.con = con
        self.dialect = name
        self._depth = 0
        self.on_write: Callable[[], None] = lambda: None

    @property
    def raw(self) -> Any:
        return self.con.con

    def execute(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Run one statement; the rows it returns (empty for DDL and DML)."""
        _check_params(params)
        if sql.lstrip()[:6].upper() != "SELECT":
            self.on_write()
        try:
            if self.dialect == "duckdb":
                cur = self.raw.execute(sql, list(params)) if params else self.raw.execute(sql)
                return cur.fetchall() if cur.description else []
            with self.raw.cursor() as cur:
                cur.execute(sql.replace("?", "%s") if params else sql, list(params) or None)
                return cur.fetchall() if cur.description else []
        except SegnbError:
            raise
        except Exception as exc:
            raise _driver_error(exc, sql) from exc

    def scalar(self, sql: str, params: tuple | list = ()) -> Any:
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    def dicts(self, sql: str, params: tuple | list = ()) -> list[dict[str, Any]]:
        """Rows as dicts (column names from the driver)."""
        _check_params(params)
        if self.dialect == "duckdb":
            cur = self.raw.execute(sql, list(params)) if params else self.raw.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        with self.raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, list(params) or None)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside commit together or not at all (nesting joins the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            if self.dialect == "duckdb":
                self.raw.execute("BEGIN TRANSACTION")
                try:
                    yield self
                except BaseException:
                    with contextlib.suppress(Exception):
                        self.raw.execute("ROLLBACK")
                    raise
                try:
                    self.raw.execute("COMMIT")
                except Exception as exc:
                    with contextlib.suppress(Exception):
                        self.raw.execute("ROLLBACK")
                    raise _driver_error(exc, "COMMIT") from exc
            else:
                with self.raw.transaction():
                    yield self
        finally:
            self._depth = 0
            self.on_write()  # committed or rolled back: what was read inside is stale


def _check_params(params: tuple | list) -> None:
    """Text values the drivers cannot send (NUL, lone surrogates) are a clear error, not a crash."""
    for value in params:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidValueError(
                    f"{value!r} holds a broken character (a lone surrogate); use plain text"
                ) from None
            if "\x00" in value:
                raise InvalidValueError(f"{value!r} holds a NUL character; use plain text")


def _driver_error(exc: BaseException, sql: str) -> SegnbError:
    text = first_line(exc)
    low = text.lower()
    if "lock" in low and ("timeout" in low or "not available" in low or "could not obtain" in low):
        return StoreError(f"the segment store is busy (another session holds a lock): {text}")
    if "conflict" in low:  # DuckDB's write-write conflict: the other write stands
        return SegmentBusyError(
            f"another session changed the same segment at the same time ({text}); try again"
        )
    if "permission denied" in low or "must be owner" in low:
        return StoreError(
            f"this database role may not use the segment store ({text}). Access is the "
            "database's to grant: ask the store's owner to GRANT USAGE ON SCHEMA <schema>, "
            "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA <schema> and USAGE ON ALL "
            "SEQUENCES IN SCHEMA <schema> TO your role (or connect as a role that has them)"
        )
    head = " ".join(sql.split())[:120]
    return WarehouseError(f"the warehouse refused a segment-store statement: {text} [{head}]")
