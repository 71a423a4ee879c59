"""The query blocks every reader of the warehouse shares: tag snapshots and the event aggregation.

- :func:`latest_snapshot`: the rows of a tags table on its latest snapshot
  date on or before ``T``. The date is a scalar (``max(date) WHERE date <= T``)
  computed once, not a per-entity window function.
- :func:`snapshot_on`: the rows of one dated snapshot.
- :func:`event_aggregates`: one pass over an events table computing many
  conditional aggregates (:class:`Measure`: a count, sum or max per event,
  window and filter), one row per entity. The scan keeps only the events
  named and the union of the windows, so a rule with ten behaviour
  conditions still reads the events table once.

The rule compiler, insights and the model features build their queries from
these, so "the latest value on or before T" means the same everywhere.

Examples
--------
>>> users = catalog.entity("users")                                       # doctest: +SKIP
>>> snap = latest_snapshot(catalog, users.tags[0], datetime.date(2025, 3, 1))  # doctest: +SKIP
>>> last_week = Measure("count", "purchase", datetime.date(2025, 2, 23),
...                     datetime.date(2025, 3, 1))
>>> per_user = event_aggregates(catalog, users.events[0], {"n": last_week},
...                             key="user_id")                            # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis

from segnb.catalog.model import Catalog, EventSource, TagSource
from segnb.compile.time import (
    before,
    day_range,
    local_day,
    merge_spans,
    midnight,
    next_midnight,
    on_or_before,
)
from segnb.errors import CatalogError, InvalidValueError

__all__ = [
    "EVER",
    "MEASURE_KINDS",
    "Measure",
    "event_aggregates",
    "event_ids",
    "latest_snapshot",
    "snapshot_on",
]

#: what a measure computes over the events it keeps: ``min``/``max`` of a field (of the time
#: without one), ``mean`` of a field, ``distinct`` values of a field, active ``days``
MEASURE_KINDS = ("count", "sum", "max", "min", "mean", "distinct", "days")
#: the kinds that need the field they aggregate
_FIELD_KINDS = ("sum", "mean", "distinct")
#: the first day of the calendar: a window starting there reads "ever, up to its end"
EVER = datetime.date.min


def latest_snapshot(
    catalog: Catalog, source: TagSource, as_of: datetime.date, zone: Any = "UTC"
) -> ibis.Table:
    """The rows of ``source`` on its latest snapshot date on or before ``as_of``.

    Parameters
    ----------
    catalog
        The resolved catalog (tables come from it).
    source
        The tags table.
    as_of
        The day ``T``: snapshots after it are not read.
    zone
        The time zone days are cut in, for a tz-aware snapshot column (a tzinfo or an IANA name).

    Returns
    -------
    ibis.Table
        Every column of the tags table; one row per entity present on that day.

    Examples
    --------
    >>> snap = latest_snapshot(catalog, catalog.entity().tags[0], datetime.date(2025, 3, 1))
    ... # doctest: +SKIP
    >>> snap.select("user_id", "city")                                      # doctest: +SKIP
    """
    t = catalog.table(source.table)
    day = t[source.date]
    latest = t.filter(on_or_before(day, as_of, zone))[source.date].max()
    return t.filter(day == latest)


def snapshot_on(
    catalog: Catalog, source: TagSource, day: datetime.date, zone: Any = "UTC"
) -> ibis.Table:
    """The rows of ``source`` on the snapshot of ``day`` (none when that day has no snapshot).

    Parameters
    ----------
    catalog, source, zone
        As for :func:`latest_snapshot`.
    day
        The snapshot's day.

    Returns
    -------
    ibis.Table
        Every column of the tags table.
    """
    t = catalog.table(source.table)
    column = t[source.date]
    dtype = column.type()
    if dtype.is_timestamp():
        return t.filter(
            column >= midnight(day, dtype, zone), before(column, next_midnight(day, dtype, zone))
        )
    return t.filter(column == day)


@dataclass(frozen=True)
class Measure:
    """One conditional aggregate over an events table; identical measures are one column.

    Parameters
    ----------
    kind
        One of :data:`MEASURE_KINDS`: ``"count"`` (events), ``"sum"``, ``"mean"``,
        ``"distinct"`` (of ``field``), ``"min"`` or ``"max"`` (of ``field``, else of the
        time), ``"days"`` (distinct calendar days of the events, in ``zone``).
    event
        The event name.
    start, end
        The window: first and last day, both included; a ``start`` of :data:`EVER`
        reads every event up to ``end``.
    field
        The event field summed or maximised (``max`` of the time column when None).
    where
        A filter on the events, as the caller writes it (a rule's ``where`` node);
        :func:`event_aggregates` hands it to its ``where`` function.

    Examples
    --------
    >>> Measure("sum", "purchase", datetime.date(2025, 2, 1), datetime.date(2025, 2, 28),
    ...         field="amount").kind
    'sum'
    """

    kind: str
    event: str
    start: datetime.date
    end: datetime.date
    field: str | None = None
    where: Hashable | None = None

    def __post_init__(self) -> None:
        if self.kind not in MEASURE_KINDS:
            raise InvalidValueError(
                f"a measure is one of {', '.join(MEASURE_KINDS)}, not {self.kind!r}"
            )
        if self.kind in _FIELD_KINDS and not self.field:
            raise InvalidValueError(f"a {self.kind} measure needs the field it reads")


WhereFunction = Callable[[Any, ibis.Table], Any]


def event_aggregates(
    catalog: Catalog,
    source: EventSource,
    measures: Mapping[str, Measure],
    *,
    key: str,
    zone: Any = "UTC",
    where: WhereFunction | None = None,
    ids: Any = None,
) -> ibis.Table:
    """One scan of an events table: every measure as a conditional aggregate, per entity.

    The scan keeps only the events named and the days of the windows (and the
    filter, when every measure has the same one); each measure then adds only
    the conditions that tell it apart from the others.

    Parameters
    ----------
    catalog
        The resolved catalog (tables come from it).
    source
        The events table.
    measures
        Output column name -> :class:`Measure`, in column order.
    key
        The name of the entity id column of the result.
    zone
        The time zone days are cut in (a tzinfo or an IANA name).
    where
        ``where(filter, rows)`` -> a boolean Ibis expression over ``rows`` for a
        measure's ``where``; needed when a measure has one.
    ids
        An Ibis column of entity ids: only their events are read (None: all).

    Returns
    -------
    ibis.Table
        ``key`` and one column per measure; entities without any kept event have no row,
        so a left join to it needs ``coalesce(count, 0)``.

    Examples
    --------
    >>> week = Measure("count", "purchase", datetime.date(2025, 2, 23), datetime.date(2025, 3, 1))
    >>> event_aggregates(catalog, source, {"purchases_7d": week}, key="user_id")  # doctest: +SKIP
    """
    if not measures:
        raise InvalidValueError("event_aggregates needs at least one measure")
    rows, spans, events, shared = _scan(catalog, source, measures.values(), zone, where)
    if ids is not None:
        rows = rows.filter(rows[source.id].isin(ids))
    aggregates = {}
    for alias, m in measures.items():
        parts = []
        if len(events) > 1:
            parts.append(rows[source.name] == m.event)
        if spans != [(m.start, m.end)]:
            parts.append(day_range(rows[source.time], m.start, m.end, zone))
        if m.where is not None and shared is None:
            parts.append(where(m.where, rows))
        condition = functools.reduce(operator.and_, parts) if parts else None
        if m.kind == "count":
            aggregates[alias] = rows.count(where=condition)
        elif m.kind == "sum":
            aggregates[alias] = rows[m.field].sum(where=condition)
        elif m.kind == "mean":
            aggregates[alias] = rows[m.field].mean(where=condition)
        elif m.kind == "distinct":
            aggregates[alias] = rows[m.field].nunique(where=condition)
        elif m.kind == "days":
            aggregates[alias] = local_day(rows[source.time], zone).nunique(where=condition)
        elif m.kind == "min":
            aggregates[alias] = rows[m.field or source.time].min(where=condition)
        else:
            aggregates[alias] = rows[m.field or source.time].max(where=condition)
    return rows.group_by(**{key: rows[source.id]}).aggregate(**aggregates)


def event_ids(
    catalog: Catalog,
    source: EventSource,
    measure: Measure,
    *,
    key: str,
    zone: Any = "UTC",
    where: WhereFunction | None = None,
    distinct: bool = True,
) -> ibis.Table:
    """The distinct ids of the entities with at least one event that a count ``measure`` counts.

    A rule that only asks whether such events exist (``did(…)``, ``not did(…)``,
    ``count(…) >= 1``, ``count(…) = 0``) joins to these ids, or anti-joins them:
    a plain ``DISTINCT`` per event, as a person writes it, which DuckDB runs
    faster than one aggregation that counts every event apart.

    Parameters
    ----------
    catalog, source, key, zone, where
        As for :func:`event_aggregates`.
    measure
        A ``count`` measure.
    distinct
        False: an id once per event (an anti join needs no more, and skips the ``DISTINCT``).

    Returns
    -------
    ibis.Table
        One column, ``key``, each id once (with ``distinct``).
    """
    if measure.kind != "count":
        raise InvalidValueError(f"event_ids reads a count measure, not a {measure.kind} one")
    rows, *_ = _scan(catalog, source, [measure], zone, where)
    ids = rows.select(**{key: rows[source.id]})
    return ids.distinct() if distinct else ids


def _scan(catalog: Catalog, source: EventSource, measures, zone: Any, where):
    """The rows of an events table that any of ``measures`` reads.

    Returns the rows, the merged day spans, the event names and the filter
    every measure shares (None when they differ): what each measure still
    has to test on the rows to tell it apart from the others.
    """
    measures = list(measures)
    t = catalog.table(source.table)
    spans = merge_spans((m.start, m.end) for m in measures)
    events = list(dict.fromkeys(m.event for m in measures))
    if source.name is None and events != [source.event]:
        raise CatalogError(f"events table {source.table!r} holds only {source.event!r} events")
    wheres = {m.where for m in measures}
    shared = wheres.pop() if len(wheres) == 1 else None
    if where is None and any(m.where is not None for m in measures):
        raise InvalidValueError("a measure has a where filter: pass where= to compile it")
    scan = [functools.reduce(operator.or_, [day_range(t[source.time], *s, zone) for s in spans])]
    if source.name is not None:
        name = t[source.name]
        scan.insert(0, name == events[0] if len(events) == 1 else name.isin(events))
    if shared is not None:
        scan.append(where(shared, t))
    return t.filter(*scan), spans, events, shared
