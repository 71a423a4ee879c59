"""Days and time zones: "today" in a zone, dates from what users type, the store's clock."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from segnb.errors import RuleError, SegnbError

__all__ = ["as_date", "check_zone", "today", "utcnow", "zone"]


def zone(tz: str) -> ZoneInfo:
    """The IANA time zone ``tz``; a clear error for an unknown name."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SegnbError(
            f"unknown time zone {tz!r}; use an IANA name like 'Asia/Shanghai'"
        ) from None


def check_zone(tz: str | None) -> str | None:
    """``tz`` when it is None or a known IANA name."""
    if tz:
        zone(tz)
    return tz


def today(tz: str | None = None) -> dt.date:
    """Today's date in ``tz`` (an IANA name), or in local time when None."""
    if not tz:
        return dt.date.today()
    return dt.datetime.now(zone(tz)).date()


def as_date(value: Any, tz: str | None = None, what: str = "as_of", error=None) -> dt.date:
    """A date from None (today in ``tz``), a date, a datetime or an ISO string.

    ``what`` names the argument in the error; ``error`` is its class
    (default :class:`~segnb.errors.RuleError`).

    Examples
    --------
    >>> as_date("2026-11-21")
    datetime.date(2026, 11, 21)
    """
    if value is None:
        return today(tz)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    kind = error or RuleError
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise kind(f"{what}={value!r} is not a date; write it as YYYY-MM-DD") from None
    raise kind(f"{what} takes a date or 'YYYY-MM-DD', not {type(value).__name__}")


def utcnow() -> dt.datetime:
    """Now in UTC without tzinfo: what the store's TIMESTAMP columns hold."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
