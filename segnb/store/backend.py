"""Turning a URL (or an Ibis backend) into a connected backend, with clear errors."""

from __future__ import annotations

import contextlib
import os
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from segnb.errors import WarehouseError, first_line
from segnb.store.locks import attach

__all__ = [
    "duckdb_path",
    "open_backend",
    "opened_read_only",
    "release",
    "session_zone",
    "warehouse_file",
]

#: backends segnb opened itself (from a URL or path): closed by :func:`release`
_OPENED: weakref.WeakSet = weakref.WeakSet()
#: PySpark backend -> the session time zone its SparkSession had before Ibis set UTC
_ZONES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def duckdb_path(url: str) -> str | None:
    """The file path of a ``duckdb://`` URL (``:memory:`` for in-memory), else None.

    Follows the SQLAlchemy convention that jupysql users know: three slashes
    start a relative path, four an absolute one.

    Examples
    --------
    >>> duckdb_path("duckdb:///warehouse.duckdb")
    'warehouse.duckdb'
    >>> duckdb_path("duckdb:////data/w.duckdb")
    '/data/w.duckdb'
    >>> duckdb_path("duckdb://")
    ':memory:'
    """
    if not url.startswith("duckdb:"):
        return None
    rest = url[len("duckdb:") :]
    if rest.startswith("///"):
        rest = rest[3:]
    elif rest.startswith("//"):
        rest = rest[2:]
    rest = rest.split("?", 1)[0]
    return rest or ":memory:"


def open_backend(target: Any, *, wait: float = 30.0) -> Any:
    """An Ibis backend for a URL, a path to a ``.duckdb`` file, or an existing backend.

    A DuckDB file is attached read-only to a DuckDB database in memory and
    made the current one: any number of processes read it side by side, and
    segnb writes only to its own store next to it (:mod:`segnb.store.place`).
    While another process writes to the file, opening waits up to ``wait``
    seconds.
    """
    if _is_spark_session(target):
        return _open_spark(target)
    if not isinstance(target, (str, os.PathLike)):
        if hasattr(target, "table") and hasattr(target, "list_tables"):
            return target
        raise WarehouseError(
            f"connect() takes a URL, a SparkSession or an Ibis backend, not {type(target).__name__}"
        )
    con = _open_url(target, wait=wait)
    _OPENED.add(con)
    return con


def _open_url(target: str | os.PathLike, *, wait: float) -> Any:
    url = os.fspath(target)
    if "://" not in url and url.endswith((".duckdb", ".db", ".ddb")):
        url = f"duckdb:///{url}"
    path = duckdb_path(url)
    if path is not None:
        return _open_duckdb(path, wait=wait)
    scheme = urlsplit(url).scheme
    if not scheme:
        raise WarehouseError(
            f"{url!r} is not a warehouse URL; write duckdb:///file.duckdb or postgres://user@host/db"
        )
    import ibis

    if scheme == "postgresql":
        url = "postgres" + url[len("postgresql") :]
    if scheme in ("pyspark", "spark"):
        return _open_spark(None, url)
    try:
        return ibis.connect(url)
    except Exception as exc:
        raise WarehouseError(f"cannot connect to {_redact(url)}: {first_line(exc)}") from exc


#: names DuckDB keeps for itself, which an attached warehouse cannot take
_RESERVED = {"memory", "temp", "system", "main"}


def _open_duckdb(path: str, *, wait: float) -> Any:
    import ibis

    if path == ":memory:":
        return ibis.duckdb.connect()
    if not Path(path).exists():
        raise WarehouseError(
            f"no DuckDB warehouse at {path!r} (working directory {os.getcwd()!r}); "
            "check the path or run `segnb demo --path <file>` to create one"
        )
    con = ibis.duckdb.connect()
    stem = Path(path).stem
    alias = stem if stem and stem.lower() not in _RESERVED else "warehouse"
    try:
        attach(
            con.con, os.path.abspath(path), alias, read_only=True, wait=wait,
            what="the DuckDB warehouse",
            advice="segnb reads a warehouse alongside any number of readers but not while "
            "a program writes to it: let that program finish or close its connection",
        )  # fmt: skip
        con.con.execute(f'USE "{alias.replace(chr(34), chr(34) * 2)}"')
    except WarehouseError:
        con.disconnect()
        raise
    except Exception as exc:
        con.disconnect()
        raise WarehouseError(f"cannot open DuckDB file {path!r}: {first_line(exc)}") from exc
    return con


def _is_spark_session(target: Any) -> bool:
    kind = type(target)
    return kind.__name__ == "SparkSession" and kind.__module__.startswith("pyspark")


def _open_spark(session: Any, url: str | None = None) -> Any:
    """Ibis's PySpark backend on ``session`` (or one made from a ``pyspark://`` URL).

    Ibis sets the session's time zone to UTC; the zone it had is kept for
    :func:`session_zone` and set back by :func:`release`.
    """
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise WarehouseError(
            f"Spark needs PySpark and Ibis's PySpark backend ({first_line(exc)}); "
            'install them with: pip install "segnb[spark]"'
        ) from exc
    if session is None:  # pyspark:///path: a local session keeping its tables under path
        builder = SparkSession.builder.config("spark.ui.enabled", "false")
        folder = urlsplit(url or "").path
        if folder and folder != "/":
            builder = builder.config("spark.sql.warehouse.dir", os.path.abspath(folder[1:]))
        session = builder.getOrCreate()
    zone = session.conf.get("spark.sql.session.timeZone")
    try:
        con = ibis.pyspark.connect(session)
    except Exception as exc:
        raise WarehouseError(f"cannot use the Spark session: {first_line(exc)}") from exc
    _ZONES[con] = zone
    return con


def session_zone(con: Any) -> str | None:
    """The time zone a Spark session had before Ibis set it to UTC (None off Spark)."""
    return _ZONES.get(con)


def release(con: Any) -> None:
    """Undo what connecting changed: a Spark session's time zone goes back; what segnb
    opened from a URL or path is closed (a backend or session passed in stays open)."""
    zone = _ZONES.pop(con, None)
    if zone is not None:
        with contextlib.suppress(Exception):
            con._session.conf.set("spark.sql.session.timeZone", zone)
    if con in _OPENED:
        _OPENED.discard(con)
        with contextlib.suppress(Exception):
            con.disconnect()


def opened_read_only(con: Any) -> bool:
    """Whether a DuckDB backend was opened read-only (then nothing it attaches can be written)."""
    try:
        return (
            str(con.con.execute("SELECT current_setting('access_mode')").fetchone()[0]).lower()
            == "read_only"
        )
    except Exception:
        return False


def warehouse_file(con: Any) -> str | None:
    """The file of a DuckDB backend's current database (None in memory or off DuckDB)."""
    if getattr(con, "name", None) != "duckdb":
        return None
    try:
        rows = con.con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchall()
    except Exception:
        return None
    return str(rows[0][0]) if rows and rows[0][0] else None


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
