"""Writing an Ibis table to CSV or Parquet in the engine, never whole in Python memory.

DuckDB writes the file itself with ``COPY (query) TO``. PostgreSQL streams:
CSV through ``COPY (query) TO STDOUT``, Parquet as Arrow record batches from a
server-side cursor into a ``ParquetWriter``. The file appears under its name
only when complete (written beside it, then renamed).

Examples
--------
>>> export_table(ws, seg.members(), "members.parquet")   # doctest: +SKIP
PosixPath('members.parquet')
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from segnb.errors import InvalidValueError, WarehouseError

__all__ = ["FORMATS", "export_table"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def export_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidValueError(f"cannot export to {path.name!r}: name the file .csv or .parquet")
    return fmt


def export_table(con: Any, expr: Any, path: str | os.PathLike) -> Path:
    """Write ``expr`` to ``path`` (.csv with a header row, or .parquet); the path written."""
    target = Path(path).expanduser()
    fmt = export_format(target)
    if not target.parent.exists():
        raise InvalidValueError(
            f"cannot export to {str(target)!r}: folder {str(target.parent)!r} does not exist"
        )
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        if con.name == "duckdb":
            sql = con.compile(expr)
            where = "'" + str(partial).replace("'", "''") + "'"
            options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
            con.con.execute(f"COPY ({sql}) TO {where} ({options})")
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
