"""More behaviour: first/last occurrence, recency, more aggregates and ordered sequences.

The node kinds of SPEC §3 "More behaviour", on the same base as
:mod:`segnb.lang.nodes` (they register themselves in
:data:`~segnb.lang.tree.NODE_KINDS` and have a JSON form):

- :class:`First`, :class:`Last`: the calendar day (in the segment's time zone)
  of the first or last such event in the window, or ever up to ``T`` without
  one; unknown when there is none;
- :class:`DaysSince`: ``T`` minus the day of the last event; unknown if never;
- :class:`Avg`, :class:`Min`, :class:`Max`: of a number field of the events;
  unknown without events;
- :class:`Distinct`: how many distinct values a field takes; 0 without events;
- :class:`ActiveDays`: days with at least one event; 0 without events;
- :class:`DidSequence` of :class:`Step` s: ``did(a then b … within 1d, window)``,
  each step strictly after the previous one and, with ``within``, no later
  than the gap after it, every step inside the window.

Each takes a ``where`` filter on the events, as ``count()`` does.

Examples
--------
>>> from segnb.lang.nodes import Today, Window
>>> seq = DidSequence((Step("add_cart"), Step("purchase")), Window(Today(-6), Today()), "2h")
>>> seq.gap_minutes
120
>>> str(seq)
'did(add_cart then purchase within 2h, T-6..T)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from segnb.errors import RuleError, RuleSyntaxError
from segnb.lang.dates import Window
from segnb.lang.nodes import Condition, Operand, _check_events, _check_filter, _check_window, _name
from segnb.lang.tree import Node

__all__ = [
    "BEHAVIOUR_NODES",
    "FIELD_AGGREGATES",
    "GAP_UNITS",
    "MAX_GAP_MINUTES",
    "ActiveDays",
    "Avg",
    "DaysSince",
    "DidSequence",
    "Distinct",
    "First",
    "Last",
    "Max",
    "Min",
    "Step",
    "gap_minutes",
]

#: the units of ``within``: minutes in each
GAP_UNITS = {"d": 1440, "h": 60, "m": 1}
#: the longest gap ``within`` takes (ten years of days)
MAX_GAP_MINUTES = 3650 * 1440
_GAP = re.compile(r"([1-9][0-9]*)([dhm])\Z")


def gap_minutes(gap: str) -> int:
    """Minutes in a gap written ``Nd``, ``Nh`` or ``Nm``.

    >>> gap_minutes("1d"), gap_minutes("2h"), gap_minutes("30m")
    (1440, 120, 30)
    """
    m = _GAP.match(gap) if isinstance(gap, str) else None
    if m is None:
        raise RuleSyntaxError(
            f"a gap is a whole number and a unit, not {gap!r}", hint="e.g. within 1d, 2h or 30m"
        )
    minutes = int(m.group(1)) * GAP_UNITS[m.group(2)]
    if minutes > MAX_GAP_MINUTES:
        raise RuleError(f"the gap {gap} is longer than ten years", hint="e.g. within 30d")
    return minutes


def _events(node: Any, what: str, optional: bool = True) -> None:
    _check_events(node, what, optional)


@dataclass(frozen=True)
class First(Operand):
    """``first(event [where filter][, window])``: day of the first such event; unknown if none."""

    event: str
    window: Window | None = None
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _events(self, "first()")


@dataclass(frozen=True)
class Last(Operand):
    """``last(event [where filter][, window])``: day of the last such event; unknown if none."""

    event: str
    window: Window | None = None
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _events(self, "last()")


@dataclass(frozen=True)
class DaysSince(Operand):
    """``days_since(event [where filter])``: T minus the day of the last such event up to T."""

    event: str
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.event, "an event")
        _check_filter(self.where)


@dataclass(frozen=True)
class _FieldAggregate(Operand, abstract=True):
    event: str
    field: str
    window: Window | None = None
    where: Condition | None = None
    entity_level = True

    #: the function's name in the rule language
    word = ""

    def __post_init__(self) -> None:
        _name(self.field, "an event field")
        _events(self, f"{self.word}()")


@dataclass(frozen=True)
class Avg(_FieldAggregate):
    """``avg(event.field [where filter][, window])``: mean of a number field; unknown if none."""

    word = "avg"


@dataclass(frozen=True)
class Min(_FieldAggregate):
    """``min(event.field [where filter][, window])``: smallest value; unknown if none."""

    word = "min"


@dataclass(frozen=True)
class Max(_FieldAggregate):
    """``max(event.field [where filter][, window])``: largest value; unknown if none."""

    word = "max"


@dataclass(frozen=True)
class Distinct(Operand):
    """``distinct(event.field [where filter], window)``: distinct non-null values; 0 if none."""

    event: str
    field: str
    window: Window
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _name(self.field, "an event field")
        _events(self, "distinct()", optional=False)


@dataclass(frozen=True)
class ActiveDays(Operand):
    """``active_days(event [where filter], window)``: days with at least one such event."""

    event: str
    window: Window
    where: Condition | None = None
    entity_level = True

    def __post_init__(self) -> None:
        _events(self, "active_days()", optional=False)


@dataclass(frozen=True)
class Step(Node):
    """One step of a sequence: an event and an optional filter on it."""

    event: str
    where: Condition | None = None

    def __post_init__(self) -> None:
        _name(self.event, "an event")
        _check_filter(self.where)


@dataclass(frozen=True)
class DidSequence(Condition):
    """``did(a then b [then c …] [within gap], window)``: the steps happened in this order.

    Each step is strictly after the previous one and, with ``within`` (``Nd``,
    ``Nh`` or ``Nm``), at most that long after it; every step is in the window.
    """

    steps: tuple[Step, ...]
    window: Window
    within: str | None = None
    entity_level = True

    def __post_init__(self) -> None:
        if not isinstance(self.steps, tuple) or len(self.steps) < 2:
            raise RuleSyntaxError(
                "a sequence needs at least two steps joined by then",
                hint="e.g. did(add_cart then purchase within 2h, T-6..T); one event: did(purchase, T-6..T)",
            )
        for step in self.steps:
            if not isinstance(step, Step):
                raise RuleError(f"a sequence step must be a Step, not {step!r}")
        _check_window(self, "a sequence")
        if self.within is not None:
            gap_minutes(self.within)

    @property
    def gap_minutes(self) -> int | None:
        """The gap in minutes (None: any time inside the window)."""
        return None if self.within is None else gap_minutes(self.within)

    @property
    def events(self) -> tuple[str, ...]:
        """The event names of the steps, in order."""
        return tuple(step.event for step in self.steps)


#: the aggregates over one event field
FIELD_AGGREGATES = (Avg, Min, Max)
#: every node kind of this module that reads an events table through the one-pass aggregation
BEHAVIOUR_NODES = (First, Last, DaysSince, Avg, Min, Max, Distinct, ActiveDays)
