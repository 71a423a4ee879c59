"""Naming the warehouse for another process, and short-lived connections to it.

A scheduled run, a report server or a kernel started by papermill runs in
another process and often another directory, so a warehouse named relative
to the working directory (``duckdb:///warehouse.duckdb``, a ``segnb.toml``
found there) is turned into an absolute one first.

A DuckDB file has one writer process at a time: code that hands the
warehouse to a kernel must not hold it open meanwhile. :func:`workspace`
opens a connection for the length of a ``with`` block only.

Examples
--------
>>> target = Target.resolve("duckdb:///warehouse.duckdb")         # doctest: +SKIP
>>> target.url
'duckdb:////home/me/project/warehouse.duckdb'
>>> with workspace(target) as ws:                                 # doctest: +SKIP
...     ws.segment("vip").size
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segnb.catalog.model import CONFIG_FILE, read_toml
from segnb.config import file_settings
from segnb.connection import DEFAULT_WAREHOUSE, connect
from segnb.errors import WarehouseError
from segnb.store.backend import duckdb_path

__all__ = ["Target", "workspace"]


@dataclass(frozen=True)
class Target:
    """A warehouse URL, catalog file and store schema that mean the same from any directory."""

    url: str
    catalog: str | None = None
    schema: str | None = None
    tz: str | None = None

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        catalog: str | os.PathLike | None = None,
        *,
        schema: str | None = None,
        tz: str | None = None,
        cwd: str | os.PathLike | None = None,
    ) -> Target:
        """Absolute URL and catalog path; defaults from ``segnb.toml`` in ``cwd``.

        ``url`` None: ``url`` of ``segnb.toml``, else ``warehouse.duckdb`` in
        ``cwd``. ``catalog`` None: that ``segnb.toml`` when it declares
        entities (else the catalog stored in the warehouse).
        """

        base = Path(cwd or Path.cwd()).resolve()
        local = base / CONFIG_FILE
        settings = file_settings(base)  # [settings], and the top-level url
        if url is None:
            url = settings.get("url") or None
        if url is None and (base / DEFAULT_WAREHOUSE).exists():
            url = DEFAULT_WAREHOUSE
        if url is None:
            raise WarehouseError(
                f"no warehouse named: pass --url (duckdb:///warehouse.duckdb, postgres://user@host/db), "
                f'or set url = "..." in {local}'
            )
        url = os.fspath(url)
        if "://" not in url and url.endswith((".duckdb", ".db", ".ddb")):
            url = f"duckdb:///{url}"
        path = duckdb_path(url)
        if path is not None and path != ":memory:" and not Path(path).is_absolute():
            url = f"duckdb:///{(base / path).resolve()}"
        if catalog is None and local.is_file() and "entities" in read_toml(local):
            catalog = local
        if catalog is not None:
            catalog = str((base / os.fspath(catalog)).resolve())
        schema = schema or settings.get("store_schema") or None
        tz = tz or settings.get("timezone") or None
        return cls(url, catalog, schema, tz)

    @property
    def is_duckdb(self) -> bool:
        return self.url.startswith("duckdb:")

    def parameters(self) -> dict[str, Any]:
        """What a report or notebook gets as papermill parameters."""
        return {"url": self.url, "catalog": self.catalog, "schema": self.schema}


@contextlib.contextmanager
def workspace(target: Target, *, read_only: bool = False, owner: str | None = None):
    """A workspace on ``target`` with its store open, closed when the block ends."""

    ws = connect(target.url, target.catalog, tz=target.tz, read_only=read_only)
    try:
        ws.open_store(target.schema, owner=owner)
        yield ws
    finally:
        with contextlib.suppress(Exception):
            ws.con.disconnect()
