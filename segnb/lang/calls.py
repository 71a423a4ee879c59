"""The grammar of the behaviour functions: first/last/days_since, avg/min/max, distinct,
active_days, and ``did`` with its ordered sequences.

A mixin of :class:`~segnb.lang.grammar.RuleParser`::

    behaviour := ("first" | "last") "(" events ["," window] ")"
               | "days_since" "(" events ")"
               | ("avg" | "min" | "max") "(" event "." name ["where" filter] ["," window] ")"
               | "distinct" "(" event "." name ["where" filter] "," window ")"
               | "active_days" "(" events "," window ")"
    did       := "did" "(" step ("then" step)* ["within" gap] "," window ")"
    step      := event ["where" filter]
    gap       := number ("d" | "h" | "m")        # 1d, 2h, 30m

A window left out reads "ever, up to T".
"""

from __future__ import annotations

from typing import Any

from segnb.errors import RuleError
from segnb.lang import behaviour as b
from segnb.lang import hints
from segnb.lang import nodes as r
from segnb.lang.lex import Token, TokenKind

__all__ = ["BEHAVIOUR_CALLS", "BehaviourGrammar"]

K = TokenKind
#: function -> (node class, takes a field, window: "optional", "required" or "none")
BEHAVIOUR_CALLS: dict[str, tuple[type, bool, str]] = {
    "first": (b.First, False, "optional"),
    "last": (b.Last, False, "optional"),
    "days_since": (b.DaysSince, False, "none"),
    "avg": (b.Avg, True, "optional"),
    "min": (b.Min, True, "optional"),
    "max": (b.Max, True, "optional"),
    "distinct": (b.Distinct, True, "required"),
    "active_days": (b.ActiveDays, False, "required"),
}
_UNIT_WORDS = {"day": "d", "days": "d", "hour": "h", "hours": "h", "hr": "h", "min": "m",
               "mins": "m", "minute": "m", "minutes": "m", "s": "m", "w": "d"}  # fmt: skip
_GAP_HINT = "within takes a whole number and a unit: Nd (days), Nh (hours) or Nm (minutes)"


def _at(tok: Token) -> tuple[int, int]:
    return (tok.start, tok.end)


