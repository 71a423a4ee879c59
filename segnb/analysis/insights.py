"""Insights: each tag's distribution in a segment against the whole population, with TGI.

For every tag (and entity attribute) of the segment's target object, the
entities are put in buckets — enum and boolean values, the ``top`` most
common enum values with the rest as ``(other)``, numbers and datetimes in
quantile bins of the population (or their own values when there are few) —
and each bucket gets its count and share in the segment and in the whole
population, and the **TGI** (target group index)::

    TGI = segment share / population share * 100

A TGI above 100 means the bucket is over-represented in the segment.

Everything is computed in the engine: one query for the bin edges and the
totals, one ``UNION ALL`` of per-tag aggregations for the counts. The tag
values are the latest snapshot on or before the version's as-of date (like
a rule's latest value); entities absent from that snapshot count as
``(no value)``.

Examples
--------
>>> ws.segment("active_buyers").insights().head()        # doctest: +SKIP
   field        label  kind  type     bucket  segment  segment_share  population  ...  tgi
0   city         City   tag  enum   Shenzhen      212          0.181        3101  ...  172.4
"""

from __future__ import annotations

import datetime
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis

from segnb.compile.blocks import latest_snapshot
from segnb.compile.time import ONE_DAY, time_zone
from segnb.errors import InvalidValueError
from segnb.hints import closest

if TYPE_CHECKING:
    from segnb.catalog.model import Catalog, Entity, Field

__all__ = ["COLUMNS", "MISSING", "OTHER", "insights", "nice_edges"]

MISSING = "(no value)"
OTHER = "(other)"
COLUMNS = [
    "field", "label", "kind", "type", "bucket", "order", "segment", "segment_share",
    "population", "population_share", "tgi",
]  # fmt: skip
#: a number or datetime tag with at most this many distinct values keeps its own values
DISCRETE_LIMIT = 12
EN_DASH = "\u2013"  # ranges of whole numbers: 3, en dash, 5
DASH = f" {EN_DASH} "  # ranges of decimals and dates, spaced
_EPOCH = datetime.datetime(1970, 1, 1)


@dataclass(frozen=True)
class _Plan:
    """How one field is bucketed: by value, by value with a top-k, or by bin edges."""

    index: int
    field: Field
    kind: str  # "tag" | "attribute"
    mode: str = "values"  # "values" | "top" | "bins"
    edges: tuple[float, ...] = ()
    low: float | None = None  # smallest and largest value (bins only)
    high: float | None = None

    @property
    def alias(self) -> str:
        return f"f{self.index}"


def insights(
    catalog: Catalog,
    ent: Entity,
    members: Any,
    day: datetime.date,
    tz: str,
    *,
    fields: list[str] | None = None,
    bins: int = 5,
    top: int = 10,
    attributes: bool = True,
):
    """The distribution of each tag in a segment's version against the population.

    Parameters
    ----------
    catalog, ent
        The resolved catalog and the segment's target object.
    members
        An Ibis table of the members, with the entity's id column.
    day
        Date of the tag values: the latest snapshot on or before it.
    tz
        IANA time zone the days of tz-aware snapshot columns are cut in (UTC when empty).
    fields
        Tags or attributes to describe (default: every tag, then every attribute).
    bins
        Quantile bins of number and datetime tags with many distinct values.
    top
        Enum values shown per tag; the rest are summed as ``(other)``.
    attributes
        Whether entity attributes (``channel``, ``age``, …) are described too.

    Returns
    -------
    pandas.DataFrame
        One row per field and bucket: see :data:`COLUMNS`.
    """
    import pandas as pd

    if not isinstance(bins, int) or isinstance(bins, bool) or not 2 <= bins <= 20:
        raise InvalidValueError(f"bins={bins!r}; use a whole number from 2 to 20")
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise InvalidValueError(f"top={top!r}; use a whole number of at least 1")
    plans = _plans(ent, fields, attributes)
    if not plans:
        return pd.DataFrame(columns=COLUMNS)
    base = _base(catalog, ent, plans, members, day, tz or "UTC")
    stats = _stats(base, plans, bins)
    plans = [_bucketing(p, stats, bins) for p in plans]
    counts = _counts(base, plans, top)
    return _frame(plans, counts, stats)


# -- what to describe ----------------------------------------------------------------


def _plans(ent: Entity, fields: list[str] | None, attributes: bool) -> list[_Plan]:
    known: dict[str, tuple[Field, str]] = {}
    for source in ent.tags:
        for f in source.fields.values():
            known.setdefault(f.name, (f, "tag"))
    for f in ent.attributes.values():
        if attributes or fields is not None:
            known.setdefault(f.name, (f, "attribute"))
    names = list(known) if fields is None else list(dict.fromkeys(fields))
    for name in names:
        if name not in known:
            guess = closest(str(name), list(known))
            raise InvalidValueError(
                f"{ent.name} has no tag or attribute {name!r}"
                + (f"; did you mean {guess!r}?" if guess else "")
                + f" (fields: {', '.join(known)})"
            )
    return [_Plan(i, *known[name]) for i, name in enumerate(names)]


