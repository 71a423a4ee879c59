"""Ordered sequences, ``did(a then b then c within g, window)``, as window functions.

Two shapes, measured against each other by ``benchmarks/behaviour.py`` on
the demo at 1M users x 30 days. With a gap (``within``) the self-join of the
steps' events, bounded by the gap (:func:`sequence_members_joined`), was the
faster (2 steps within 2h over 7 days: 1.2 s against 3.0 s); without a gap a
self-join has no bound and grows with the square of the events per entity,
so it stays window functions (:func:`sequence_members`)::

    steps  = SELECT id, ts, max(event = 'a' AND filter_a) AS s1, … FROM events
             WHERE event IN ('a', 'b', 'c') AND ts in the window
             GROUP BY id, ts                     -- one row per instant
    good3  = s3
    good2  = s2 AND next(good3) <= ts + g        -- next(x): the earliest later ts where x,
    good1  = s1 AND next(good2) <= ts + g        --   min(CASE WHEN x THEN ts END) OVER
                                                 --   (PARTITION BY id ORDER BY ts ROWS
                                                 --    BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
    SELECT DISTINCT id FROM … WHERE good1

Steps are computed from the last one back: a step is good where a good next
step follows strictly later and within the gap, so the earliest good next
step decides (a greedy walk forwards would miss ``a, b, b', c`` where only
``b'`` reaches ``c``). Events at the same instant are one row, so "strictly
after" is "a later row". One sort per entity; no join of events with events.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Callable
from typing import Any

import ibis

from segnb.catalog.model import Catalog, EventSource
from segnb.compile.time import day_range
from segnb.lang.behaviour import DidSequence

__all__ = ["sequence_members", "sequence_members_joined"]


def sequence_members(
    catalog: Catalog,
    source: EventSource,
    node: DidSequence,
    start: datetime.date,
    end: datetime.date,
    *,
    zone: Any,
    where: Callable[[Any, ibis.Table], Any],
) -> ibis.Table:
    """The rows (one per entity, its id column) of the entities that did the sequence.

    Parameters
    ----------
    catalog, source
        The resolved catalog and the events table of the steps.
    node
        The sequence.
    start, end
        Its window (first and last day, both included).
    zone
        The segment's time zone.
    where
        ``where(filter, rows)``: a step's filter as a boolean over ``rows``.
    """
    t = catalog.table(source.table)
    ts = t[source.time]
    scan = [day_range(ts, start, end, zone)]
    events = list(dict.fromkeys(node.events))
    if source.name is not None:
        name = t[source.name]
        scan.insert(0, name == events[0] if len(events) == 1 else name.isin(events))
    rows = t.filter(*scan)
    flags = {}
    for i, step in enumerate(node.steps):
        parts = []
        if source.name is not None and len(events) > 1:
            parts.append(rows[source.name] == step.event)
        if step.where is not None:
            parts.append(where(step.where, rows))
        hit = functools.reduce(operator.and_, parts) if parts else rows[source.time].notnull()
        flags[f"s{i}"] = ibis.ifelse(hit, 1, 0).max()
    moment = rows[source.time]
    if moment.type().is_date():
        moment = moment.cast("timestamp")  # a gap in hours from a day
    grouped = rows.group_by(_id=rows[source.id], _ts=moment).aggregate(**flags)
    last = len(node.steps) - 1
    grouped = grouped.mutate(_good=grouped[f"s{last}"] == 1)
    gap = node.gap_minutes
    for i in range(last - 1, -1, -1):
        over = ibis.window(group_by=grouped._id, order_by=grouped._ts, rows=(1, None))
        later = ibis.ifelse(grouped._good, grouped._ts, ibis.null(grouped._ts.type()))
        grouped = grouped.mutate(_next=later.min().over(over))
        good = (grouped[f"s{i}"] == 1) & grouped._next.notnull()
        if gap is not None:
            good = good & (grouped._next <= grouped._ts + ibis.interval(minutes=gap))
        grouped = grouped.mutate(_good=good).drop("_next")
    members = grouped.filter(grouped._good).select(grouped._id).distinct()
    return members.rename({source.id: "_id"})


def sequence_members_joined(
    catalog: Catalog,
    source: EventSource,
    node: DidSequence,
    start: datetime.date,
    end: datetime.date,
    *,
    zone: Any,
    where: Callable[[Any, ibis.Table], Any],
) -> ibis.Table:
    """:func:`sequence_members` as a self-join: each step joined to the previous one's events
    strictly after them and within the gap (the shape for sequences with ``within``)."""
    t = catalog.table(source.table)
    scan = [day_range(t[source.time], start, end, zone)]
    if source.name is not None:
        scan.insert(0, t[source.name].isin(list(dict.fromkeys(node.events))))
    rows = t.filter(*scan)
    gap = ibis.interval(minutes=node.gap_minutes)
    joined = None
    for i, step in enumerate(node.steps):
        keep = [] if source.name is None else [rows[source.name] == step.event]
        if step.where is not None:
            keep.append(where(step.where, rows))
        moment = rows[source.time]
        if moment.type().is_date():
            moment = moment.cast("timestamp")
        part = (rows.filter(*keep) if keep else rows).select(
            **{f"_id{i}": rows[source.id], f"_ts{i}": moment}
        )
        if joined is None:
            joined = part
            continue
        before = joined[f"_ts{i - 1}"]
        joined = joined.join(
            part,
            [
                joined._id0 == part[f"_id{i}"],
                part[f"_ts{i}"] > before,
                part[f"_ts{i}"] <= before + gap,
            ],
        ).select(_id0=joined._id0, **{f"_ts{i}": part[f"_ts{i}"]})
    return joined.select(**{source.id: joined._id0}).distinct()
