"""Where a segment is in its lifecycle: status, expiry, staleness, and plans that hold it.

Examples
--------
>>> effective_status({"status": "active", "expires_at": None}, dt.date(2026, 12, 1))
'active'
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from segnb.errors import SegmentStateError
from segnb.times import today

__all__ = [
    "METHOD_LABELS",
    "check_expiry",
    "definition_of",
    "effective_status",
    "extra_of",
    "is_due",
    "plan_status",
    "segment_today",
    "unfinished_plans",
    "usable_row",
]

METHOD_LABELS = {
    "rules": "rules",
    "sets": "segment sets",
    "upload": "custom list",
    "table": "SQL table",
    "lookalike": "lookalike",
    "prediction": "AI prediction",
}


def segment_today(ctx: Any, row: dict[str, Any]) -> dt.date:
    """Today in the segment's time zone (else the workspace's)."""
    return today(row.get("timezone") or ctx.tz)


def effective_status(row: dict[str, Any], day: dt.date) -> str:
    """The stored status, or ``expired`` once the expiry day has passed."""
    status = row["status"]
    expires = row.get("expires_at")
    if expires is not None and day > expires and status in ("active", "failed"):
        return "expired"
    return status


def usable_row(ctx: Any, row: dict[str, Any], purpose: str) -> dict[str, Any]:
    """``row`` when it can feed sets, plans, seeds or rules; a clear error otherwise."""
    status = effective_status(row, segment_today(ctx, row))
    name = row["name"]
    if status == "expired":
        raise SegmentStateError(
            f"segment {name!r} expired on {row['expires_at']}, so it cannot be used {purpose}; "
            f"extend it first: ws.segment({name!r}).extend(expires=...)"
        )
    if status != "active" or row.get("current_version") is None:
        why = f": {row['error']}" if row.get("error") else ""
        raise SegmentStateError(
            f"segment {name!r} is {status}{why}; only active segments can be used {purpose}"
            + (f". Refresh it first: ws.segment({name!r}).refresh()" if status == "failed" else "")
        )
    return row


def is_due(ctx: Any, row: dict[str, Any], version: dict[str, Any] | None = None) -> bool:
    """A daily segment whose newest version is older than today (in its time zone)."""
    if row["refresh"] != "daily" or effective_status(row, segment_today(ctx, row)) == "expired":
        return False
    if row["current_version"] is None:
        return True
    if version is None:
        version = ctx.store.version_row(row["id"], row["current_version"])
    return version["as_of"] is None or version["as_of"] < segment_today(ctx, row)


def plan_status(row: dict[str, Any], day: dt.date) -> str:
    """``scheduled`` before it starts, ``running``, or ``finished`` (by hand or past its end)."""
    if row["status"] == "finished" or (row["ends"] is not None and day > row["ends"]):
        return "finished"
    if row["starts"] is not None and day < row["starts"]:
        return "scheduled"
    return "running"


def unfinished_plans(ctx: Any, segment_id: int) -> list[dict[str, Any]]:
    """The operation plans that still use segment ``segment_id``."""
    day = today(ctx.tz)
    rows = ctx.store.select("plans", {"segment_id": segment_id}, order="id")
    return [r for r in rows if plan_status(r, day) != "finished"]


def check_expiry(ctx: Any, row: dict[str, Any], expires: dt.date | None) -> None:
    """Refuse an expiry date before the end of an unfinished plan that uses the segment."""
    if expires is None:
        return
    for plan in unfinished_plans(ctx, row["id"]):
        if plan["ends"] is not None and expires < plan["ends"]:
            raise SegmentStateError(
                f"segment {row['name']!r} cannot expire on {expires}: operation plan "
                f"{plan['name']!r} uses it until {plan['ends']}; pick {plan['ends']} or later"
            )


def _decoded(row: Any, key: str, what: str, strict: bool) -> dict[str, Any]:
    value = getattr(row, key, None) if not isinstance(row, dict) else None
    if isinstance(value, dict):
        return value
    text = row.get(key) if hasattr(row, "get") else None
    try:
        found = json.loads(text or "{}")
        if not isinstance(found, dict):
            raise ValueError("not a JSON object")
        return found
    except ValueError as exc:
        if not strict:
            return {}
        name = row.get("name") or row.get("segment_id")
        raise SegmentStateError(
            f"segment {name!r} has a broken {what} in the store ({exc}); delete it "
            "(ws.segment(name).delete()) or restore the row"
        ) from None


def definition_of(row: Any, *, strict: bool = True) -> dict[str, Any]:
    """A segment's definition, decoded once by the store; a clear error (or ``{}``) when broken."""
    return _decoded(row, "definition", "definition", strict)


def extra_of(version: Any, *, strict: bool = True) -> dict[str, Any]:
    """The facts kept with a version (reports, side tables); a clear error (or ``{}``) when broken."""
    return {} if version is None else _decoded(version, "extra", "version record", strict)
