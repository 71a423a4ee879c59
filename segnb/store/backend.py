"""Turning a URL (or an Ibis backend) into a connected backend, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from segnb.errors import WarehouseError, first_line

__all__ = ["duckdb_path", "open_backend"]


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


def open_backend(target: Any, *, read_only: bool = False) -> Any:
    """An Ibis backend for a URL, a path to a ``.duckdb`` file, or an existing backend."""
    if not isinstance(target, (str, os.PathLike)):
        if hasattr(target, "table") and hasattr(target, "list_tables"):
            return target
        raise WarehouseError(
            f"connect() takes a URL or an Ibis backend, not {type(target).__name__}"
        )
    url = os.fspath(target)
    if "://" not in url and url.endswith((".duckdb", ".db", ".ddb")):
        url = f"duckdb:///{url}"
    path = duckdb_path(url)
    if path is not None:
        return _open_duckdb(path, read_only=read_only)
    scheme = urlsplit(url).scheme
    if not scheme:
        raise WarehouseError(
            f"{url!r} is not a warehouse URL; write duckdb:///file.duckdb or postgres://user@host/db"
        )
    import ibis

    if scheme == "postgresql":
        url = "postgres" + url[len("postgresql") :]
    try:
        return ibis.connect(url)
    except Exception as exc:
        raise WarehouseError(f"cannot connect to {_redact(url)}: {first_line(exc)}") from exc


def _open_duckdb(path: str, *, read_only: bool) -> Any:
    import ibis

    if path != ":memory:" and not Path(path).exists():
        raise WarehouseError(
            f"no DuckDB warehouse at {path!r} (working directory {os.getcwd()!r}); "
            "check the path or run `segnb demo --path <file>` to create one"
        )
    try:
        return ibis.duckdb.connect(path, read_only=read_only)
    except Exception as exc:
        text = first_line(exc)
        if "lock" in text.lower():
            raise WarehouseError(
                f"the DuckDB file {path!r} is locked by another process; close the other "
                "notebook or program using it, or open it read-only"
            ) from exc
        raise WarehouseError(f"cannot open DuckDB file {path!r}: {text}") from exc


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
