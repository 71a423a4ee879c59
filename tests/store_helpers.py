"""Fixtures of the segment-store tests: a writable workspace per test, on every backend.

DuckDB: a private copy of the session's demo warehouse file. PostgreSQL: the
session database with a store schema of the test's own, dropped afterwards.
A test module loads them with ``pytest_plugins = ("store_helpers",)``.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid

import pytest

import segnb
from segnb.settings import Settings
from segnb.workspace import Workspace

__all__ = ["store_ws", "ws_factory"]


@pytest.fixture
def ws_factory(backend, warehouse, tmp_path):
    """Make workspaces on one store: ``ws_factory(owner=None)``; all share the same data."""
    made: list[Workspace] = []
    schema = "segnb" if backend.name == "duckdb" else f"t_{uuid.uuid4().hex[:10]}"
    state: dict = {}

    def make(owner: str | None = None, **store_kw) -> Workspace:
        if backend.name == "duckdb":
            if "con" not in state:
                path = tmp_path / "warehouse.duckdb"
                shutil.copy(warehouse, path)
                state["path"] = path
                state["ws"] = segnb.connect(str(path))
                state["con"] = state["ws"].con
            ws = Workspace(state["con"], state["ws"].catalog)
        elif backend.name == "spark":  # metadata in a DuckDB file, member tables on Spark
            settings = Settings(store_location=str(tmp_path / "store.duckdb"))
            ws = Workspace(backend.con, backend.catalog, settings=settings)
        else:
            ws = Workspace(backend.con, backend.catalog)
        ws.open_store(schema, owner=owner or "tester", **store_kw)
        ws.backend = backend.name
        ws.schema = schema
        ws.path = state.get("path")
        made.append(ws)
        return ws

    yield make
    if backend.name == "duckdb":
        if "con" in state:
            with contextlib.suppress(Exception):
                state["con"].disconnect()
    elif backend.name == "spark":
        backend.con.raw_sql(f"DROP DATABASE IF EXISTS `{schema}` CASCADE")
    else:
        backend.con.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE').close()


@pytest.fixture
def store_ws(ws_factory):
    """A workspace with an empty segment store, owner 'tester'."""
    return ws_factory()
