"""Folding a chain of conditions into one expression that stays shallow, and filtering on it."""

from __future__ import annotations

import functools

__all__ = ["FOLD_BLOCK", "fold", "keep"]

#: terms folded left to right (the SQL a person writes); longer chains nest in blocks of these
FOLD_BLOCK = 32


def fold(op, terms: list):
    """``t1 op t2 op …``: left-deep up to :data:`FOLD_BLOCK` terms, then blocks folded in pairs.

    A chain of thousands of conditions so nests only a few dozen levels deep,
    which the query builders handle; short chains keep the plain shape.
    """
    size = FOLD_BLOCK
    blocks = [functools.reduce(op, terms[i : i + size]) for i in range(0, len(terms), size)]
    while len(blocks) > 1:
        blocks = [functools.reduce(op, blocks[i : i + 2]) for i in range(0, len(blocks), 2)]
    return blocks[0]


def keep(rows, condition, key: str, *, flag: str | None = None):
    """The ``key`` column of ``rows`` where ``condition`` is true.

    With ``flag``, the condition is first computed once per row as a column
    of that name, and the rows are filtered on that column. The compiler does
    so for a rule with an ``or``: under a plain ``WHERE`` of an or of groups
    that each test one column (``(city = … and …) or (city = … and …)``),
    DuckDB also pushes the or of those tests into the table scan, where it
    is evaluated value by value; 20 such groups on a million rows ran four to
    five times slower than the same condition computed as a column.
    """
    if flag is None:
        return rows.filter(condition).select(key)
    flagged = rows.select(key, **{flag: condition})
    return flagged.filter(flagged[flag]).select(key)