# -- the population table --------------------------------------------------------------


def _base(catalog: Catalog, ent: Entity, plans: list[_Plan], members, day, tz: str):
    """Every entity with its field values (latest snapshot on or before ``day``) and ``_in``."""
    entities = catalog.table(ent.table)
    base = entities.select(
        entities[ent.id].name("_id"),
        *[entities[p.field.name].name(p.alias) for p in plans if p.kind == "attribute"],
    )
    for index, source in enumerate(ent.tags):
        wanted = [p for p in plans if p.kind == "tag" and p.field.name in source.fields]
        if not wanted:
            continue
        rows = latest_snapshot(catalog, source, day, time_zone(tz))
        key = f"_k{index}"
        snap = rows.select(
            rows[source.id].name(key), *[rows[p.field.name].name(p.alias) for p in wanted]
        )
        base = base.left_join(snap, base["_id"] == snap[key]).drop(key)
    flags = members.select(members[ent.id].name("_m"), _hit=ibis.literal(1))
    base = base.left_join(flags, base["_id"] == flags["_m"])
    return base.select(*[base[p.alias] for p in plans], _in=base["_hit"].fill_null(0).cast("int64"))


def _numeric(plan: _Plan) -> bool:
    f = plan.field
    return f.type in ("number", "datetime") and not f.is_numeric_enum


def _as_number(column, field: Field):
    """Numbers as they are; datetimes and dates as seconds since 1970 (UTC)."""
    if field.type != "datetime":
        return column
    if field.dtype.is_date():
        column = column.cast("timestamp")
    return column.epoch_seconds()


# -- totals and edges (one query) ------------------------------------------------------


def _stats(base, plans: list[_Plan], bins: int) -> dict[str, Any]:
    quantiles = [i / bins for i in range(1, bins)]
    measures: dict[str, Any] = {
        "_population": base.count(),
        "_segment": base["_in"].sum(),
    }
    for p in plans:
        col = base[p.alias]
        measures[f"{p.alias}_pn"] = col.count()  # values that are not null
        measures[f"{p.alias}_sn"] = col.count(where=base["_in"] == 1)
        if _numeric(p):
            number = _as_number(col, p.field).cast("float64")
            measures[f"{p.alias}_nd"] = col.nunique()
            measures[f"{p.alias}_q"] = number.quantile(quantiles)
            measures[f"{p.alias}_min"] = number.min()
            measures[f"{p.alias}_max"] = number.max()
    out = base.aggregate(**measures).to_pyarrow().to_pylist()[0]
    return {k: (0 if v is None and not k.endswith("_q") else v) for k, v in out.items()}


def nice_edges(values: list[float], *, integer: bool = False, datetime_: bool = False) -> tuple:
    """Quantile cut points rounded for reading, distinct and increasing.

    Numbers keep two significant digits (whole numbers for integer tags);
    datetimes are cut at midnight (seconds since 1970).

    Examples
    --------
    >>> nice_edges([2.8, 4.61, 6.4, 8.2])
    (2.8, 4.6, 6.4, 8.2)
    >>> nice_edges([1.5, 3.2, 3.4], integer=True)   # whole numbers, each edge once
    (2.0, 4.0)
    """
    out: list[float] = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if datetime_:
            edge = math.floor(value / 86400) * 86400.0
        elif integer:
            edge = float(math.ceil(value))
        elif value == 0:
            edge = 0.0
        else:
            digits = 1 - math.floor(math.log10(abs(value)))
            edge = round(value, digits)
        if not out or edge > out[-1]:
            out.append(edge)
    return tuple(out)


def _bucketing(plan: _Plan, stats: dict[str, Any], bins: int) -> _Plan:
    f = plan.field
    if f.type == "enum":
        return _Plan(plan.index, f, plan.kind, "top")
    if f.type == "boolean" or not _numeric(plan):
        return _Plan(plan.index, f, plan.kind, "values")
    if (stats.get(f"{plan.alias}_nd") or 0) <= max(DISCRETE_LIMIT, bins):
        return _Plan(plan.index, f, plan.kind, "values")
    edges = nice_edges(
        list(stats.get(f"{plan.alias}_q") or []),
        integer=f.dtype.is_integer(),
        datetime_=f.type == "datetime",
    )
    if not edges:
        return _Plan(plan.index, f, plan.kind, "values")
    low, high = stats.get(f"{plan.alias}_min"), stats.get(f"{plan.alias}_max")
    return _Plan(plan.index, f, plan.kind, "bins", edges, low, high)


# -- counts (one query) ---------------------------------------------------------------


