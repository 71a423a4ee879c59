"""Fixtures of the magics tests: a real IPython shell with segnb loaded, on every backend.

A test module loads them with ``pytest_plugins = ("magics_helpers",)``. The
shell's ``run_cell`` re-raises what the cell raised (a ``UsageError`` too), its
history is off, and IPython and Jupyter read their configuration from empty
temporary folders, never from the developer's home.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
from magics_tools import Shell
from traitlets.config import Config

__all__ = ["connected", "duck", "ip", "pg_schema"]


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """A fresh shell with ``%load_ext segnb`` run, working in an empty folder."""
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        folder = tmp_path / "home" / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(name, str(folder))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = Shell(config=config)
    shell.displayhook.flush = lambda: None  # see jupysql: gc in flush can hang pytest at exit
    shell.run_cell("%load_ext segnb")
    yield shell
    shell.run_cell("%unload_ext segnb")
    shell.clear_instance()


@pytest.fixture
def pg_schema(backend):
    """A store schema of the test's own on PostgreSQL (dropped afterwards); 'segnb' on DuckDB."""
    if backend.name == "duckdb":
        yield "segnb"
        return
    schema = f"m_{uuid.uuid4().hex[:10]}"
    yield schema
    backend.con.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE').close()


def _connect(ip, backend, warehouse, tmp_path, schema: str):
    ip.run_cell(f"%config SegNB.store_schema = {schema!r}")
    ip.run_cell("%config SegNB.owner = 'tester'")
    if backend.name == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        shutil.copy(warehouse, path)
        ip.run_cell(f"%segnb connect duckdb:///{path}")
    else:
        ip.user_ns["con"] = backend.con
        ip.run_cell("%segnb connect --var con")
    return ip


@pytest.fixture
def connected(ip, backend, warehouse, tmp_path, pg_schema):
    """The shell connected the way a user would: a URL for DuckDB (a private copy of the
    test warehouse), ``--var con`` with an Ibis backend for PostgreSQL; owner 'tester'."""
    return _connect(ip, backend, warehouse, tmp_path, pg_schema)


@pytest.fixture
def duck(ip, duckdb_backend, warehouse, tmp_path):
    """The shell connected to a private copy of the DuckDB test warehouse; owner 'tester'."""
    return _connect(ip, duckdb_backend, warehouse, tmp_path, "segnb")
