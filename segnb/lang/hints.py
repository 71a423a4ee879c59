"""What would be right: the suggestions and examples of rule errors, in the user's own names.

An error names what was wrong; these helpers find what the user probably meant
(the nearest tag, event, field or segment, via :func:`segnb.hints.closest`) and
write examples with the tags and events of the user's catalog rather than
made-up ones.

Examples
--------
>>> nearest("cty", ["city", "channel"], "tags")
('city', None)
>>> nearest("xyz", ["city", "channel"], "tags")
(None, 'tags: city, channel')
>>> value_fix("number", "5", "trade_cnt_7d")
('5', 'numbers are written without quotes')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from segnb.catalog.model import Catalog, Entity
from segnb.hints import closest
from segnb.lang import nodes as r
from segnb.lang.lex import DATE_HINT
from segnb.lang.text import FUNCTIONS, quote_name, quote_string, to_text, value_text

__all__ = [
    "DATE_HINT",
    "VALUE_HINT",
    "WINDOW_HINT",
    "call_example",
    "example_event",
    "listing",
    "nearest",
    "unknown_function",
    "unknown_name",
    "unknown_segment",
    "value_fix",
]

VALUE_HINT = 'a value is a "string", a number, true, false or a date (2024-08-06, T, T-6)'
WINDOW_HINT = "a window A..B covers whole days from A through B, e.g. T-6..T is the last 7 days"

_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?\Z")


def listing(names: Sequence[str], limit: int = 12) -> str:
    """Names as rule text, comma-separated, the first ``limit`` of them."""
    shown = ", ".join(quote_name(n) for n in names[:limit])
    return shown + (", …" if len(names) > limit else "")


def nearest(name: str, candidates: Iterable[str], label: str) -> tuple[str | None, str | None]:
    """``(suggestion, hint)``: the candidate nearest ``name``, else a hint listing them all."""
    candidates = list(candidates)
    guess = closest(name, candidates)
    return guess, None if guess else f"{label}: {listing(candidates)}"


# -- examples in the user's names ---------------------------------------------


def example_event(entity: Entity) -> str:
    """An event name of ``entity`` known without a query, for examples in hints."""
    for source in entity.events:
        if source.event or source.declared:
            return quote_name(source.event or source.declared[0])
    return "event"


def call_example(entity: Entity, fn: str) -> str:
    """``e.g. count(purchase, T-6..T)``: how to call ``fn``, with an event or tag of ``entity``."""
    event = example_event(entity)
    number = next((t for t in entity.tag_names if entity.tag(t).type == "number"), "tag")
    examples = {
        "count": f"count({event}, T-6..T)",
        "sum": f"sum({event}.field, T-29..T)",
        "did": f"did({event}, T-6..T)",
        "change": f"change({quote_name(number)}, T-7, T-1)",
        "first": f"first({event}) >= T-29",
        "last": f"last({event}) < T-89",
        "days_since": f"days_since({event}) > 14",
        "avg": f"avg({event}.field, T-29..T) > 50",
        "min": f"min({event}.field, T-29..T) > 50",
        "max": f"max({event}.field, T-29..T) > 50",
        "distinct": f"distinct({event}.field, T-89..T) >= 3",
        "active_days": f"active_days({event}, T-29..T) >= 10",
    }
    return f"e.g. {examples.get(fn, fn + '(name)')}"


def unknown_function(name: str) -> tuple[str | None, str | None]:
    """``(suggestion, hint)`` for a call of a function the language does not have."""
    guess = closest(name, FUNCTIONS)
    return guess, None if guess else f"the functions are {', '.join(FUNCTIONS)}"


# -- values of the wrong kind -------------------------------------------------


def _as_number(value: str) -> str | None:
    text = value.strip()
    return text if _NUMBER.match(text) else None


def _as_date(value: str) -> str | None:
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        return None


def value_fix(need: str, value: Any, left: str) -> tuple[str | None, str]:
    """``(fixed value, hint)`` for ``value`` where ``left`` needs a value of kind ``need``."""
    kind = r.value_kind(value)
    if need == "number" and kind == "string" and _as_number(value):
        return _as_number(value), "numbers are written without quotes"
    if need == "date" and kind == "string" and _as_date(value):
        return _as_date(value), "dates are written without quotes"
    if need == "string" and kind != "string":
        return quote_string(value_text(value)), "enum values are strings: put them in quotes"
    if need == "number":
        return None, f"compare {left} with a number, e.g. {left} >= 5"
    if need == "date":
        return None, f"compare {left} with a date: 2024-08-06, T or T-30"
    if need == "boolean" and kind == "string" and value.lower() in ("true", "false"):
        return value.lower(), "true and false are written without quotes"
    if need == "boolean":
        return None, f"{left} is true or false: write {left} = true, or simply {left}"
    return None, f"compare {left} with a {need}"


# -- names the catalog or the store does not know -----------------------------


def unknown_name(
    catalog: Catalog,
    entity: Entity,
    name: str,
    ctx: r.Node | None,
    segments: Collection[str] | None,
    scores: Collection[str] | None,
) -> tuple[str, str | None, str | None]:
    """``(message, suggestion, hint)`` for a name that is not a tag or attribute of ``entity``.

    ``ctx`` is the condition the name stands in: the example fits it (a count
    compared with the same number, ``did()`` for a bare name…).
    """
    ent = entity
    events = catalog.event_names(ent) if ent.events else []
    message = f"{name!r} is not a tag or attribute of {ent.name}"
    if name in events:
        example = f"count({name}, T-6..T) >= 1"
        if isinstance(ctx, r.Compare) and r.value_kind(ctx.value) == "number":
            example = f"count({name}, T-6..T) {ctx.op} {value_text(ctx.value)}"
        elif isinstance(ctx, r.Truth):
            example = f"did({name}, T-6..T)"
        return (
            f"{name!r} is an event, not a tag or attribute of {ent.name}",
            example,
            "events are counted over a window of days: T-6..T is the last 7 days",
        )
    if isinstance(ctx, r.Truth) and segments is not None and name in segments:
        return message, f"in_segment({quote_name(name)})", None
    if scores is not None and name in scores:
        return message, f"score({quote_name(name)})", None
    sources = [s for s in ent.events if name in s.fields]
    if sources and events:
        with_field = [e for e in events if catalog.event_source(ent, e) in sources]
        event = with_field[0] if with_field else events[0]
        cond = to_text(ctx) if ctx is not None else f'{quote_name(name)} = "…"'
        return (
            f"{name!r} is a field of events, not a tag or attribute of {ent.name}",
            None,
            f"filter events with where, e.g. did({event} where {cond}, T-6..T); "
            f"events that have {name}: {listing(with_field)}",
        )
    guess, hint = nearest(
        name, ent.tag_names + list(ent.attributes), f"tags and attributes of {ent.name}"
    )
    if guess is None:
        event = closest(name, events)
        if event is not None:
            guess, hint = f"count({event}, T-6..T) >= 1", "events are counted over a window of days"
    return message, guess, hint


def unknown_segment(
    name: str, what: str, known: Collection[str], segments: Collection[str] | None
) -> tuple[str | None, str | None]:
    """``(suggestion, hint)`` for a segment (``what``: or prediction segment) not in ``known``."""
    guess = closest(name, known)
    hint = None if guess or not known else f"known {what}s: {listing(sorted(known))}"
    if what == "prediction segment" and segments is not None and name in segments:
        hint = f"{name} is a segment, not an AI prediction: use in_segment({quote_name(name)})"
    return guess, hint
