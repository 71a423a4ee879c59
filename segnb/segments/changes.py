"""Who entered and who left a segment between two of its versions (SPEC §6 "Changes").

The counts come from the versions' roaring bitmaps, which every version
keeps, even one whose member table was pruned (``keep_versions``). The ids
are Ibis tables over the member tables, computed in the engine: an anti-join
of the two versions when both tables are kept, or the kept table filtered by
the bitmap difference when only the one that holds the ids is kept. Ids that
only a pruned table held are not stored any more: asking for them is a
clear error that names the version, never an empty table.

Examples
--------
>>> ch = seg.changes()                    # doctest: +SKIP
>>> ch.entered_count, ch.left_count       # doctest: +SKIP
(120, 87)
>>> ch.entered.to_pandas()                # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np

from segnb.errors import InvalidValueError, NotAvailableError, SegmentStateError
from segnb.segments.context import Context
from segnb.store.bitmaps import load_bitmap
from segnb.times import as_date

__all__ = [
    "CHANGE_KINDS",
    "HISTORY_COLUMNS",
    "Changes",
    "changes_of",
    "history_frame",
    "pair_counts",
    "resolve_since",
]

#: what ``seg.export(changes=…)`` takes
CHANGE_KINDS = ("entered", "left")


def _bitmap(ctx: Context, segment_id: int, version: int) -> Any | None:
    try:
        return load_bitmap(ctx.store, segment_id, version)
    except SegmentStateError:
        return None


def pair_counts(ctx: Context, segment_id: int, older: int | None, newer: int) -> tuple[Any, Any]:
    """``(entered, left)`` counts from ``older`` to ``newer`` from bitmaps (None: no bitmap).

    ``older`` None is the empty set before a first version.
    """
    new = _bitmap(ctx, segment_id, newer)
    if new is None:
        return None, None
    if older is None:
        return len(new), 0
    old = _bitmap(ctx, segment_id, older)
    if old is None:
        return None, None
    return new.difference_cardinality(old), old.difference_cardinality(new)


def resolve_since(versions: list[Any], current: int, since: Any, name: str) -> int | None:
    """The version number ``since`` names: a version, or a date (the version of that day).

    A date picks the newest version whose as-of date is on or before it. The
    default (None) is the version before ``current`` (None when ``current`` is the first).
    """
    numbers = [v.version for v in versions]
    if since is None:
        older = [n for n in numbers if n < current]
        return older[-1] if older else None
    if isinstance(since, bool):
        raise InvalidValueError(f"since= takes a version number or a date, not {since!r}")
    if isinstance(since, str) and since.strip().isdigit():
        since = int(since.strip())
    if isinstance(since, (int, np.integer)):
        if int(since) not in numbers:
            raise InvalidValueError(
                f"segment {name!r} has no version {since}; its versions are "
                f"{_span(numbers)} (seg.history() lists them)"
            )
        return int(since)
    if isinstance(since, (str, dt.date, dt.datetime)):
        day = as_date(since, what="since", error=InvalidValueError)
        dated = [v for v in versions if v.as_of is not None and v.as_of <= day]
        if not dated:
            first = min((v.as_of for v in versions if v.as_of is not None), default=None)
            raise InvalidValueError(
                f"segment {name!r} has no version as of {day} or earlier"
                + (f"; its first is as of {first}" if first else "")
            )
        return max(dated, key=lambda v: (v.as_of, v.version)).version
    raise InvalidValueError(
        f"since= takes a version number or a date (YYYY-MM-DD), not {type(since).__name__} "
        f"{since!r}"
    )


def _span(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    return f"{numbers[0]}..{numbers[-1]}" if len(numbers) > 1 else str(numbers[0])


@dataclass
class Changes:
    """Who entered and who left ``segment`` from version ``since`` to ``version``.

    ``entered_count`` and ``left_count`` are exact (from bitmaps); ``entered``
    and ``left`` are Ibis tables of ids (one column, the entity id).
    ``pruned`` lists the versions of the two whose member tables are no longer
    kept: their counts stand, their ids may not be available.
    """

    segment: str
    version: int
    since: int | None
    entered_count: int
    left_count: int
    pruned: list[int] = field(default_factory=list)
    _tables: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def entered(self):
        """Ids in ``version`` that were not in ``since`` (an Ibis table)."""
        return self._table("entered")

    @property
    def left(self):
        """Ids in ``since`` that are not in ``version`` (an Ibis table)."""
        return self._table("left")

    def _table(self, kind: str):
        found = self._tables[kind]
        if isinstance(found, Exception):
            raise found
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment, "version": self.version, "since": self.since,
            "entered": self.entered_count, "left": self.left_count, "pruned": list(self.pruned),
        }  # fmt: skip

    def __repr__(self) -> str:
        since = "nothing (its first version)" if self.since is None else f"version {self.since}"
        pruned = ""
        if self.pruned:
            pruned = (
                f"; members of version {', '.join(map(str, self.pruned))} pruned "
                "(counts from bitmaps)"
            )
        return (
            f"<segnb.Changes {self.segment!r} version {self.version} since {since}: "
            f"{self.entered_count:,} entered, {self.left_count:,} left{pruned}>"
        )


def changes_of(
    ctx: Context, row: Any, entity: Any, since: Any = None, version: int | None = None
) -> Changes:
    """The :class:`Changes` of a stored segment ``row`` (``version``: default the current)."""
    store = ctx.store
    versions = store.version_rows(row["id"])
    by_number = {v.version: v for v in versions}
    newer = row["current_version"] if version is None else int(version)
    if newer is None or newer not in by_number:
        raise SegmentStateError(
            f"segment {row['name']!r} has no version {newer}; "
            f"its versions are {_span(sorted(by_number))}"
        )
    older = resolve_since(versions, newer, since, row["name"])
    new_v, old_v = by_number[newer], by_number.get(older) if older is not None else None
    pruned = [v.version for v in (old_v, new_v) if v is not None and v.dropped]
    entered_n, left_n = pair_counts(ctx, row["id"], older, newer)
    full = {
        v.version: store.ibis_table(v.member_table)
        for v in (old_v, new_v) if v is not None and not v.dropped
    }  # fmt: skip
    new_t = full[newer].select(entity.id) if newer in full else None
    old_t = full[older].select(entity.id) if older in full else None
    if entered_n is None:  # no bitmaps (an old store): count in the engine when both are kept
        if new_t is None or (older is not None and old_t is None):
            raise SegmentStateError(
                f"segment {row['name']!r}: versions {older} and {newer} have neither bitmaps "
                "nor both member tables; their changes cannot be counted"
            )
        if old_t is None:
            entered_n, left_n = int(new_t.count().execute()), 0
        else:
            entered_n = int(new_t.difference(old_t).count().execute())
            left_n = int(old_t.difference(new_t).count().execute())
    counts = {"entered": entered_n, "left": left_n}
    tables: dict[str, Any] = {}
    for kind, holder_v, other_v in (("entered", newer, older), ("left", older, newer)):
        if holder_v is None:  # before the first version there was nobody to leave
            tables[kind] = (new_t if new_t is not None else old_t).filter(ibis.literal(False))
        elif holder_v not in full:
            tables[kind] = _gone(row["name"], kind, holder_v, counts[kind], store.keep_versions)
        elif other_v is None:
            tables[kind] = full[holder_v].select(entity.id)
        elif other_v in full:
            tables[kind] = full[holder_v].anti_join(full[other_v], entity.id).select(entity.id)
        else:  # the other version was pruned: the bitmaps tell which ids differ
            tables[kind] = _by_bitmap(ctx, row["id"], holder_v, other_v, full[holder_v], entity)
    return Changes(row["name"], newer, older, int(entered_n), int(left_n), pruned, tables)


def _gone(name: str, kind: str, version: int, count: int, keep: int) -> NotAvailableError:
    return NotAvailableError(
        f"segment {name!r}: the members of version {version} were pruned (the store keeps the "
        f"member tables of the newest {keep} versions), so the {count:,} ids that {kind} are "
        "no longer stored; the count comes from the version's bitmap. Compare newer versions "
        "(since=…), or keep more (keep_versions=)"
    )


def _by_bitmap(ctx: Context, segment_id: int, holder_v: int, other_v: int, table, entity):
    """Ids of ``table`` (version ``holder_v``) whose dense ids are not in ``other_v``'s bitmap."""
    diff = load_bitmap(ctx.store, segment_id, holder_v) - load_bitmap(
        ctx.store, segment_id, other_v
    )
    wanted = ibis.memtable({"dense": np.fromiter(diff, dtype=np.int64, count=len(diff))})
    return table.filter(table.dense.isin(wanted.dense)).select(entity.id)


