"""What a feature column is: its kind and the :class:`Feature` that names it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["HISTORY_KINDS", "KINDS", "Feature"]

#: what a feature column holds
KINDS = {
    "number": "numeric tag or attribute, as it is",
    "boolean": "boolean tag or attribute, 1 or 0",
    "days_since": "days from a datetime tag or attribute to the end of the as-of day",
    "one_hot": "1 where an enum tag or attribute equals a value, else 0",
    "count": "number of events in the window",
    "sum": "sum of an event field over the window",
    "recency": "days from the last event (within the longest window) to the end of the as-of day",
    # history features (``history=True``, the forecast mode); a window of None means "ever"
    "active_days": "days with at least one event in the window",
    "mean": "mean of an event field over the window (unknown without events)",
    "trend": "events in the window minus events in the window of the same length before it",
    "tenure": "days from the first event ever to the end of the as-of day (unknown if none)",
    "last_seen": "days from the last event ever to the end of the as-of day (unknown if none)",
}
#: kinds computed over all events up to the as-of day (window None) or over two windows
HISTORY_KINDS = ("active_days", "mean", "trend", "tenure", "last_seen")


@dataclass(frozen=True)
class Feature:
    """One column of the feature table.

    ``origin`` is ``"attribute"``, ``"tag"`` or ``"event"``; ``source`` the
    attribute, tag or event name it is computed from; ``value`` the category
    of a one-hot column; ``field`` the event field of a sum; ``window`` the
    days of a count or sum.
    """

    name: str
    source: str
    kind: str
    origin: str
    table: str
    value: Any = None
    field: str | None = None
    window: int | None = None

    @property
    def description(self) -> str:
        if self.kind == "one_hot":
            return f"{self.source} = {self.value!r}"
        what = f"{self.source}.{self.field}" if self.field else self.source
        span = "ever" if self.window is None else f"T-{self.window - 1}..T"
        if self.kind in ("count", "sum", "active_days"):
            return f"{self.kind}({what}, {span})"
        if self.kind == "mean":
            return f"avg({what}, {span})"
        if self.kind == "trend":
            w = self.window
            return f"count({what}, {span}) - count({what}, T-{2 * w - 1}..T-{w})"
        if self.kind == "recency":
            return f"days since last {self.source}"
        if self.kind == "tenure":
            return f"days since first {self.source} ever"
        if self.kind == "last_seen":
            return f"days since last {self.source} ever"
        if self.kind == "days_since":
            return f"days since {self.source}"
        return self.source