def _counts(base, plans: list[_Plan], top: int) -> list[dict[str, Any]]:
    parts = []
    for p in plans:
        col = base[p.alias]
        rows = base.filter(col.notnull())
        if p.mode == "bins":
            number = _as_number(rows[p.alias], p.field)
            key = ibis.cases(
                *[(number < edge, str(i)) for i, edge in enumerate(p.edges)],
                else_=str(len(p.edges)),
            )
        else:
            key = rows[p.alias].cast("string")
        agg = rows.group_by(key.name("key")).aggregate(
            population=rows.count(), segment=rows["_in"].sum()
        )
        if p.mode == "top":
            agg = agg.order_by([ibis.desc("population"), "key"]).limit(top)
        parts.append(
            agg.select(ibis.literal(p.alias).name("field"), "key", "population", "segment")
        )
    query = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return query.to_pyarrow().to_pylist()


# -- the frame ----------------------------------------------------------------------


def _frame(plans: list[_Plan], counts: list[dict[str, Any]], stats: dict[str, Any]):
    import pandas as pd

    population = int(stats["_population"] or 0)
    segment = int(stats["_segment"] or 0)
    by_field: dict[str, list[dict[str, Any]]] = {}
    for r in counts:
        by_field.setdefault(r["field"], []).append(r)
    rows = []
    for p in plans:
        found = by_field.get(p.alias, [])
        buckets = _ordered(p, found)
        pn = int(stats.get(f"{p.alias}_pn") or 0)
        sn = int(stats.get(f"{p.alias}_sn") or 0)
        if p.mode == "top":
            listed_p = sum(int(r["population"]) for r in found)
            listed_s = sum(int(r["segment"] or 0) for r in found)
            if pn - listed_p > 0:
                buckets.append((OTHER, pn - listed_p, sn - listed_s))
        if population - pn > 0:
            buckets.append((MISSING, population - pn, segment - sn))
        for order, (bucket, pop, seg) in enumerate(buckets):
            seg_share = seg / segment if segment else 0.0
            pop_share = pop / population if population else 0.0
            rows.append(
                {
                    "field": p.field.name,
                    "label": p.field.label,
                    "kind": p.kind,
                    "type": p.field.type,
                    "bucket": bucket,
                    "order": order,
                    "segment": int(seg),
                    "segment_share": seg_share,
                    "population": int(pop),
                    "population_share": pop_share,
                    "tgi": seg_share / pop_share * 100 if pop_share else float("nan"),
                }
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"segment": "int64", "population": "int64", "order": "int64"})


def _ordered(plan: _Plan, found: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """``(bucket label, population, segment)`` in reading order."""
    triples = [(r["key"], int(r["population"]), int(r["segment"] or 0)) for r in found]
    if plan.mode == "bins":
        labels = _bin_labels(plan)
        triples.sort(key=lambda t: int(t[0]))
        return [(labels[int(k)], pop, seg) for k, pop, seg in triples]
    if plan.mode == "top":
        return sorted(triples, key=lambda t: (-t[1], t[0]))
    if plan.field.type == "boolean":
        rank = {"true": 0, "false": 1}
        return sorted(triples, key=lambda t: (rank.get(str(t[0]).lower(), 2), t[0]))
    if plan.field.type == "number":
        return [
            (_num(float(k)), pop, seg) for k, pop, seg in sorted(triples, key=lambda t: float(t[0]))
        ]
    return sorted(triples, key=lambda t: t[0])


def _bin_labels(plan: _Plan) -> list[str]:
    edges = plan.edges
    if plan.field.type == "datetime":
        days = [(_EPOCH + datetime.timedelta(seconds=e)).date() for e in edges]
        labels = [f"before {days[0]}"]
        labels += [f"{a}{DASH}{b - ONE_DAY}" for a, b in itertools.pairwise(days)]
        labels.append(f"{days[-1]} or later")
        return labels
    if plan.field.dtype.is_integer():
        low = int(plan.low) if plan.low is not None else None
        high = int(plan.high) if plan.high is not None else None
        ints = [int(e) for e in edges]
        inner = [(a, b - 1) for a, b in itertools.pairwise(ints)]
        bounds = [(low, ints[0] - 1), *inner, (ints[-1], high)]
        labels = []
        for a, b in bounds:
            if a is None:
                labels.append(f"≤ {_num(b)}")
            elif b is None:
                labels.append(f"≥ {_num(a)}")
            else:
                labels.append(_num(a) if a >= b else f"{_num(a)}{EN_DASH}{_num(b)}")
        return labels
    labels = [f"< {_num(edges[0])}"]
    labels += [f"{_num(a)}{DASH}{_num(b)}" for a, b in itertools.pairwise(edges)]
    labels.append(f"≥ {_num(edges[-1])}")
    return labels


def _num(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}"
