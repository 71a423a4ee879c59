"""The fitted estimator's own ``predict_proba``, run inside the engine on Arrow batches.

Where an engine can call Python by the data, a large forest scores faster
there than as SQL: DuckDB runs a ``CASE`` chain per tree node on its own
slice of every 2,048-row vector, so a 60-tree forest costs seconds per
million rows in bookkeeping alone, while ``predict_proba`` walks the same
trees in compiled code. Both paths below keep every row in the engine: the
transformed feature columns are still computed in SQL, and the result is a
query that joins, filters and materialises like any other.

- DuckDB: a vectorised (``type="arrow"``) scalar function registered on the
  connection, called on lists of rows gathered by a hash of their ids;
  DuckDB's threads run it side by side (scikit-learn releases the GIL while
  it walks trees).
- Spark: ``mapInArrow``, in Spark's Python workers, by the data (Spark takes
  minutes to plan the ``CASE`` projection of a 60-tree forest).

The function is registered once per connection and estimator. SQL that
names it (``ws.sql()`` of such a score) runs on that connection only.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np

__all__ = ["duckdb_scores", "proba_columns", "spark_scores", "view_name"]

_NAMES = itertools.count(1)


def view_name(prefix: str = "segnb_scores") -> str:
    """A name no other view or function of this process has."""
    return f"{prefix}_{os.getpid()}_{next(_NAMES)}"


def proba_columns(final: Any, columns: list[Any], rows: int, positive: int) -> np.ndarray:
    """Column ``positive`` of ``predict_proba`` of Arrow columns (a NULL is read as NaN)."""
    if not rows:
        return np.empty(0)
    x = [c.to_numpy(zero_copy_only=False).astype(np.float64, copy=False) for c in columns]
    matrix = np.column_stack(x) if x else np.empty((rows, 0))
    return final.predict_proba(matrix)[:, positive]


def duckdb_scores(final: Any, positive: int, stage, id_column: str, names: list[str], name: str,
                  backend):  # fmt: skip
    """A temporary view ``(id, name)`` whose score is ``final``'s ``predict_proba`` in DuckDB.

    The rows are gathered into lists by a hash of their id (:data:`GROUPS`
    of them), so each call of the function scores many thousands of rows
    at once, on DuckDB's threads side by side: scored a vector of 2,048 rows
    at a time, a forest spends more time entering ``predict_proba`` than in
    it. The lists hold the transformed features of every row while they
    are scored (as pulling them into Python would).
    """
    import ibis
    import sqlglot

    function = _duckdb_function(final, positive, backend, len(names))

    def quote(n: str) -> str:
        return sqlglot.exp.to_identifier(n, quoted=True).sql(dialect="duckdb")

    key, ids, rows = quote(id_column), quote("segnb_ids"), quote("segnb_rows")
    fields = ", ".join(f"{quote(f'x{j}')} := {quote(n)}::DOUBLE" for j, n in enumerate(names))
    view = view_name()
    backend.raw_sql(
        f"CREATE TEMPORARY VIEW {quote(view)} AS "
        f"SELECT unnest({ids}) AS {key}, unnest({quote(function)}({rows})) AS {quote(name)} "
        f"FROM (SELECT list({key}) AS {ids}, list(struct_pack({fields})) AS {rows} "
        f"FROM ({ibis.to_sql(stage, dialect='duckdb')}) AS {quote('segnb_features')} "
        f"GROUP BY hash({key}) % {GROUPS}) AS {quote('segnb_batches')}"
    )
    return backend.table(view)


#: hash buckets the rows of a DuckDB scoring are gathered in
GROUPS = 1024
#: rows per ``predict_proba`` call within one call of the DuckDB function (bounds its memory)
SLICE = 65_536


def _duckdb_function(final: Any, positive: int, backend, width: int) -> str:
    """The name of the Arrow function scoring lists of rows with ``final`` (registered once)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    registered = backend.__dict__.setdefault("_segnb_proba_functions", {})
    key = (id(final), positive, width)
    if key in registered:  # the entry holds ``final``: its id is not reused while it is here
        return registered[key][1]

    def score(lists):
        if isinstance(lists, pa.ChunkedArray):
            lists = lists.combine_chunks()
        rows = lists.flatten()  # flatten(): offsets and validity applied, unlike .values
        columns = rows.flatten()
        n = len(rows)
        parts = [
            proba_columns(final, [c.slice(i, SLICE) for c in columns], min(SLICE, n - i), positive)
            for i in range(0, n, SLICE)
        ]
        proba = pa.array(np.concatenate(parts) if parts else np.empty(0), pa.float64())
        offsets = pc.subtract(lists.offsets, lists.offsets[0])
        return pa.ListArray.from_arrays(offsets, proba)

    function = view_name("segnb_proba")
    double = duckdb.sqltype("DOUBLE")
    struct = duckdb.struct_type({f"x{j}": double for j in range(width)})
    backend.con.create_function(
        function, score, [duckdb.list_type(struct)], duckdb.list_type(double), type="arrow",
        side_effects=False,
    )  # fmt: skip
    registered[key] = (final, function)
    return function


def spark_scores(final: Any, positive: int, stage, id_column: str, names: list[str], name: str,
                 backend):  # fmt: skip
    """A temporary view ``(id, name)`` scored by ``final`` in Spark's Python workers."""
    import ibis
    import pyarrow as pa
    from pyspark.sql.types import DoubleType, StructField, StructType

    frame = backend._session.sql(ibis.to_sql(stage, dialect="pyspark"))
    schema = StructType(
        [StructField(id_column, frame.schema[id_column].dataType), StructField(name, DoubleType())]
    )

    def score(batches):
        for batch in batches:
            proba = proba_columns(final, [batch.column(n) for n in names], batch.num_rows, positive)
            yield pa.RecordBatch.from_arrays(
                [batch.column(id_column), pa.array(proba, pa.float64())], names=[id_column, name]
            )

    view = view_name()
    frame.mapInArrow(score, schema).createOrReplaceTempView(view)
    return backend.table(view)
