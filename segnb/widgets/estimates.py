"""The wizard's live count: each condition's ids kept in the warehouse while the form is edited.

A change in the form changes one condition; the others are the same between
two estimates. :class:`LiveCount` splits a rule at its top ``or`` and ``and``
(the wizard's groups and their conditions), keeps the ids of each condition
as a temporary table of the warehouse, and counts the union of the
intersections there. When the changed condition reads only tags and
attributes, only it runs again, next to the kept ids of the others; a changed
behaviour condition (a scan of the events) is counted with the rule's own
query. Either way the new conditions' ids are kept by
:meth:`LiveCount.keep_new` once the estimate is shown. A member is an
entity for which the rule is true: ``a or b`` is true where one part is,
``a and b`` where both are, so the count is the rule's, whatever the parts
(``not``, unknown values, entities without events) say.

Nothing is pulled into Python: the ids stay in the warehouse, in temporary
tables of this connection, dropped when the cache is full and at
:meth:`LiveCount.close`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import uuid
from collections import OrderedDict
from typing import Any

from segnb.lang.nodes import And, Count, Did, InSegment, Node, Or, Score, Sum, walk
from segnb.lang.text import to_text

__all__ = ["LiveCount"]

_NAMES = itertools.count()


def _reads_events(node: Node) -> bool:
    return any(isinstance(n, (Count, Did, Sum)) for n in walk(node))


def _reads_segments(node: Node) -> bool:
    return any(isinstance(n, (InSegment, Score)) for n in walk(node))


class LiveCount:
    """Sizes of rules, reusing the ids of conditions counted before.

    Parameters
    ----------
    ws
        A connected :class:`segnb.Workspace`.
    entity
        The target object (an :class:`~segnb.catalog.model.Entity`).
    keep
        How many conditions' ids to keep.

    Examples
    --------
    >>> live = LiveCount(ws, ws.entity())                          # doctest: +SKIP
    >>> live.count('city = "Shenzhen" and trade_cnt_7d >= 2', as_of="2025-03-31")
    412
    """

    def __init__(self, ws: Any, entity: Any, keep: int = 24) -> None:
        self.ws = ws
        self.entity = entity
        self.keep = keep
        self.tables: OrderedDict[tuple[str, dt.date], Any] = OrderedDict()
        self.enabled = True
        self.new: OrderedDict[tuple[str, dt.date], Any] = OrderedDict()
        self._prefix = f"segnb_live_{uuid.uuid4().hex[:8]}"

    def count(self, rule: str, as_of: Any = None) -> int:
        """How many entities ``rule`` matches on ``as_of`` (the same as ``ws.estimate``)."""
        tree = self.ws.parse(rule, self.entity)
        groups = tree.parts if isinstance(tree, Or) else (tree,)
        parts = [g.parts if isinstance(g, And) else (g,) for g in groups]
        if not self.enabled or sum(len(p) for p in parts) < 2:
            return self.ws.estimate(tree, as_of=as_of, entity=self.entity)
        day = as_of or dt.date.today()
        self.new.clear()
        missing = [c for group in parts for c in group if (to_text(c), day) not in self.tables]
        if len(missing) == sum(len(p) for p in parts) or any(map(_reads_events, missing)):
            # nothing to reuse, or a behaviour condition to count anyway: the rule's own query
            # reads each table once, and its conditions' ids are kept for the next change
            for group in parts:
                for c in group:
                    if not _reads_segments(c):
                        self.new[(to_text(c), day)] = c
            return self.ws.estimate(tree, as_of=as_of, entity=self.entity)
        try:
            sets = [
                functools.reduce(
                    lambda a, b: a.intersect(b, distinct=True), [self._ids(c, day) for c in group]
                )
                for group in parts
            ]
            return int(
                functools.reduce(lambda a, b: a.union(b, distinct=True), sets).count().execute()
            )
        except Exception:  # a backend without temporary tables: count the rule as it is
            self.enabled = False
            self.new.clear()
            return self.ws.estimate(tree, as_of=as_of, entity=self.entity)

    def _ids(self, node: Node, day: dt.date) -> Any:
        if _reads_segments(node):  # other segments get new versions: read them each time
            return self.ws.members(node, as_of=day, entity=self.entity)
        key = (to_text(node), day)
        table = self.tables.get(key)
        if table is None:  # counted as a query now, kept by keep_new() after the estimate
            self.new[key] = node
            return self.ws.members(node, as_of=day, entity=self.entity)
        self.tables.move_to_end(key)
        return table

    def keep_new(self, stop: Any = None) -> None:
        """Keep the ids of the conditions the last count met for the first time.

        ``stop()`` is asked before each: true (a newer change waits) leaves the rest.
        """
        while self.new and not (stop and stop()):
            key, node = self.new.popitem(last=False)
            if key in self.tables:
                continue
            members = self.ws.members(node, as_of=key[1], entity=self.entity)
            name = f"{self._prefix}_{next(_NAMES)}"
            self.tables[key] = self.ws.con.create_table(name, members, temp=True)
            while len(self.tables) > self.keep:
                self._drop(self.tables.popitem(last=False)[1])

    def _drop(self, table: Any) -> None:
        with contextlib.suppress(Exception):  # a closed connection has dropped it already
            self.ws.con.drop_table(table.get_name(), force=True)

    def close(self) -> None:
        """Drop the kept ids."""
        while self.tables:
            self._drop(self.tables.popitem()[1])
