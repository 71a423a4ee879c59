"""Writing an Ibis table to CSV or Parquet in the engine, never whole in Python memory.

DuckDB writes the file itself with ``COPY (query) TO``, Spark with
``DataFrame.write`` (in one task, then its part file is renamed). PostgreSQL streams:
CSV through ``COPY (query) TO STDOUT``, Parquet as Arrow record batches from a
server-side cursor into a ``ParquetWriter``. The file appears under its name
only when complete (written beside it, then renamed).

A CSV is opened in spreadsheets, which run a cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula. Such text cells get a
leading ``'`` (the OWASP advice against CSV injection), computed in the
engine, unless ``raw=True``; Parquet stays byte-faithful.

Examples
--------
>>> export_table(ws, seg.members(), "members.parquet")   # doctest: +SKIP
PosixPath('members.parquet')
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from segnb.errors import InvalidValueError, WarehouseError
from segnb.hints import did_you_mean

__all__ = [
    "FORMATS",
    "FORMULA_START",
    "export_table",
    "neutralise_formulas",
    "with_attributes",
]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: what makes a spreadsheet read a text cell as a formula
FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(expr: Any) -> Any:
    """``expr`` with a ``'`` before every text cell a spreadsheet would run as a formula."""
    schema = expr.schema()
    columns = {}
    for name in expr.columns:
        col = expr[name]
        if schema[name].is_string():
            col = col.re_search(FORMULA_START).ifelse("'" + col, col).name(name)
        columns[name] = col
    return expr.select(**columns)


def export_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidValueError(f"cannot export to {path.name!r}: name the file .csv or .parquet")
    return fmt


def with_attributes(members: Any, entities: Any, id_column: str, table: str, columns: Any):
    """``members`` (one id column) with the chosen columns of the entity table joined on.

    ``columns`` None or empty gives ``members`` as it is; an unknown or
    repeated column is an :class:`InvalidValueError` that lists the known ones.
    """
    if not columns:
        return members
    columns = [columns] if isinstance(columns, str) else list(columns)
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise InvalidValueError(f"columns= names {', '.join(map(repr, twice))} twice")
    known = [c for c in entities.columns if c != id_column]
    unknown = [str(c) for c in columns if c not in known]
    if unknown:
        raise InvalidValueError(
            f"{table!r} has no column {unknown[0]!r} to export"
            + did_you_mean(unknown[0], known)
            + f" (columns: {', '.join(known)})"
        )
    return members.left_join(entities.select(id_column, *columns), id_column).select(
        id_column, *columns
    )


def _register_memtables(con: Any, expr: Any) -> None:
    """Make in-memory tables of ``expr`` known to ``con`` before its SQL runs there."""
    hook = getattr(con, "_run_pre_execute_hooks", None)
    if hook is not None:
        hook(expr)


def export_table(con: Any, expr: Any, path: str | os.PathLike, *, raw: bool = False) -> Path:
    """Write ``expr`` to ``path`` (.csv with a header row, or .parquet); the path written.

    ``raw=True`` writes CSV text cells as they are (see the module docs).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidValueError(f"export takes a file path, not {type(path).__name__}")
    text = os.fspath(path)
    if "\x00" in text or not _encodable(text):
        raise InvalidValueError(
            f"cannot export to {text!r}: the path has a NUL or broken character"
        )
    target = Path(path).expanduser()
    fmt = export_format(target)
    if fmt == "csv" and not raw:
        expr = neutralise_formulas(expr)
    if not target.parent.exists():
        raise InvalidValueError(
            f"cannot export to {str(target)!r}: folder {str(target.parent)!r} does not exist"
        )
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if con.name in ("duckdb", "postgres"):
            _register_memtables(con, expr)
        if con.name == "duckdb":
            sql = con.compile(expr)
            where = "'" + str(partial).replace("'", "''") + "'"
            options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
            con.con.execute(f"COPY ({sql}) TO {where} ({options})")
        elif con.name == "pyspark":
            _spark_write(con, expr, partial, fmt)
        elif fmt == "csv" and con.name == "postgres":
            sql = con.compile(expr)
            statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"
            with con.con.cursor() as cur, open(partial, "wb") as fh, cur.copy(statement) as copy:
                for block in copy:
                    fh.write(block)
        else:
            import pyarrow.csv as pacsv
            import pyarrow.parquet as pq

            reader = con.to_pyarrow_batches(expr, chunk_size=100_000)
            if fmt == "parquet":
                with pq.ParquetWriter(partial, reader.schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
            else:
                with pacsv.CSVWriter(partial, reader.schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
        os.replace(partial, target)
    except InvalidValueError:
        raise
    except OSError as exc:
        raise InvalidValueError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseError(f"export to {str(target)!r} failed: {text}") from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return target


def _spark_write(con: Any, expr: Any, partial: Path, fmt: str) -> None:
    """Spark writes the rows itself (``DataFrame.write``, one task), never through Python.

    It writes a folder; its one part file becomes the file.
    """
    _register_memtables(con, expr)
    frame = con._session.sql(con.compile(expr)).coalesce(1)
    folder = partial.with_name(partial.name + ".spark")
    writer = frame.write.mode("overwrite")
    try:
        if fmt == "csv":  # quotes doubled inside quoted cells, as spreadsheets expect
            writer.options(header=True, escape='"').csv(str(folder))
        else:
            writer.parquet(str(folder))
        parts = sorted(folder.glob("part-*"))
        if not parts:
            raise WarehouseError(f"Spark wrote no file into {str(folder)!r}")
        os.replace(parts[0], partial)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True