class BehaviourGrammar:
    """``behaviour_call`` for the functions of :data:`BEHAVIOUR_CALLS`, and ``did``."""

    def filter_of(self, event: Token) -> r.Node | None:
        """``[where filter]`` after an event: bare names inside are the event's fields."""
        if self.word() != "where":
            return None
        self.take()
        self.event = event.value
        try:
            return self.or_expr()
        finally:
            self.event = None

    def behaviour_call(self) -> r.Node:
        fn = self.take()
        key = fn.value.lower()
        cls, has_field, window_mode = BEHAVIOUR_CALLS[key]
        lparen = self.take()
        event = self.call_name(fn, "an event name")
        field = None
        ev = self.src(event)
        if has_field:
            if self.peek().kind is not K.DOT:
                self.unexpected(
                    self.peek(),
                    "'.' and a field",
                    f"{key}() reads a field of the event: {key}({ev}.amount, T-29..T)",
                )
            self.take()
            field = self.call_name(fn, "a field name after '.'", strings=False)
            ev += "." + self.src(field)
        elif self.peek().kind is K.DOT:
            self.fail(
                f"{key}() takes an event, not a field of it",
                self.peek(),
                suggestion=f"{key}({ev}{'' if window_mode == 'none' else ', T-29..T'})",
                hint=f"avg(), min(), max() and distinct() read fields: avg({ev}.field, T-29..T)",
            )
        where = self.filter_of(event)
        window = None
        tok = self.peek()
        if tok.kind is K.COMMA and window_mode == "none":
            self.fail(
                f"{key}() takes no window: it counts the days from the last {ev} up to T",
                tok,
                self.peek(1),
                suggestion=f"{key}({ev})",
                hint=f"for the last one inside a window use last({ev}, T-29..T)",
            )
        if tok.kind is K.COMMA:
            self.take()
            window = self.window(key)
        elif window_mode == "required" and tok.kind in (K.RPAREN, K.EOF):
            if tok.kind is K.EOF:
                self.close(lparen)
            self.fail(
                f"{key}() needs a window after the {'field' if has_field else 'event'}",
                tok,
                suggestion=f"{key}({ev}, T-29..T)",
                hint=hints.WINDOW_HINT,
            )
        elif tok.kind not in (K.RPAREN, K.EOF):
            what = "',' and a window" if window_mode != "none" else "')'"
            hint = (
                f'a filter starts with where: {key}({ev} where … = "…")' if where is None else None
            )
            self.unexpected(tok, f"{what} in {key}()", hint)
        rparen = self.close(lparen, f"close {key}( with )")
        parts: dict[str, Any] = {"event": _at(event)}
        if field is not None:
            parts["field"] = _at(field)
        if cls is b.DaysSince:
            args: tuple = (event.value, where)
        elif has_field:
            args = (event.value, field.value, window, where)
        else:
            args = (event.value, window, where)
        return self.build(cls, fn.start, rparen.end, *args, parts=parts)

    # -- did(), with its sequences ------------------------------------------------

    def did(self) -> r.Node:
        fn = self.take()
        if self.event is not None:
            self.fail("did() cannot be used inside a where filter", fn)
        lparen = self.take()
        steps = [self.step(fn)]
        while self.word() == "then":
            then = self.take()
            nxt = self.peek()
            if not (self.is_name(nxt) or (nxt.kind is K.STRING and nxt.value)):
                self.fail(
                    "'then' needs the next step of the sequence after it",
                    then,
                    nxt if nxt.kind is not K.EOF else None,
                    hint="e.g. did(view_product then purchase within 1d, T-29..T); "
                    "one event alone: did(purchase, T-29..T)",
                )
            steps.append(self.step(fn))
        within, within_span = None, None
        if self.word() == "within":
            kw = self.take()
            within, end = self.gap(kw)
            within_span = (kw.start, end)
            if len(steps) == 1:
                ev = self.src(steps[0][0])
                self.fail(
                    "within needs a sequence: a single step has no gap",
                    kw,
                    self.prev(),
                    suggestion=f"did({ev} then … {self.text[kw.start : end]}, T-6..T)",
                    hint=f"or drop the gap: did({ev}, T-6..T)",
                )
        tok = self.peek()
        if tok.kind is not K.COMMA:
            if tok.kind is K.EOF:
                self.close(lparen)
            last = self.src(steps[-1][0])
            if tok.kind is K.RPAREN:
                self.fail("did() needs a window after the event", tok,
                          hint=f"e.g. did({last}, T-6..T); {hints.WINDOW_HINT}")  # fmt: skip
            hint = "a sequence joins steps with then: did(a then b within 1d, T-6..T)"
            if steps[-1][1] is None and len(steps) == 1 and self.is_name(tok):
                hint = f'a filter starts with where: did({last} where industry = "…", T-6..T)'
            self.unexpected(tok, "',' and a window in did()", hint)
        self.take()
        window = self.window("did")
        rparen = self.close(lparen, "close did( with )")
        if len(steps) == 1:
            event, where = steps[0]
            parts = {"event": _at(event)}
            return self.build(r.Did, fn.start, rparen.end, event.value, window, where, parts=parts)
        built = tuple(
            self.build(
                b.Step,
                event.start,
                self.span(where)[1] if where else event.end,
                event.value,
                where,
                parts={"event": _at(event)},
            )
            for event, where in steps
        )
        parts = {"events": tuple(_at(e) for e, _ in steps)}
        if within_span is not None:
            parts["within"] = within_span
        return self.build(b.DidSequence, fn.start, rparen.end, built, window, within, parts=parts)

    def step(self, fn: Token) -> tuple[Token, r.Node | None]:
        event = self.call_name(fn, "an event name")
        return event, self.filter_of(event)

    def gap(self, kw: Token) -> tuple[str, int]:
        """``Nd``, ``Nh`` or ``Nm`` after ``within``: the gap's text and where it ends."""
        tok = self.peek()
        if tok.kind is not K.NUMBER:
            self.unexpected(tok, "a gap after within, like 1d, 2h or 30m", _GAP_HINT)
        num = self.take()
        raw = self.src(num)
        if not isinstance(num.value, int) or num.value < 1 or not raw.isdigit():
            self.fail(f"a gap is a whole number of days, hours or minutes, not {raw}", num,
                      hint=_GAP_HINT)  # fmt: skip
        unit = self.peek()
        word = unit.value.lower() if unit.kind is K.IDENT else None
        if word in b.GAP_UNITS:
            self.take()
            gap = f"{num.value}{word}"
            try:
                b.gap_minutes(gap)
            except RuleError as exc:
                raise exc.located(self.text, num.start, unit.end) from None
            return gap, unit.end
        if word is not None and word not in ("then", "within"):
            guess = _UNIT_WORDS.get(word, word[0] if word[0] in b.GAP_UNITS else "d")
            self.fail(f"unknown unit {unit.value!r} in within {raw}{unit.value}", unit,
                      suggestion=f"within {raw}{guess}", hint=_GAP_HINT)  # fmt: skip
        self.fail(
            f"within {raw} needs a unit: days, hours or minutes",
            num,
            suggestion=f"within {raw}d",
            hint=f"e.g. within {raw}d, within {raw}h or within {raw}m",
        )
