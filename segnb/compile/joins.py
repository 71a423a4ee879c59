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
from typing import Any

from segnb.lang.nodes import Node
from segnb.lang.visitor import NodeVisitor

__all__ = ["ANY", "COMPARE", "Possible", "entity_free_start", "possible_values"]

#: comparison operator -> function on Ibis values (and on Python values at zero)
COMPARE = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

ANY = frozenset((True, False, None))  # None is SQL's unknown

# what an operand is for an entity that has no row in the join
_ZERO = "zero"  # a count or sum over no events
_NULL = "null"  # a tag, change or score with no row
_FREE = "free"  # the operand does not read the join: it could be anything


def entity_free_start(entity: Any, inner: dict[tuple, bool]) -> tuple | None:
    """An inner join whose table declares ``entity_ids``, where a rule's query can start.

    Its ids are all entities' and the rule holds only where it has a row, so
    joining the entity table first would change nothing but the cost (one
    hash join of every entity). None when no join qualifies: the query then
    starts from the entity table, which keeps out ids that are not entities.

    Parameters
    ----------
    entity
        The target object (:class:`~segnb.catalog.model.Entity`).
    inner
        Each join of the rule's query (as the compiler names it) -> whether it is inner.
    """
    for join, is_inner in inner.items():
        sources = {"tags": entity.tags, "events": entity.events, "exists": entity.events}
        sources = sources.get(join[0])
        if is_inner and sources is not None and sources[join[1]].entity_ids:
            return join
    return None


def possible_values(rule: Node, join: tuple, joins_of: Callable[[Node], list[tuple]]) -> frozenset:
    """The truth values (True, False, None for unknown) ``rule`` can take without ``join``.

    Parameters
    ----------
    rule
        A condition tree.
    join
        One join of the compiled query (as the compiler names it).
    joins_of
        The joins an operand reads (:meth:`RuleCompiler.joins_of`).

    Examples
    --------
    >>> possible_values(rule, ("events", 0), compiler.joins_of)   # doctest: +SKIP
    frozenset({False})
    """
    return Possible(join, joins_of).visit(rule)


class Possible(NodeVisitor):
    """The truth values a rule can take for an entity that has no row in one join.

    A condition's ``visit_`` gives the set of truth values; an operand's gives
    what it is without the row: a missing events row makes every count and sum
    0, missing tag or score rows make their values unknown (``is null`` true),
    and an operand that does not read the join could be anything. If ``True``
    is impossible, the compiler may use an inner join: it drops only entities
    the rule rejects anyway.
    """

    def __init__(self, join: tuple, joins_of: Callable[[Node], list[tuple]]) -> None:
        self.join, self.joins_of = join, joins_of

    # -- operands: what each is without the join's row ---------------------------

    def _reads(self, node: Node, missing: str) -> str:
        return missing if self.join in self.joins_of(node) else _FREE

    def visit_Count(self, node) -> str:
        return self._reads(node, _ZERO)

    def visit_Sum(self, node) -> str:
        return self._reads(node, _ZERO)

    def visit_Tag(self, node) -> str:
        return self._reads(node, _NULL)

    def visit_Change(self, node) -> str:
        return self._reads(node, _NULL)

    def visit_Score(self, node) -> str:
        return self._reads(node, _NULL)

    def _unknown(self, node) -> str:  # first, last, days_since, avg, min, max: none without events
        return self._reads(node, _NULL)

    visit_First = visit_Last = visit_DaysSince = visit_Avg = visit_Min = visit_Max = _unknown

    def _none(self, node) -> str:  # distinct values and active days: 0 without events
        return self._reads(node, _ZERO)

    visit_Distinct = visit_ActiveDays = _none

    def _free(self, node) -> str:  # reads no join: entity attributes, event fields, dates
        return _FREE

    visit_Attribute = visit_EventField = visit_Today = visit_DateLiteral = visit_Window = _free
    visit_Step = _free

    # -- conditions -----------------------------------------------------------------

    def _leaf(self, left: Node, at_zero) -> frozenset:
        """``at_zero(0)`` for a count or sum, unknown for a tag, change or score."""
        return self._at(self.visit(left), at_zero)

    @staticmethod
    def _at(value: str, at_zero) -> frozenset:
        if value == _FREE:
            return ANY
        if value == _ZERO:
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
        value = self.visit(node.left)
        if value == _FREE:
            return ANY
        missing = value == _NULL  # counts and sums are 0
        return frozenset((missing != node.negated,))

    def visit_Truth(self, node) -> frozenset:
        return self._leaf(node.left, bool)

    def visit_Did(self, node) -> frozenset:
        return self._at(self._reads(node, _ZERO), lambda zero: zero >= 1)

    def visit_DidSequence(self, node) -> frozenset:  # no events of the steps: false
        return self._at(self._reads(node, _ZERO), lambda zero: zero >= 1)

    def visit_InSegment(self, node) -> frozenset:
        return ANY  # membership of another segment: not a join of this query


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
