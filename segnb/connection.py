"""Opening a workspace the way users expect: ``segnb.connect`` and the faces' defaults.

This is where the working directory is read: ``segnb.toml`` there gives the
default URL, the catalog (its ``[entities]``) and, through the ``SegNB``
settings (:mod:`segnb.config`), the owner, default group and store schema.
The engine below takes all of these as arguments.

Examples
--------
>>> import segnb
>>> ws = segnb.connect("duckdb:///warehouse.duckdb")                     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segnb.catalog.model import CONFIG_FILE, Catalog, read_toml
from segnb.config import SegNB
from segnb.errors import WarehouseError
from segnb.settings import Settings
from segnb.store.backend import open_backend, session_zone
from segnb.times import check_zone
from segnb.workspace import Workspace

__all__ = ["DEFAULT_WAREHOUSE", "connect", "default_url", "local_catalog", "settings_from"]

DEFAULT_WAREHOUSE = "warehouse.duckdb"


def _local_spec(directory: Path | None = None) -> dict[str, Any]:
    local = (directory or Path.cwd()) / CONFIG_FILE
    return read_toml(local) if local.exists() else {}


def default_url() -> str:
    """The warehouse to use when none is named.

    ``url`` of ``segnb.toml`` in the working directory, else
    ``warehouse.duckdb`` there if it exists.
    """
    url = _local_spec().get("url")
    if url:
        return str(url)
    if (Path.cwd() / DEFAULT_WAREHOUSE).exists():
        return f"duckdb:///{DEFAULT_WAREHOUSE}"
    raise WarehouseError(
        "no warehouse named: pass a URL (duckdb:///warehouse.duckdb, postgres://user@host/db), "
        f'set url = "..." in {CONFIG_FILE}, or run `segnb demo` here to create {DEFAULT_WAREHOUSE}'
    )


def local_catalog(catalog: Any = None) -> Any:
    """``catalog``, or when None the ``segnb.toml`` of the working directory if it has entities."""
    if catalog is not None:
        return catalog
    spec = _local_spec()
    return spec if "entities" in spec else None


def settings_from(config: SegNB | None = None) -> Settings:
    """Engine settings from the ``SegNB`` settings (``%config``, profile or ``segnb.toml``)."""
    config = config or SegNB()
    return Settings(
        owner=config.owner, default_group=config.default_group,
        store_schema=config.store_schema or "segnb", lock_wait=config.lock_timeout,
        store_location=config.store or None,
    )  # fmt: skip


def connect(
    target: Any = None,
    catalog: Any = None,
    *,
    tz: str | None = None,
    read_only: bool = False,
    store: str | None = None,
    settings: Settings | None = None,
) -> Workspace:
    """Connect to a warehouse and load its catalog.

    Parameters
    ----------
    target
        A URL (``duckdb:///warehouse.duckdb``, ``postgres://user@host/db``,
        any URL ``ibis.connect`` takes), a ``.duckdb`` path, or a connected
        Ibis backend. None: ``url`` of ``segnb.toml`` in the working directory.
    catalog
        A dict or path in the shape of ``segnb.toml`` (SPEC §1); None finds
        ``segnb.toml`` in the working directory, else the catalog stored in
        the warehouse (``segnb demo`` stores one).
    tz
        Time zone (IANA name) for "today" and event windows; local time when None.
    read_only
        Write nothing: the segment store is read, never changed (reports, listings).
    store
        On Spark: where the segment store's metadata lives, a DuckDB file or a
        ``postgres://`` URL; default ``store.duckdb`` in a folder beside the
        Spark warehouse folder (``spark-warehouse.segnb/``). Member tables
        are Parquet tables of the Spark database named by the store schema.
    settings
        Owner, default group, store schema and lock wait; default: the ``SegNB`` settings.

    A DuckDB file is only read: segnb keeps its segments in a store of its
    own beside it (``warehouse.segnb/``), which it holds for the span of each
    operation. Any number of notebooks, refreshes and reports work on the
    same warehouse at once; a write waits for another up to ``lock_wait``
    seconds (``SegNB.lock_timeout``). To write to the warehouse yourself in
    the same session, pass your own backend: ``segnb.connect(ibis.duckdb.connect(path))``.

    Examples
    --------
    >>> import segnb
    >>> ws = segnb.connect("duckdb:///warehouse.duckdb")                     # doctest: +SKIP
    >>> ws = segnb.connect(ibis.postgres.connect(...), catalog="segnb.toml")  # doctest: +SKIP
    >>> ws = segnb.connect(spark, catalog="segnb.toml")  # a SparkSession   # doctest: +SKIP

    A ``SparkSession`` (or ``pyspark:///path/to/warehouse``) is used through
    Ibis's PySpark backend (``pip install "segnb[spark]"``). That backend sets
    the session's time zone to UTC, which its timestamp handling relies on;
    segnb keeps the session's own zone as the workspace's ``tz`` (unless one
    is given), so "today" and event days are the user's, and sets it back on
    :meth:`Workspace.close`.
    """
    check_zone(tz)
    settings = (settings or settings_from()).replace(
        read_only=read_only or None, store_location=store
    )
    con = open_backend(default_url() if target is None else target, wait=settings.lock_wait)
    cat = Catalog.load(local_catalog(catalog), con)
    return Workspace(con, cat, tz=tz or session_zone(con), settings=settings)
