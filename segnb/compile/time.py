"""Days as SQL sees them: midnights, day ranges and day comparisons on date or timestamp columns.

A rule speaks in calendar days of the segment's time zone; the warehouse
holds dates, naive timestamps (wall clock) or tz-aware timestamps. Every
condition on a day becomes a plain range predicate on the column itself
(``col >= midnight(first) AND col < midnight(last + 1)``), never a cast of
the column, so indexes and partition pruning keep working.

Examples
--------
>>> import datetime, ibis.expr.datatypes as dt
>>> midnight(datetime.date(2025, 3, 1), dt.date, time_zone("UTC")).execute()  # doctest: +SKIP
datetime.date(2025, 3, 1)
>>> merge_spans([(datetime.date(2025, 3, 1), datetime.date(2025, 3, 3)),
...              (datetime.date(2025, 3, 4), datetime.date(2025, 3, 5))])
[(datetime.date(2025, 3, 1), datetime.date(2025, 3, 5))]
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from segnb.errors import RuleError, SegnbError
from segnb.times import as_date as _base_as_date
from segnb.times import zone as _base_zone

__all__ = [
    "DAY_COMPARE",
    "ONE_DAY",
    "as_date",
    "before",
    "day_range",
    "days_between",
    "from_",
    "local_day",
    "merge_spans",
    "midnight",
    "next_midnight",
    "on_or_before",
    "time_zone",
]

ONE_DAY = datetime.timedelta(days=1)


#: comparison of a timestamp with a calendar day: ``lo``/``hi`` are that day's
#: midnight and the next day's, so only plain range predicates reach SQL
def before(x, hi):
    """``x < hi``; with no ``hi`` (the last day of the calendar) true for every known ``x``."""
    return x <= x if hi is None else x < hi  # x <= x: unknown stays unknown


def from_(x, hi):
    """``x >= hi``; with no ``hi`` (the last day of the calendar) false for every known ``x``."""
    return x < x if hi is None else x >= hi


#: a day compared with a timestamp column, as ``lo <= x < hi`` ranges (``hi`` None: 9999-12-31)
DAY_COMPARE = {
    "=": lambda x, lo, hi: (x >= lo) & before(x, hi),
    "!=": lambda x, lo, hi: (x < lo) | from_(x, hi),
    "<": lambda x, lo, hi: x < lo,
    "<=": lambda x, lo, hi: before(x, hi),
    ">": lambda x, lo, hi: from_(x, hi),
    ">=": lambda x, lo, hi: x >= lo,
}


def as_date(value: Any, what: str = "as_of") -> datetime.date:
    """The run date ``T`` from a date, a datetime or an ISO string; None is refused.

    The engine's one date coercer (:func:`segnb.times.as_date`) without its
    "None is today" default: a query is always compiled for a stated day.

    Parameters
    ----------
    value
        The date as given.
    what
        The argument's name, for the error.

    Raises
    ------
    RuleError
        When ``value`` is None or not a date.

    Examples
    --------
    >>> as_date("2025-03-01")
    datetime.date(2025, 3, 1)
    """
    if value is None:
        raise RuleError(f"{what} is needed: the date (YYYY-MM-DD) the rule is evaluated on")
    return _base_as_date(value, what=what, error=RuleError)


def time_zone(tz: str | datetime.tzinfo) -> datetime.tzinfo:
    """The time zone a segment's days are cut in: an IANA name, or a tzinfo as it is.

    Parameters
    ----------
    tz
        An IANA name (``"Asia/Shanghai"``) or a :class:`datetime.tzinfo`.

    Raises
    ------
    RuleError
        For an unknown name.

    Examples
    --------
    >>> time_zone("UTC")
    zoneinfo.ZoneInfo(key='UTC')
    """
    if isinstance(tz, datetime.tzinfo):
        return tz
    try:
        return _base_zone(tz)
    except SegnbError as exc:
        raise RuleError(str(exc)) from None


def midnight(day: datetime.date, dtype: dt.DataType, zone: Any):
    """Start of ``day`` (in ``zone`` for tz-aware columns) as a literal comparable with ``dtype``.

    Parameters
    ----------
    day
        The calendar day.
    dtype
        The type of the column it is compared with (a date or a timestamp).
    zone
        The segment's time zone (a tzinfo); used only for tz-aware timestamps.
    """
    if dtype.is_date():
        return ibis.literal(day)
    moment = datetime.datetime.combine(day, datetime.time())
    if dtype.timezone is not None:
        moment = moment.replace(tzinfo=time_zone(zone))
    return ibis.literal(moment, type=dtype)


def next_midnight(day: datetime.date, dtype: dt.DataType, zone: Any):
    """The start of the day after ``day`` (see :func:`midnight`); None after 9999-12-31."""
    return None if day == datetime.date.max else midnight(day + ONE_DAY, dtype, zone)


def day_range(column, first: datetime.date, last: datetime.date, zone: Any):
    """``first <= day(column) <= last`` as a plain range on the column itself.

    Parameters
    ----------
    column
        An Ibis date or timestamp column.
    first, last
        The first and last day, both included.
    zone
        The segment's time zone (see :func:`midnight`).
    """
    if first == datetime.date.min:  # a window that reads "ever, up to last"
        return on_or_before(column, last, zone)
    dtype = column.type()
    if dtype.is_date():
        return (column >= first) & (column <= last)
    return (column >= midnight(first, dtype, zone)) & before(
        column, next_midnight(last, dtype, zone)
    )


def on_or_before(column, day: datetime.date, zone: Any):
    """``day(column) <= day`` as a plain predicate on the column itself.

    Parameters
    ----------
    column
        An Ibis date or timestamp column.
    day
        The last day included.
    zone
        The segment's time zone (see :func:`midnight`).
    """
    dtype = column.type()
    if dtype.is_timestamp():
        return before(column, next_midnight(day, dtype, zone))
    return column <= day


def merge_spans(
    spans: Iterable[tuple[datetime.date, datetime.date]],
) -> list[tuple[datetime.date, datetime.date]]:
    """Union of day ranges (both ends included) as sorted ranges that neither overlap nor touch.

    Parameters
    ----------
    spans
        ``(first, last)`` day pairs.
    """
    merged: list[tuple[datetime.date, datetime.date]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or start - ONE_DAY == merged[-1][1]):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@ibis.udf.scalar.builtin(name="timezone")
def _wall_clock(zone: str, moment: dt.Timestamp(timezone="UTC")) -> dt.timestamp:
    """DuckDB's and PostgreSQL's ``timezone(zone, timestamptz)``: the wall clock time there."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_wall_clock(moment: dt.Timestamp(timezone="UTC"), zone: str) -> dt.timestamp:
    """Spark's ``from_utc_timestamp(instant, zone)``, the same under a UTC session time zone."""


def _wall_clock_in(zone: str, column):
    try:
        engine = column._find_backend(use_default=False).name
    except Exception:  # an unbound expression: DuckDB's and PostgreSQL's function
        engine = None
    if engine == "pyspark":
        return _spark_wall_clock(column, zone)
    return _wall_clock(zone, column)


def zone_name(zone: Any) -> str:
    """The IANA name of a time zone (a tzinfo or a name)."""
    zone = time_zone(zone)
    return getattr(zone, "key", None) or str(zone)


def local_day(column, zone: Any):
    """The calendar day of a date or timestamp value: tz-aware times in ``zone``.

    Parameters
    ----------
    column
        An Ibis date or timestamp value.
    zone
        The segment's time zone (a tzinfo or an IANA name).
    """
    dtype = column.type()
    if dtype.is_date():
        return column
    if dtype.timezone is not None:
        column = _wall_clock_in(zone_name(zone), column)
    return column.cast("date")


def days_between(first, day: datetime.date):
    """Whole days from the date value ``first`` to ``day`` (``day - first``), as an integer."""
    return ibis.literal(day).delta(first, unit="day")
