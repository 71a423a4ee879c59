"""Which joins of a compiled rule can be inner joins.

For each join (a tag snapshot, an events aggregation, a score table), work out
the truth values a rule can take for an entity that has no row there. If
``True`` is impossible, an inner join drops only entities the rule rejects
anyway, and gives the database the plain shape a person would write.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable

from segnb.lang.nodes import Count, Did, Node, Sum

__all__ = ["ANY", "COMPARE", "possible_values"]

#: comparison operator -> function on Ibis values (and on Python values at zero)
COMPARE = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def possible_values(rule: Node, join: tuple, joins_of: Callable[[Node], list[tuple]]) -> frozenset:
    """The truth values (True, False, None for unknown) ``rule`` can take without ``join``."""
    return _Possible(join, joins_of).visit(rule)


ANY = frozenset((True, False, None))  # None is SQL's unknown


class _Possible:
    """The truth values a rule can take for an entity that has no row in one join.

    Missing tag or score rows make their values unknown (``is null`` true);
    a missing events row makes every count and sum 0. Conditions that do not
    read the join could be anything. If ``True`` is impossible, the compiler
    may use an inner join: it drops only entities the rule rejects anyway.
    """

    def __init__(self, join: tuple, joins_of: Callable[[Node], list[tuple]]) -> None:
        self.join, self.joins_of = join, joins_of

    def visit(self, node: Node) -> frozenset:
        return getattr(self, f"visit_{type(node).__name__}", self._other)(node)

    def _other(self, node: Node) -> frozenset:  # InSegment, and nodes that read no join
        return ANY

    def _leaf(self, left: Node, at_zero) -> frozenset:
        """``at_zero(0)`` for a count or sum, unknown for a tag, change or score."""
        if self.join not in self.joins_of(left):
            return ANY
        if isinstance(left, (Count, Sum, Did)):
            try:
                return frozenset((bool(at_zero(0)),))
            except TypeError:  # a value that is not a number: do not guess
                return ANY
        return frozenset((None,))

    def visit_And(self, node) -> frozenset:
        return functools.reduce(_combine(_kleene_and), [self.visit(p) for p in node.parts])

    def visit_Or(self, node) -> frozenset:
        return functools.reduce(_combine(_kleene_or), [self.visit(p) for p in node.parts])

    def visit_Not(self, node) -> frozenset:
        return frozenset(None if v is None else not v for v in self.visit(node.part))

    def visit_Compare(self, node) -> frozenset:
        return self._leaf(node.left, lambda zero: COMPARE[node.op](zero, node.value))

    def visit_In(self, node) -> frozenset:
        return self._leaf(node.left, lambda zero: (zero in node.values) != node.negated)

    def visit_Between(self, node) -> frozenset:
        return self._leaf(node.left, lambda zero: node.low <= zero <= node.high)

    def visit_IsNull(self, node) -> frozenset:
        if self.join not in self.joins_of(node.left):
            return ANY
        missing = not isinstance(node.left, (Count, Sum))  # counts and sums are 0
        return frozenset((missing != node.negated,))

    def visit_Truth(self, node) -> frozenset:
        return self._leaf(node.left, bool)

    def visit_Did(self, node) -> frozenset:
        return self._leaf(node, lambda zero: zero >= 1)


def _kleene_and(a, b):
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def _kleene_or(a, b):
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _combine(op):
    return lambda xs, ys: frozenset(op(x, y) for x in xs for y in ys)
