"""Helpers of the segment-store tests that are not fixtures (see store_helpers.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import DEMO_END

__all__ = [
    "AS_OF",
    "copy_warehouse",
    "create_scratch",
    "pg_url",
    "run_child",
    "scratch",
    "scratch_name",
]

AS_OF = DEMO_END


def pg_url(con) -> str:
    """A URL for another process to reach the PostgreSQL database ``con`` uses."""
    info = con.con.info
    return f"postgres://{info.user}@{info.host}:{info.port}/{info.dbname}"


def run_child(code: str, timeout: float = 120, wait: bool = True):
    """Run Python ``code`` in a fresh interpreter (segnb importable); a Popen or the result."""
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    proc = subprocess.Popen(
        cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def scratch(ws, name: str) -> str:
    """Where a test writes a table of its own beside the warehouse's, as SQL.

    DuckDB: a temporary table of the session, since segnb opens a warehouse
    file read-only; PostgreSQL: a table of the test's store schema. The
    catalog and ``from_table`` name it as ``scratch_name(ws, name)``.
    """
    if ws.con.name == "pyspark":
        return f"`{ws.store.schema}`.`{name}`"
    return f'temp.main."{name}"' if ws.con.name == "duckdb" else f'"{ws.store.schema}"."{name}"'


def scratch_name(ws, name: str) -> str:
    return name if ws.con.name == "duckdb" else f"{ws.store.schema}.{name}"


def create_scratch(ws, name: str, select: str) -> str:
    """Make the scratch table ``name`` from ``select``; its name for catalogs and from_table."""
    temp = "TEMP " if ws.con.name == "duckdb" else ""
    target = name if temp else scratch(ws, name)
    if ws.con.name == "pyspark":
        ws.con.raw_sql(f"CREATE DATABASE IF NOT EXISTS `{ws.store.schema}`")
    ws.con.raw_sql(f"CREATE {temp}TABLE {target} AS {select}")
    return scratch_name(ws, name)


def copy_warehouse(source, target) -> Path:
    """Copy a DuckDB warehouse file with its segment store (the folder beside it)."""
    import shutil

    from segnb.store.store import store_folder

    shutil.copy(source, target)
    if store_folder(source).is_dir():
        shutil.copytree(store_folder(source), store_folder(target))
    return Path(target)


def update_scratch(ws, name: str, assignment: str, where: str) -> None:
    """``UPDATE`` the scratch table ``name``; on Spark, which has no UPDATE, by writing it anew."""
    table = scratch(ws, name)
    if ws.con.name != "pyspark":
        ws.con.raw_sql(f"UPDATE {table} SET {assignment} WHERE {where}")
        return
    column, value = (part.strip() for part in assignment.split("=", 1))
    frame = ws.con._session.table(table)
    cells = [
        f"CASE WHEN {where} THEN {value} ELSE `{c}` END AS `{c}`" if c == column else f"`{c}`"
        for c in frame.columns
    ]
    fresh = f"`{ws.store.schema}`.`{name}_updated`"
    ws.con.raw_sql(f"CREATE TABLE {fresh} AS SELECT {', '.join(cells)} FROM {table}")
    ws.con.raw_sql(f"DROP TABLE {table}")
    ws.con.raw_sql(f"ALTER TABLE {fresh} RENAME TO {table}")
