"""What a feature column is: its kind and the :class:`Feature` that names it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "Feature"]

#: what a feature column holds
KINDS = {
    "number": "numeric tag or attribute, as it is",
    "boolean": "boolean tag or attribute, 1 or 0",
    "days_since": "days from a datetime tag or attribute to the end of the as-of day",
    "one_hot": "1 where an enum tag or attribute equals a value, else 0",
    "count": "number of events in the window",
    "sum": "sum of an event field over the window",
    "recency": "days from the last event (within the longest window) to the end of the as-of day",
}


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
        if self.kind in ("count", "sum"):
            what = f"{self.source}.{self.field}" if self.field else self.source
            return f"{self.kind}({what}, T-{self.window - 1}..T)"
        if self.kind == "recency":
            return f"days since last {self.source}"
        if self.kind == "days_since":
            return f"days since {self.source}"
        return self.source
