"""One error hierarchy for segnb.

Every error segnb raises derives from :class:`SegnbError`; each subclass also
derives from the builtin exception it resembles, so ``except ValueError``
keeps working for callers that do not know segnb.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "DefinitionFileError",
    "DuplicateNameError",
    "InvalidValueError",
    "NotAvailableError",
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "RuleWarning",
    "SegmentBusyError",
    "SegmentNotFoundError",
    "SegmentStateError",
    "SegnbError",
    "StoreBusyError",
    "StoreError",
    "UnknownNameError",
    "UploadError",
    "WarehouseError",
    "first_line",
]


class SegnbError(Exception):
    """Root of every error segnb raises."""


class RuleError(SegnbError, ValueError):
    """A rule that cannot be evaluated, with where and what would be right.

    Parameters
    ----------
    message
        What is wrong, in one line.
    text
        The rule text the error points into (optional).
    start, end
        Character offsets of the offending span in ``text``.
    suggestion
        What the user probably meant (a name, a value, a syntax hint).

    Examples
    --------
    >>> err = RuleError("unknown tag 'cty'", text="cty = 1", start=0, end=3, suggestion="city")
    >>> print(err)
    line 1, column 1: unknown tag 'cty'
      cty = 1
      ^^^
    did you mean 'city'?
    """

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        start: int | None = None,
        end: int | None = None,
        suggestion: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.text = text
        self.start = start
        self.end = end
        self.suggestion = suggestion
        self.hint = hint
        super().__init__(str(self))

    def located(self, text: str, start: int, end: int | None = None) -> RuleError:
        """A copy of this error pointing at ``text[start:end]`` (kept if already located)."""
        if self.text is not None and self.start is not None:
            return self
        return type(self)(
            self.message,
            text=text,
            start=start,
            end=end,
            suggestion=self.suggestion,
            hint=self.hint,
        )

    @property
    def line(self) -> int | None:
        """1-based line of the error in the rule text."""
        if self.text is None or self.start is None:
            return None
        return self.text.count("\n", 0, self.start) + 1

    @property
    def column(self) -> int | None:
        """1-based column of the error in the rule text."""
        if self.text is None or self.start is None:
            return None
        return self.start - (self.text.rfind("\n", 0, self.start) + 1) + 1

    @property
    def caret(self) -> str | None:
        """The offending line followed by a caret line under the span."""
        if self.text is None or self.start is None:
            return None
        line_start = self.text.rfind("\n", 0, self.start) + 1
        line_end = self.text.find("\n", self.start)
        if line_end < 0:
            line_end = len(self.text)
        source = self.text[line_start:line_end]
        end = self.end if self.end is not None else self.start + 1
        width = max(1, min(end, line_end) - self.start)
        pad = "".join("\t" if ch == "\t" else " " for ch in source[: self.start - line_start])
        return f"  {source}\n  {pad}{'^' * width}"

    def __str__(self) -> str:
        head = self.message
        if self.line is not None:
            head = f"line {self.line}, column {self.column}: {self.message}"
        parts = [head]
        if self.caret is not None:
            parts.append(self.caret)
        if self.suggestion:
            parts.append(f"did you mean {self.suggestion!r}?")
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)

    def __reduce__(self):  # keep keyword arguments through pickling
        return (
            _rebuild,
            (type(self), self.message, self.text, self.start, self.end, self.suggestion, self.hint),
        )


def _rebuild(cls, message, text, start, end, suggestion, hint):
    return cls(message, text=text, start=start, end=end, suggestion=suggestion, hint=hint)


class RuleSyntaxError(RuleError):
    """Rule text that does not follow the rule language's grammar."""


class UnknownNameError(RuleError, LookupError):
    """A tag, attribute, event, field or segment name the catalog does not know."""


class RuleTypeError(RuleError, TypeError):
    """A condition whose operand and value types do not fit (e.g. ``in`` on a number)."""


class CatalogError(SegnbError, ValueError):
    """A catalog (``segnb.toml`` or dict) that does not match the warehouse."""


class WarehouseError(SegnbError, RuntimeError):
    """The warehouse cannot be reached or used (bad URL, locked file, missing table)."""


class NotAvailableError(SegnbError, NotImplementedError):
    """A feature that exists in the language but not yet in this version or backend."""


class SegmentNotFoundError(SegnbError, LookupError):
    """A segment, group or operation plan that the store does not hold (or hides)."""


class DuplicateNameError(SegnbError, ValueError):
    """A segment, group or plan name that is already taken."""


class SegmentStateError(SegnbError, RuntimeError):
    """An action the segment's lifecycle refuses (expired, failed, used by a plan, stale)."""


class StoreError(WarehouseError):
    """The segment store cannot be used: newer schema, busy segment, broken metadata."""


class UploadError(SegnbError, ValueError):
    """A list upload or source table that cannot make a segment.

    ``report`` holds the counts gathered before the upload was refused
    (rows, malformed, duplicates, matched, unmatched) where they are known.
    """

    def __init__(self, message: str, report: dict | None = None) -> None:
        self.report = dict(report or {})
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (str(self), self.report))


class InvalidValueError(SegnbError, ValueError):
    """An argument with a value segnb cannot use (an unknown refresh, a date in the past, …)."""


class DefinitionFileError(SegnbError, ValueError):
    """Segment definition files that cannot be applied; each problem names file, line, column.

    ``problems`` lists one message per problem; nothing was applied.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [message])
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (str(self), self.problems))


class StoreBusyError(StoreError):
    """A DuckDB file another process holds past the wait (the message names it); nothing changed."""


class SegmentBusyError(StoreBusyError):
    """Another session is writing the same segment; nothing was changed, try again later."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RuleWarning(UserWarning):
    """A rule that is valid but probably not meant: a misspelt enum value matches nobody."""
