"""Segment sets: ``&`` ``|`` ``-`` over stored segments, on bitmaps or as Ibis queries.

Sizes, overlaps and set expressions run on the versions' roaring bitmaps in
memory (milliseconds); a stored sets segment is written from the equivalent
Ibis query, so its member table is built in the engine.

Examples
--------
>>> set_size(ctx, "vip & active - churned")     # doctest: +SKIP
10234
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segnb.errors import SegnbError
from segnb.lang.nodes import SegmentRef, SetOp, walk
from segnb.lang.parse import parse_sets
from segnb.segments.context import Context
from segnb.segments.status import usable_row
from segnb.store.bitmaps import load_bitmap

__all__ = ["overlap", "overlap_matrix", "set_bitmap", "set_query", "set_size", "set_tree"]


def evaluate(tree: Any, bitmap_of) -> Any:
    """Evaluate a set tree (SegmentRef/SetOp) on bitmaps; ``bitmap_of(name)`` loads one."""
    if isinstance(tree, SegmentRef):
        return bitmap_of(tree.name)
    if isinstance(tree, SetOp):
        left, right = evaluate(tree.left, bitmap_of), evaluate(tree.right, bitmap_of)
        if tree.op == "&":
            return left & right
        if tree.op == "|":
            return left | right
        return left - right
    raise SegnbError(f"not a set expression: {tree!r}")


def set_query(tree: Any, table_of) -> Any:
    """The Ibis expression of a set tree; ``table_of(name)`` gives a one-column member table."""
    if isinstance(tree, SegmentRef):
        return table_of(tree.name)
    left, right = set_query(tree.left, table_of), set_query(tree.right, table_of)
    if tree.op == "&":
        return left.intersect(right)
    if tree.op == "|":
        return left.union(right, distinct=True)
    return left.difference(right)


def overlap_matrix(names: list[str], bitmaps: list[Any]):
    """A pandas DataFrame: sizes on the diagonal, intersection sizes elsewhere."""
    import pandas as pd

    n = len(names)
    out = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        out[i, i] = len(bitmaps[i])
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = bitmaps[i].intersection_cardinality(bitmaps[j])
    labels = list(names)  # object-dtype labels: building the frame stays well under 1 ms
    return pd.DataFrame(
        out,
        index=pd.Index(labels, name="segment", dtype=object),
        columns=pd.Index(labels, dtype=object),
    )


def set_tree(ctx: Context, expression: Any) -> Any:
    """The checked tree of a set expression (text or tree) over visible segments."""
    if isinstance(expression, (SegmentRef, SetOp)):
        return expression
    return parse_sets(expression, ctx.segment_names())


def refs(tree: Any) -> list[str]:
    """The segment names a set tree reads, sorted."""
    return sorted({n.name for n in walk(tree) if isinstance(n, SegmentRef)})


def bitmaps(ctx: Context, names: list[str]) -> dict[str, Any]:
    """Bitmaps of the current versions of ``names`` (one metadata query, cached bitmaps)."""
    return _checked(ctx, names)[0]


def _checked(ctx: Context, names: list[str]) -> tuple[dict[str, Any], list[Any]]:
    """Bitmaps of ``names`` after checking they can be combined, and the rows that can expire."""
    rows = {r["name"]: r for r in ctx.visible_rows(names)}
    out, entity, expiring = {}, None, []
    for name in names:
        row = rows.get(name) or ctx.find_row(name)
        usable_row(ctx, row, "in segment sets")
        if entity is not None and row["entity"] != entity:
            raise SegnbError(
                f"segment {name!r} holds {row['entity']}, the others {entity}; "
                "sets combine segments of one target object"
            )
        entity = row["entity"]
        if row["expires_at"] is not None:
            expiring.append(row)
        out[name] = load_bitmap(ctx.store, row["id"], row["current_version"])
    return out, expiring


def _kept(ctx: Context, what: str, key: Any, read) -> Any:
    """``read()`` -> ``(value, expiring rows)``, kept while the store is unchanged.

    A segment's expiry depends on the day, not on the store, so the rows
    that can expire are checked again on every use.
    """
    try:
        hash(key)
    except TypeError:  # a tree holding something unhashable: not kept
        value, expiring = read()
    else:
        value, expiring = ctx.store.cache.get((what, ctx.owner, key), read)
    for row in expiring:
        usable_row(ctx, row, "in segment sets")
    return value


def _inputs(ctx: Context, expression: Any) -> tuple[Any, dict[str, Any]]:
    """The checked tree of ``expression`` and the bitmaps of the segments it reads."""

    def read():
        tree = set_tree(ctx, expression)
        found, expiring = _checked(ctx, refs(tree))
        return (tree, found), expiring

    return _kept(ctx, "sets", expression, read)


def set_bitmap(ctx: Context, expression: Any):
    """A set expression's members as a roaring bitmap of dense ids (nothing saved)."""
    tree, found = _inputs(ctx, expression)
    return evaluate(tree, found.__getitem__)


#: the size of ``left <op> right`` without building it
_CARDINALITY = {"&": "intersection_cardinality", "|": "union_cardinality",
                "-": "difference_cardinality"}  # fmt: skip


def set_size(ctx: Context, expression: Any) -> int:
    """Size of a set expression over segments, from bitmaps (the outermost set is not built)."""
    tree, found = _inputs(ctx, expression)
    if isinstance(tree, SetOp):
        left, right = (
            evaluate(tree.left, found.__getitem__),
            evaluate(tree.right, found.__getitem__),
        )
        return int(getattr(left, _CARDINALITY[tree.op])(right))
    return len(evaluate(tree, found.__getitem__))


def overlap(ctx: Context, names: list[str]):
    """Pairwise overlaps of segments: sizes on the diagonal (a pandas DataFrame)."""
    names = list(names)
    found = _kept(ctx, "overlap", tuple(names), lambda: _checked(ctx, names))
    return overlap_matrix(names, [found[n] for n in names])
