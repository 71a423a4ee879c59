"""What the segment layer works with: the warehouse, its catalog, the store and the settings.

A :class:`Context` is built by the :class:`~segnb.workspace.Workspace`, which
is the public face over it; every function of :mod:`segnb.segments`,
:mod:`segnb.models` and the faces below the Workspace takes a context, never
the Workspace. It also answers who may see a segment (expose scope) and
resolves ``in_segment()`` and ``score()`` for the rule compiler.

Examples
--------
>>> ctx = Context(con, catalog, Settings(owner="alice"))     # doctest: +SKIP
>>> ctx.find_row("vip")["method"]                           # doctest: +SKIP
'rules'
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import threading
from collections.abc import Callable
from typing import Any

import ibis

from segnb.catalog.layout import sql_rows
from segnb.catalog.model import Catalog, Entity
from segnb.compile.rules import compile_rule
from segnb.errors import (
    NotAvailableError,
    RuleError,
    SegmentNotFoundError,
    SegmentStateError,
    WarehouseError,
)
from segnb.hints import did_you_mean
from segnb.lang.check import check
from segnb.lang.nodes import InSegment, Node, Score, SegmentRef, SetOp, walk
from segnb.lang.parse import parse_rule
from segnb.segments.recover import sweep
from segnb.segments.status import usable_row
from segnb.settings import Settings
from segnb.store.store import Store
from segnb.times import as_date

__all__ = [
    "COUNT_CACHE_SIZE",
    "MAX_RULE_CHARS",
    "MAX_RULE_NODES",
    "Context",
    "StoreResolver",
    "held",
    "uses_segments",
]

#: how many rules' count queries a context keeps compiled (:meth:`Context.count`)
COUNT_CACHE_SIZE = 256
#: the largest rule segnb takes: 20 groups of 50 conditions, or a chain of 10,000, are well inside
MAX_RULE_CHARS = 2_000_000
MAX_RULE_NODES = 100_000
_TOO_BIG = (
    f"the rule is too large (more than {MAX_RULE_CHARS:,} characters or {MAX_RULE_NODES:,} "
    "parts); split it into segments and combine them with in_segment() or & | -"
)


def held(operation: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``operation(ctx, …)`` holding the segment store for its whole span.

    On a DuckDB warehouse the store is a file that one process holds at a
    time; an operation that reads and writes it (create, refresh, delete)
    holds it once, so no other process comes between its steps.
    """

    @functools.wraps(operation)
    def run(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        with ctx.session():
            return operation(ctx, *args, **kwargs)

    return run


def uses_segments(tree: Node) -> bool:
    """Whether a rule names other segments (``in_segment()`` or ``score()``)."""
    return any(isinstance(node, (InSegment, Score)) for node in walk(tree))


class Context:
    """A connected warehouse, its catalog, the segment store and the engine settings.

    The store is opened on first use, in ``settings.store_schema``;
    :meth:`open_store` opens another schema or as another owner.
    """

    def __init__(
        self, con: Any, catalog: Catalog, settings: Settings | None = None, *, tz: str | None = None
    ) -> None:
        self.con = con
        self.catalog = catalog
        self.settings = settings or Settings()
        self.tz = tz
        self._store: Store | None = None
        # (rule, entity, day, zone) -> SQL of the count, compiled against _counted_catalog
        self._count_sql: collections.OrderedDict[tuple, str] = collections.OrderedDict()
        self._counted_catalog: Catalog | None = None
        self._count_lock = threading.Lock()

    # -- the store ------------------------------------------------------------------

    def open_store(
        self,
        schema: str | None = None,
        *,
        owner: str | None = None,
        default_group: str | None = None,
        keep_versions: int | None = None,
        lock_wait: float | None = None,
    ) -> Store:
        """Use the segment store in ``schema`` (created when missing) as ``owner``."""
        self.settings = self.settings.replace(
            store_schema=schema, owner=None if owner is None else str(owner),
            default_group=None if default_group is None else str(default_group),
            keep_versions=keep_versions, lock_wait=lock_wait,
        )  # fmt: skip
        s = self.settings
        self._store = Store(
            self.con, self.catalog, s.store_schema, keep_versions=s.keep_versions,
            lock_wait=s.lock_wait, read_only=s.read_only, location=s.store_location,
        )  # fmt: skip
        with contextlib.suppress(WarehouseError), self._store.db.session():
            sweep(self._store)  # runs, creations and files of processes that were killed
        return self._store

    def session(self):
        """Hold the segment store for the span of a ``with`` block (see :func:`held`)."""
        return self.store.db.session()

    @property
    def store(self) -> Store:
        return self._store if self._store is not None else self.open_store()

    @property
    def owner(self) -> str:
        return self.settings.owner

    # -- target objects and rules ------------------------------------------------------

    def entity(self, entity: str | Entity | None = None) -> Entity:
        """The target object ``entity`` (default: the first in the catalog)."""
        return entity if isinstance(entity, Entity) else self.catalog.entity(entity)

    def parse(self, rule: str | Node, entity: str | Entity | None = None) -> Node:
        """A checked rule tree from rule text or a tree; store names checked when used."""
        ent = self.entity(entity)
        if isinstance(rule, Node):
            if isinstance(rule, (SegmentRef, SetOp)):
                raise RuleError("a set expression is not a rule; use ws.combine() for segment sets")
            names = scores = None
            if uses_segments(rule):
                names, scores = self.segment_names(ent.name), self.score_names(ent.name)
            check(rule, self.catalog, ent, segments=names, scores=scores)
            return rule
        if not isinstance(rule, str):
            raise RuleError(f"a rule is text or a rule tree, not {type(rule).__name__}")
        if len(rule) > MAX_RULE_CHARS:
            raise RuleError(_TOO_BIG)
        tree = parse_rule(rule, self.catalog, ent)
        if sum(1 for _ in walk(tree)) > MAX_RULE_NODES:
            raise RuleError(_TOO_BIG)
        if uses_segments(tree):
            tree = parse_rule(
                rule, self.catalog, ent, segments=self.segment_names(ent.name),
                scores=self.score_names(ent.name),
            )  # fmt: skip
        return tree

    def members(self, rule: str | Node, as_of: Any = None, entity: Any = None, *, tz=None):
        """The ids matching ``rule`` as an Ibis table (nothing is pulled into Python)."""
        ent = self.entity(entity)
        tree = self.parse(rule, ent)
        return self.compile(tree, ent, as_date(as_of, tz or self.tz), tz or self.tz)

    def compile(self, tree: Node, ent: Entity, day: dt.date, tz: str | None):
        """The Ibis table of a checked rule tree as of ``day``."""
        resolver = StoreResolver(self, ent) if uses_segments(tree) else None
        try:
            return compile_rule(
                tree, self.catalog, ent, as_of=day, tz=tz or "UTC", resolver=resolver
            )
        except RecursionError:
            raise RuleError(_TOO_BIG) from None

    def count(self, rule: str | Node, as_of: Any = None, entity: Any = None, *, tz=None) -> int:
        """How many entities match ``rule``: one count query, compiled once per rule and day.

        The SQL of a rule depends only on the rule, the target object, the day
        ``T``, the time zone and the catalog, not on the warehouse's rows, so
        it is kept (the last :data:`COUNT_CACHE_SIZE` rules) and a repeated
        estimate runs it again without parsing or compiling. Every run reads
        the warehouse afresh. A rule naming other segments (``in_segment()``,
        ``score()``) is compiled every time: their members change with their
        versions. A new catalog drops what was kept.
        """
        ent = self.entity(entity)
        zone = tz or self.tz
        day = as_date(as_of, zone)
        key = (rule, ent.name, day, zone)
        try:
            hash(key)
        except TypeError:  # a tree holding something unhashable: compile it every time
            key = None
        sql = None if key is None else self._kept_count(key)
        if sql is None:
            tree = self.parse(rule, ent)
            catalog = self.catalog
            sql = self.con.compile(self.compile(tree, ent, day, zone).count())
            if (
                key is not None
                and not uses_segments(tree)
                and catalog.entities.get(ent.name) is ent
            ):
                self._keep_count(key, sql, catalog)
        return int(sql_rows(self.con, sql)[0][0])

    def _kept_count(self, key: tuple) -> str | None:
        with self._count_lock:  # estimates also run in the widgets' worker threads
            if self._counted_catalog is not self.catalog:
                self._count_sql.clear()
                self._counted_catalog = self.catalog
            sql = self._count_sql.get(key)
            if sql is not None:
                self._count_sql.move_to_end(key)
            return sql

    def _keep_count(self, key: tuple, sql: str, catalog: Catalog) -> None:
        with self._count_lock:
            if catalog is not self.catalog or self._counted_catalog is not catalog:
                return  # compiled against a catalog that has since been replaced
            self._count_sql[key] = sql
            while len(self._count_sql) > COUNT_CACHE_SIZE:
                self._count_sql.popitem(last=False)

    def sql(self, expr: Any, dialect: str | None = None) -> str:
        """Readable SQL of an Ibis expression for the connected backend or a named dialect."""
        return str(ibis.to_sql(expr, dialect=dialect or self.con.name))

    # -- who sees what (expose scope) --------------------------------------------------

    def visible(self, row: dict[str, Any]) -> bool:
        """Public to all, private to the owner, shared to the owner and named users."""
        user = self.owner
        return row["scope"] == "public" or row["owner"] == user or user in row["shared_with"]

    def visible_rows(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        return [r for r in self.store.segment_rows(names) if self.visible(r)]

    def find_row(self, name: str) -> dict[str, Any]:
        """The visible row of segment ``name``, or :class:`SegmentNotFoundError`.

        A segment this owner may not see is not found, exactly like one that
        does not exist: its name, owner and scope are never told.
        """
        row = self.store.segment_row(name) if isinstance(name, str) else None
        if row is None or not self.visible(row):
            raise SegmentNotFoundError(self.not_found(name))
        return row

    def not_found(self, name: Any) -> str:
        """ "no segment named …", with a guess among the visible segments only."""
        names = [r["name"] for r in self.visible_rows()]
        return (
            f"no segment named {name!r}" + did_you_mean(str(name), names)
            + " (ws.segments() lists them)"
        )  # fmt: skip

    def segment_names(self, entity: str | None = None) -> list[str]:
        """Names of the visible segments (of one target object when given)."""
        return [r["name"] for r in self.visible_rows() if entity is None or r["entity"] == entity]

    def score_names(self, entity: str | None = None) -> list[str]:
        """Visible AI prediction and lookalike segments: the names ``score(name)`` takes."""
        return [
            r["name"]
            for r in self.visible_rows()
            if r["method"] in ("prediction", "lookalike")
            and (entity is None or r["entity"] == entity)
        ]

    def current(self, name: str, entity: Entity, purpose: str):
        """The usable row of ``name`` and its current version row."""
        row = self.find_row(name)
        if row["entity"] != entity.name:
            raise SegmentStateError(
                f"segment {name!r} holds {row['entity']}, not {entity.name}; "
                f"it cannot be used {purpose}"
            )
        usable_row(self, row, purpose)
        return row, self.store.version_row(row["id"], row["current_version"])

    def member_table(self, name: str, entity: Entity, purpose: str):
        """The current members of segment ``name`` (an Ibis table of ids)."""
        _, version = self.current(name, entity, purpose)
        return self.store.ibis_table(version["member_table"]).select(entity.id)


class StoreResolver:
    """Members and scores of other segments for ``in_segment()`` and ``score()``."""

    def __init__(self, ctx: Context, entity: Any) -> None:
        self.ctx = ctx
        self.entity = ctx.entity(entity)

    def segment_members(self, name: str):
        return self.ctx.member_table(name, self.entity, "in rules")

    def scores(self, name: str):
        row, version = self.ctx.current(name, self.entity, "in score()")
        if not version.get("scores_table"):
            raise NotAvailableError(f"segment {name!r} ({row['method']}) has no scores")
        return self.ctx.store.ibis_table(version["scores_table"])
