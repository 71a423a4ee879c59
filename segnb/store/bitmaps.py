"""Dense ids and roaring bitmaps: fast sets, overlaps, size estimates and verify.

Every entity id gets a dense integer once (table ``segnb_ids_<entity>`` of
the store's schema, extended in the engine when new entities appear). Each
membership version keeps, next to its member table, its dense ids as a
serialized roaring bitmap (pyroaring) in the ``bitmap`` column of
``segnb_versions``. Set expressions, overlaps and ``verify`` then run on
bitmaps in memory in milliseconds; the member tables stay the source of truth
for joins and exports. Bitmaps are read once per version (versions never
change) and cached on the store.

Examples
--------
>>> ws.set_size("vip & active - churned")       # doctest: +SKIP
10234
>>> ws.overlap(["vip", "active", "churned"])    # doctest: +SKIP
"""

from __future__ import annotations

import array
import re
from typing import Any

import numpy as np

from segnb.errors import SegmentStateError, SegnbError, StoreError

__all__ = [
    "BitMap",
    "bitmap_of_table",
    "dense_of",
    "ensure_dense_ids",
    "extend_dense_ids",
    "ids_table_name",
    "load_bitmap",
    "member_select",
]

try:  # pyroaring is a dependency; keep importing segnb cheap and explicit
    from pyroaring import BitMap
except ImportError:  # pragma: no cover - installed with segnb
    BitMap = None  # type: ignore[assignment]

BATCH = 1 << 20
MAX_DENSE = 2**32 - 1


def _need_pyroaring() -> None:
    if BitMap is None:  # pragma: no cover
        raise SegnbError("fast sets need pyroaring: pip install pyroaring")


def ids_table_name(entity: str) -> str:
    """Name of the dense-id table of a target object."""
    slug = re.sub(r"[^a-z0-9_]", "_", entity.lower())[:40]
    return f"segnb_ids_{slug}"


def ensure_dense_ids(store: Any, entity: str) -> str:
    """The dense-id table of ``entity``, made in the engine on first use; its name.

    Every entity id present then gets an integer 0..n-1. Ids that appear
    later get the next integers when a member table first holds them
    (:func:`extend_dense_ids`); existing ids keep theirs, so bitmaps of
    older versions stay valid.
    """
    ent = store.catalog.entity(entity)
    table = ids_table_name(ent.name)
    db = store.db
    if store.select("ids", {"entity": ent.name}):
        return table
    source = store.catalog.table(ent.table)
    ids = source.filter(source[ent.id].notnull()).select(ent.id).distinct()
    with db.transaction():
        if db.dialect == "postgres":
            db.execute(
                "SELECT pg_advisory_xact_lock(hashtext(?))", (f"segnb:ids:{store.schema}:{table}",)
            )
            if store.select("ids", {"entity": ent.name}):
                return table
        top = store.data.make_ids(table, ids, ent.id)
        _check_top(ent, top)
        store.insert("ids", {"entity": ent.name, "id_table": table, "next_dense": top})
    return table


def _check_top(ent: Any, top: int) -> None:
    if top > MAX_DENSE:
        raise StoreError(f"{ent.name} has more than {MAX_DENSE} ids; bitmaps hold 32-bit ids")


def extend_dense_ids(store: Any, entity: str, member_table: str) -> int:
    """Give dense ids to the members of ``member_table`` that have none (new entities).

    Runs inside the version's transaction; how many ids were added.
    """
    ent = store.catalog.entity(entity)
    table = ids_table_name(ent.name)
    db = store.db
    if db.dialect == "postgres":
        db.execute(
            "SELECT pg_advisory_xact_lock(hashtext(?))", (f"segnb:ids:{store.schema}:{table}",)
        )
    start, top = store.data.extend_ids(table, member_table, ent.id)
    _check_top(ent, top)
    store.update("ids", {"entity": ent.name}, {"next_dense": top})
    return top - start


def member_select(store: Any, members: Any, entity: str, ids_table: str) -> str:
    """SQL selecting ``(id, dense)`` of ``members`` (distinct ids; dense NULL for new ones)."""
    ent = store.catalog.entity(entity)
    if ent.id not in members.columns:
        raise StoreError(
            f"the member query has columns {list(members.columns)}, not the id column {ent.id!r}"
        )
    mapped = store.data.ids_table(ids_table)
    ids = members.filter(members[ent.id].notnull()).select(ent.id)
    return store.con.compile(ids.left_join(mapped, ent.id).select(ent.id, "dense"))


def bitmap_of_table(store: Any, table: str) -> bytes:
    """The dense ids of a member table as a serialized roaring bitmap, read in batches."""
    _need_pyroaring()
    bm = BitMap()
    for values in store.data.dense_arrays(table, BATCH):
        _add(bm, values)
    bm.run_optimize()
    return bm.serialize()


def _add(bm: Any, values: np.ndarray) -> None:
    if len(values):
        bm.update(array.array("I", values.astype(np.uint32).tobytes()))


def load_bitmap(store: Any, segment_id: int, version: int) -> Any:
    """The bitmap of one version (cached on the store; versions never change)."""
    _need_pyroaring()
    key = (segment_id, version)
    found = store.bitmaps.get(key)
    if found is None:
        data = store.bitmap_bytes(segment_id, version)
        if data is None:
            raise SegmentStateError(f"version {version} of segment {segment_id} has no bitmap")
        found = BitMap.deserialize(data)
        if len(store.bitmaps) > 256:
            store.bitmaps.pop(next(iter(store.bitmaps)))
        store.bitmaps[key] = found
    return found


def dense_of(store: Any, entity: str, value: Any) -> int | None:
    """The dense integer of one entity id, or None if it is not an entity."""
    ent = store.catalog.entity(entity)
    table = ids_table_name(ent.name)
    if not store.select("ids", {"entity": ent.name}):
        return None
    return store.data.dense_of(table, ent.id, value)
