"""The options every segment has (SPEC §2): checked once, for every creation method.

Examples
--------
>>> check_name("active_buyers")
'active_buyers'
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from typing import Any

from segnb.errors import InvalidValueError
from segnb.times import as_date, today

__all__ = [
    "EMAIL",
    "REFRESH",
    "SCENARIOS",
    "SCOPES",
    "check_name",
    "current_options",
    "options",
    "parse_expires",
    "split_options",
]

REFRESH = ("once", "daily")
SCENARIOS = {
    "insight": "insight analysis",
    "delivery": "messages/ad delivery",
    "reward": "reward distribution",
    "leads": "leads distribution",
}
SCOPES = ("public", "private", "shared")
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def parse_expires(value: Any, day: dt.date) -> dt.date | None:
    """An expiry date from a date or 'YYYY-MM-DD' (None: never); not before ``day``."""
    if value is None:
        return None
    value = as_date(value, what="expires", error=InvalidValueError)
    if value < day:
        raise InvalidValueError(
            f"expires={value} is in the past (today is {day}); pick a later day"
        )
    return value


def check_name(name: Any, what: str = "segment") -> str:
    """``name`` when it is a usable name of a segment, group or plan."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueError(f"a {what} needs a non-empty name, not {name!r}")
    if (
        name != name.strip()
        or len(name) > 128
        or any(ord(c) < 32 or c == "`" or 0xD800 <= ord(c) <= 0xDFFF for c in name)
    ):
        raise InvalidValueError(
            f"{what} name {name!r} has leading/trailing spaces, control or broken characters or "
            "backticks, "
            "or is longer than 128 characters; use e.g. 'active_buyers'"
        )
    return name


def options(
    ctx: Any,
    *,
    group: str | None = None,
    description: str = "",
    refresh: str = "once",
    scenario: str | None = None,
    tz: str | None = None,
    expires: Any = None,
    time_sensitive: bool = False,
    email: str | None = None,
    scope: str = "public",
    shared_with: list[str] | tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The validated metadata columns of a new segment (SPEC §2)."""
    for what, value in (
        ("group", group),
        ("description", description),
        ("refresh", refresh),
        ("scenario", scenario),
        ("tz", tz),
        ("email", email),
        ("scope", scope),
    ):
        if value is not None and not isinstance(value, str):
            raise InvalidValueError(f"{what}= takes text, not {type(value).__name__} {value!r}")
    if not isinstance(time_sensitive, bool):
        raise InvalidValueError(f"time_sensitive= takes True or False, not {time_sensitive!r}")
    if isinstance(shared_with, str):
        shared_with = [shared_with]
    if shared_with is not None and (
        not isinstance(shared_with, (list, tuple, set))
        or not all(isinstance(u, str) and u.strip() for u in shared_with)
    ):
        raise InvalidValueError(
            f"shared_with= takes a list of user names like ['alice', 'bob'], not {shared_with!r}"
        )
    if refresh not in REFRESH:
        raise InvalidValueError(f"refresh={refresh!r}; use one of {', '.join(REFRESH)}")
    if scenario is not None:
        codes = {v: k for k, v in SCENARIOS.items()}
        scenario = codes.get(scenario, scenario)
        if scenario not in SCENARIOS:
            raise InvalidValueError(
                f"scenario={scenario!r}; use one of {', '.join(SCENARIOS)} "
                f"({'; '.join(SCENARIOS.values())})"
            )
    zone = tz or ctx.tz or "UTC"
    day = today(zone)  # validates the zone
    if time_sensitive and refresh != "daily":
        raise InvalidValueError(
            "time_sensitive=True needs refresh='daily' (only daily segments go stale)"
        )
    if email is not None and not EMAIL.match(str(email)):
        raise InvalidValueError(f"email={email!r} is not an e-mail address like 'team@example.com'")
    shared = [str(u) for u in (shared_with or [])]
    if shared and scope == "public":
        scope = "shared"
    if scope not in SCOPES:
        raise InvalidValueError(f"scope={scope!r}; use one of {', '.join(SCOPES)}")
    if scope == "shared" and not shared:
        raise InvalidValueError("scope='shared' needs shared_with=[user, …]")
    return {
        "group_name": check_name(group or ctx.settings.default_group, "group"),
        "description": str(description or ""),
        "refresh": refresh,
        "scenario": scenario,
        "timezone": zone,
        "expires_at": parse_expires(expires, day),
        "time_sensitive": bool(time_sensitive),
        "email": email,
        "scope": scope,
        "shared_with": shared if scope == "shared" else [],
    }


def current_options(row: dict[str, Any]) -> dict[str, Any]:
    """A stored segment's options as :func:`options` takes them."""
    return {
        "group": row["group_name"], "description": row["description"],
        "refresh": row["refresh"], "scenario": row["scenario"], "tz": row["timezone"],
        "expires": row["expires_at"], "time_sensitive": row["time_sensitive"],
        "email": row["email"], "scope": row["scope"], "shared_with": row["shared_with"],
    }  # fmt: skip


_OPTION_NAMES = frozenset(inspect.signature(options).parameters) - {"ctx"}


def split_options(kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Segment options (group, refresh, …) and the rest (a method's own inputs)."""
    return (
        {k: v for k, v in kw.items() if k in _OPTION_NAMES},
        {k: v for k, v in kw.items() if k not in _OPTION_NAMES},
    )
