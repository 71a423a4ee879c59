"""Folding a chain of conditions into one expression that stays shallow."""

from __future__ import annotations

import functools

__all__ = ["FOLD_BLOCK", "fold"]

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
