"""Days in rules: ``T±n`` (days from the run date ``T``), calendar dates, and windows of days.

Examples
--------
>>> w = Window(Today(-6), Today())
>>> w.resolve(dt.date(2024, 8, 7))
(datetime.date(2024, 8, 1), datetime.date(2024, 8, 7))
>>> date_text(w.start), date_text(DateLiteral(dt.date(2024, 8, 6)))
('T-6', '2024-08-06')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from segnb.errors import RuleError
from segnb.lang.tree import Node

__all__ = ["DateLiteral", "DateRef", "Today", "Window", "date_text"]


@dataclass(frozen=True)
class DateRef(Node, abstract=True):
    """A day: :class:`Today` (``T±n``) or a :class:`DateLiteral`."""

    def resolve(self, as_of: dt.date) -> dt.date:
        raise NotImplementedError


@dataclass(frozen=True)
class Today(DateRef):
    """``T`` plus ``offset`` days: ``T`` is the as-of date of the run (``T-6`` has offset -6)."""

    offset: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.offset, int) or isinstance(self.offset, bool):
            raise RuleError(f"a day offset must be a whole number, not {self.offset!r}")
        if abs(self.offset) > 36500:
            raise RuleError(f"a day offset of {self.offset} is more than 100 years")

    def resolve(self, as_of: dt.date) -> dt.date:
        return as_of + dt.timedelta(days=self.offset)


@dataclass(frozen=True)
class DateLiteral(DateRef):
    """A calendar date written in the rule, e.g. ``2024-08-06``."""

    value: dt.date

    def __post_init__(self) -> None:
        if not isinstance(self.value, dt.date) or isinstance(self.value, dt.datetime):
            raise RuleError(f"a date literal needs a datetime.date, not {self.value!r}")

    def resolve(self, as_of: dt.date) -> dt.date:
        return self.value


@dataclass(frozen=True)
class Window(Node):
    """Whole calendar days from ``start`` through ``end``, both included."""

    start: DateRef
    end: DateRef

    def __post_init__(self) -> None:
        for part in (self.start, self.end):
            if not isinstance(part, DateRef):
                raise RuleError(f"a window bound must be a date or T±n, not {part!r}")
        same_kind = type(self.start) is type(self.end)
        if same_kind and self.start.resolve(dt.date(2000, 1, 1)) > self.end.resolve(
            dt.date(2000, 1, 1)
        ):
            raise RuleError(
                "empty window: it ends before it starts",
                hint=f"write the earlier day first, e.g. {date_text(self.end)}..{date_text(self.start)}",
            )

    def resolve(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day of the window for a given as-of date."""
        start, end = self.start.resolve(as_of), self.end.resolve(as_of)
        if start > end:
            raise RuleError(f"empty window: {start} .. {end} ends before it starts for T = {as_of}")
        return start, end


def date_text(ref: DateRef) -> str:
    """``2024-08-06``, ``T``, ``T-6`` or ``T+1``: a day as rule text."""
    if isinstance(ref, DateLiteral):
        return ref.value.isoformat()
    if ref.offset == 0:
        return "T"
    return f"T{ref.offset:+d}"
