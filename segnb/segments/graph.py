"""The one dependency graph: which segment uses which, and how.

A segment uses another through ``in_segment()`` or ``score()`` in its rule,
as an input of a set, or as the seed, audience or sample of a lookalike or
prediction. This graph is the only answer to "what uses what": deleting
refuses a segment that has users, a redefinition refuses a loop, and
refreshes run in its order (what is used first).

Examples
--------
>>> graph = Graph.of(ctx)                       # doctest: +SKIP
>>> graph.users("vip")                          # doctest: +SKIP
[Use(user='vip_buyers', used='vip', kind='set input')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segnb.segments.registry import uses
from segnb.segments.status import definition_of

__all__ = ["Graph", "Use"]


@dataclass(frozen=True)
class Use:
    """Segment ``user`` reads segment ``used``; ``kind`` says how."""

    user: str
    used: str
    kind: str

    def __str__(self) -> str:
        return f"{self.user!r} (through {self.kind})"


def _uses_of(row: dict[str, Any]) -> list[Use]:
    try:
        definition = definition_of(row)
        pairs = uses(row["method"], definition)
    except Exception:  # a broken definition reads nothing; it does not block the others
        return []
    return [Use(row["name"], name, kind) for name, kind in pairs if name != row["name"]]


class Graph:
    """Edges between stored segments, built from their definitions."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.names = [r["name"] for r in rows]
        self.edges = [use for row in rows for use in _uses_of(row)]

    @classmethod
    def of(cls, ctx: Any) -> Graph:
        """The graph of every segment in the store (whatever their scope)."""
        return cls(ctx.store.segment_rows())

    def users(self, name: str) -> list[Use]:
        """The direct users of ``name``, one entry per segment and kind."""
        return sorted({u for u in self.edges if u.used == name}, key=lambda u: (u.user, u.kind))

    def used_by(self, name: str) -> list[Use]:
        """What ``name`` itself uses."""
        return sorted({u for u in self.edges if u.user == name}, key=lambda u: (u.used, u.kind))

    def all_users(self, name: str) -> set[str]:
        """Every segment built on ``name``, directly or not."""
        found, todo = set(), [name]
        while todo:
            for use in self.users(todo.pop()):
                if use.user not in found:
                    found.add(use.user)
                    todo.append(use.user)
        return found

    def order(self, names: list[str]) -> list[str]:
        """``names`` with every segment after the segments it uses (input order otherwise)."""
        wanted = list(dict.fromkeys(names))
        rank = {n: i for i, n in enumerate(wanted)}
        needs = {n: {u.used for u in self.used_by(n) if u.used in rank} for n in wanted}
        out, done, visiting = [], set(), set()

        def visit(name: str) -> None:
            if name in done or name in visiting:  # a loop cannot be stored; keep going
                return
            visiting.add(name)
            for other in sorted(needs[name], key=rank.__getitem__):
                visit(other)
            visiting.discard(name)
            done.add(name)
            out.append(name)

        for name in wanted:
            visit(name)
        return out
