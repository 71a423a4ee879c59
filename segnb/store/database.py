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
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from segnb.errors import (
    InvalidValueError,
    NotAvailableError,
    SegmentBusyError,
    SegnbError,
    StoreBusyError,
    StoreError,
    WarehouseError,
    first_line,
)
from segnb.store.locks import attach
from segnb.times import utcnow

__all__ = ["STORE_CATALOG", "Database", "first_line", "quote", "utcnow"]

#: the name a store file of its own is attached under, for the span of an operation
STORE_CATALOG = "segnb_store"


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (same rule on DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


# -- the SQL channel -----------------------------------------------------------


class Database:
    """SQL with parameters and transactions on the Ibis backend's own connection.

    Using the backend's driver connection (not a second one) means a compiled
    Ibis query and the metadata update run in one transaction.

    With ``store_file`` (a DuckDB warehouse), the store is a DuckDB file of its
    own, attached as :data:`STORE_CATALOG` only for the span of an operation
    (:meth:`session`), so other processes may use it in between. Attaching
    waits up to ``wait`` seconds while another process holds the file.
    """

    def __init__(
        self, con: Any, *, store_file: str | None = None, read_only: bool = False,
        wait: float = 30.0,
    ) -> None:  # fmt: skip
        name = getattr(con, "name", None)
        if name not in ("duckdb", "postgres"):
            raise NotAvailableError(
                f"the segment store runs on DuckDB and PostgreSQL, not on {name!r}; "
                "connect to one of those to save segments"
            )
        self.con = con
        self.dialect = name
        self.store_file = store_file
        self.read_only = read_only
        self.wait = float(wait)
        self.catalog = STORE_CATALOG if store_file else None
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []
        self.on_write: Callable[[], None] = lambda: None
        self.on_attach: Callable[[], None] = lambda: None

    @contextlib.contextmanager
    def session(self) -> Iterator[Database]:
        """Hold the store for one operation (a no-op when the store is not a file of its own).

        Sessions nest; the outermost attaches the store file (waiting while
        another process holds it) and detaches it at the end.
        """
        if self.store_file is None:
            yield self
            return
        state = _session_of(self.raw)
        if not state.lock.acquire(timeout=self.wait):
            raise StoreBusyError(
                f"the segment store {self.store_file!r} is in use by another thread of this "
                f"process (PID {os.getpid()}) for more than the {self.wait:g}s waited; try again"
            )
        try:
            if state.depth == 0:
                attach(
                    self.raw, self.store_file, STORE_CATALOG, read_only=self.read_only,
                    wait=self.wait, what="the segment store",
                    advice="let it finish, or wait longer (SegNB.lock_timeout, or lock_timeout "
                    "under [settings] in segnb.toml)",
                )  # fmt: skip
                state.depth = 1
                try:
                    self.on_attach()
                    yield self
                finally:
                    state.depth = 0
                    with contextlib.suppress(Exception):
                        self.raw.execute(f"DETACH {STORE_CATALOG}")
            else:
                state.depth += 1
                try:
                    yield self
                finally:
                    state.depth -= 1
        finally:
            state.lock.release()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the current transaction commits (at once outside one)."""
        if self._depth:
            self._after_commit.append(action)
        else:
            action()

    def after_rollback(self, action: Callable[[], None]) -> None:
        """Run ``action`` if the current transaction rolls back (never outside one)."""
        if self._depth:
            self._after_rollback.append(action)

    @property
    def raw(self) -> Any:
        return self.con.con

    def execute(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Run one statement; the rows it returns (empty for DDL and DML)."""
        _check_params(params)
        if sql.lstrip()[:6].upper() != "SELECT":
            self.on_write()
        try:
            with self.session():
                return self._run(sql, params, lambda cur: cur.fetchall() if cur.description else [])
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

        def rows(cur: Any) -> list[dict[str, Any]]:
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        with self.session():
            return self._run(sql, params, rows)

    def _run(self, sql: str, params: tuple | list, take: Callable[[Any], Any]) -> Any:
        if self.dialect == "duckdb":
            return take(self.raw.execute(sql, list(params)) if params else self.raw.execute(sql))
        with self.raw.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, list(params) or None)
            return take(cur)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside commit together or not at all (nesting joins the outer one).

        Actions registered with :meth:`after_commit` run once it has
        committed, those of :meth:`after_rollback` once it has rolled back.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        committed = False
        with self.session():
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
                committed = True
            finally:
                self._depth = 0
                actions = self._after_commit if committed else self._after_rollback
                self._after_commit, self._after_rollback = [], []
                for action in actions:
                    with contextlib.suppress(Exception):
                        action()
                self.on_write()  # committed or rolled back: what was read inside is stale


class _Session:
    """How deep the operations on one driver connection are, and who may enter."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0


_SESSIONS: dict[int, _Session] = {}
_SESSIONS_GUARD = threading.Lock()


def _session_of(raw: Any) -> _Session:
    with _SESSIONS_GUARD:
        return _SESSIONS.setdefault(id(raw), _Session())


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