def history_frame(ctx: Context, row: Any):
    """Every version of ``row`` as a pandas DataFrame indexed by version number.

    Columns: ``as_of``, ``size``, ``entered`` and ``left`` (against the
    version before; the first version's members all entered), ``started_at``,
    ``finished_at``, ``current``, and ``members``: ``"kept"`` while the
    version's member table is stored, ``"pruned"`` once only its size,
    times and bitmap remain (older than ``keep_versions``).
    """
    import pandas as pd

    rows = ctx.store.version_rows(row["id"])
    records, before = [], None
    for r in rows:
        entered, left = pair_counts(ctx, row["id"], before, r["version"])
        records.append({
            "version": r["version"], "as_of": r["as_of"], "size": r["size"],
            "entered": pd.NA if entered is None else int(entered),
            "left": pd.NA if left is None else int(left),
            "started_at": r["started_at"], "finished_at": r["finished_at"],
            "current": r["version"] == row["current_version"],
            "members": "pruned" if r["dropped"] else "kept",
        })  # fmt: skip
        before = r["version"]
    columns = ["version", *HISTORY_COLUMNS]
    frame = pd.DataFrame(records, columns=columns).set_index("version")
    for name in ("entered", "left"):
        frame[name] = frame[name].astype("Int64")
    return frame


#: the columns of ``seg.history()`` (its index is the version number)
HISTORY_COLUMNS = ("as_of", "size", "entered", "left", "started_at", "finished_at", "current",
                   "members")  # fmt: skip
