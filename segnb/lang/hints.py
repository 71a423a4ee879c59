"""What would be right: the suggestions and examples of rule errors, in the user's own names.

An error names what was wrong; these helpers find what the user probably meant
(the nearest tag, event, field or segment, via :func:`segnb.hints.closest`) and
write examples with the tags and events of the user's catalog rather than
made-up ones.

Examples
--------
>>> unknown_function("cont")
('count', None)
"""

from __future__ import annotations

from segnb.catalog.model import Entity
from segnb.hints import closest
from segnb.lang.lex import DATE_HINT
from segnb.lang.text import FUNCTIONS, quote_name

__all__ = [
    "DATE_HINT",
    "VALUE_HINT",
    "WINDOW_HINT",
    "call_example",
    "example_event",
    "unknown_function",
]

VALUE_HINT = 'a value is a "string", a number, true, false or a date (2024-08-06, T, T-6)'
WINDOW_HINT = "a window A..B covers whole days from A through B, e.g. T-6..T is the last 7 days"


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
    }
    return f"e.g. {examples.get(fn, fn + '(name)')}"


def unknown_function(name: str) -> tuple[str | None, str | None]:
    """``(suggestion, hint)`` for a call of a function the language does not have."""
    guess = closest(name, FUNCTIONS)
    return guess, None if guess else f"the functions are {', '.join(FUNCTIONS)}"
