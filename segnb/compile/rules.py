"""Rule tree -> one Ibis query selecting the ids of the matching entities.

The query is the entity table joined on its id to every tag snapshot the rule
reads, each once (the latest snapshot date is a scalar subquery, not a
per-entity window), and to one aggregation per events table that computes
every window and filter of the rule as conditional aggregates in a single
scan (both blocks come from :mod:`segnb.compile.blocks`), or to the ids with
the events a test of existence asks for (:mod:`segnb.compile.exists`); then
the rule, as a boolean expression, filters the joined row. A join
is an inner join when the rule cannot hold for an entity without a row there,
else a left join (counts and sums missing there are 0).

SQL three-valued logic holds throughout: a comparison with a missing value is
unknown, ``not`` unknown stays unknown, and an entity is a member only where
the whole rule is true. Values reach SQL only as Ibis literals.

Examples
--------
>>> from segnb.lang.nodes import Compare, Count, Today, Window
>>> rule = Compare(Count("purchase", Window(Today(-6), Today())), ">=", 2)
>>> expr = compile_rule(rule, catalog, as_of=datetime.date(2025, 3, 1))  # doctest: +SKIP
>>> expr.count().execute()                                               # doctest: +SKIP
1234
"""

from __future__ import annotations

import datetime
import operator
from typing import Any, Protocol

import ibis
import ibis.expr.datatypes as dt

from segnb.catalog.model import Catalog, Entity, EventSource, closest
from segnb.compile.behaviour import BehaviourCompiler
from segnb.compile.blocks import Measure, event_aggregates, latest_snapshot, snapshot_on
from segnb.compile.exists import ExistenceJoins
from segnb.compile.fold import fold, keep
from segnb.compile.joins import COMPARE, entity_free_start, possible_values
from segnb.compile.time import (
    DAY_COMPARE,
    as_date,
    before,
    midnight,
    next_midnight,
    time_zone,
)
from segnb.compile.values import Value as _Value
from segnb.errors import NotAvailableError, RuleError, RuleTypeError, UnknownNameError
from segnb.lang.behaviour import BEHAVIOUR_NODES, DidSequence
from segnb.lang.nodes import (
    Attribute,
    Change,
    Count,
    DateLiteral,
    Did,
    Node,
    Or,
    Score,
    Sum,
    Tag,
    Today,
    Window,
    walk,
)
from segnb.lang.visitor import NodeVisitor

__all__ = ["Resolver", "RuleCompiler", "compile_rule"]


class Resolver(Protocol):
    """What the compiler needs from the segment store for ``in_segment`` and ``score``."""

    def segment_members(self, name: str) -> ibis.Table:
        """One column of member ids, named as the entity's id column."""

    def scores(self, name: str) -> ibis.Table:
        """Two columns: the entity id and ``score``."""


def compile_rule(
    rule: Node,
    catalog: Catalog,
    entity: Entity | str | None = None,
    *,
    as_of: datetime.date,
    tz: str = "UTC",
    resolver: Resolver | None = None,
) -> ibis.Table:
    """One Ibis table expression: the ids of the entities matching ``rule``.

    Parameters
    ----------
    rule
        A condition tree (:mod:`segnb.lang.nodes`), already checked.
    catalog
        The resolved catalog; tables and columns come from it only.
    entity
        The target object (name or :class:`Entity`); the catalog's first when None.
    as_of
        The date ``T`` of the run.
    tz
        IANA time zone of the segment: days of tz-aware times are cut at its midnight.
    resolver
        Gives member and score tables of other segments; without it
        ``in_segment()`` and ``score()`` raise :class:`NotAvailableError`.

    Returns
    -------
    ibis.Table
        One column, named as the entity's id column.

    Examples
    --------
    >>> expr = compile_rule(parse_rule("not is_black_list", catalog), catalog,
    ...                     as_of=datetime.date(2025, 3, 1))          # doctest: +SKIP
    >>> print(ibis.to_sql(expr, dialect="duckdb"))                   # doctest: +SKIP
    """
    ent = entity if isinstance(entity, Entity) else catalog.entity(entity)
    return RuleCompiler(catalog, ent, as_of=as_date(as_of), tz=tz, resolver=resolver).compile(rule)


class RuleCompiler(BehaviourCompiler, ExistenceJoins, NodeVisitor):
    """A visitor: one ``visit_<NodeClass>`` per rule node.

    :meth:`compile` first plans the joins the rule needs (tag snapshots, one
    event aggregation per events table, scores), builds them, then visits the
    condition to get a boolean expression over the joined row. Conditions
    visit to boolean Ibis expressions, operands to a ``_Value`` (expression
    and type), dates to :class:`datetime.date` and windows to a day pair.
    A node kind without a ``visit_`` method is a :class:`NotAvailableError`.

    Parameters
    ----------
    catalog, entity
        The resolved catalog and the target object.
    as_of
        The date ``T`` of the run.
    tz
        The segment's time zone (an IANA name).
    resolver
        Member and score tables of other segments (see :class:`Resolver`).
    """

    def __init__(
        self,
        catalog: Catalog,
        entity: Entity,
        *,
        as_of: datetime.date,
        tz: str = "UTC",
        resolver: Resolver | None = None,
    ) -> None:
        self.catalog = catalog
        self.entity = entity
        self.as_of = as_of
        self.zone = time_zone(tz)
        self.resolver = resolver
        self.base = catalog.table(entity.table)
        self._names = set(self.base.columns)
        self._columns: dict[Any, str] = {}  # need -> column alias in the joined row
        self._inner: dict[tuple, bool] = {}  # join -> whether it is an inner join
        self._row: Any = None  # the relation EventField reads (inside a where filter)
        self._source: EventSource | None = None
        self.row: Any = None  # the joined row the rule is evaluated on

    # -- driver ---------------------------------------------------------------

    def compile(self, rule: Node) -> ibis.Table:
        """The ids of the entities matching ``rule``: one Ibis query.

        Parameters
        ----------
        rule
            A checked condition tree.
        """
        # only the id and the attributes the rule reads: plain, readable SQL
        used = dict.fromkeys(
            n.name for n in walk(rule) if isinstance(n, Attribute) and n.name in self._names
        )
        plan, exists, rest = self._plan_with_existence(rule)
        # An inner join where the rule cannot hold for an entity without a
        # row there: the plain shape a person would write, and a smaller join.
        self._inner = {
            j: j[3] if j in exists else True not in possible_values(rule, j, self.joins_of)
            for j in plan
        }
        start = None if used else entity_free_start(self.entity, self._inner)
        joined = self.base.select(self.entity.id, *(c for c in used if c != self.entity.id))
        if start is not None:  # every id there is an entity's: it stands for the entity table
            joined = plan[start][0].rename({self.entity.id: plan.pop(start)[1]})
        for join, (right, right_key) in plan.items():
            how = "inner" if self._inner[join] else "anti" if join in exists else "left"
            joined = joined.join(right, joined[self.entity.id] == right[right_key], how=how)
        self.row = joined
        if rest is None:
            return joined.select(self.entity.id)
        flag = self._fresh("matches") if any(isinstance(n, Or) for n in walk(rest)) else None
        return keep(joined, self.visit(rest), self.entity.id, flag=flag)

    def _key(self, source: Any) -> str:
        """A fresh name for the id column of a joined table of ``source`` (tags or events)."""
        return self._fresh(f"{source.table.rsplit('.', 1)[-1]}_{source.id}")

    def _fresh(self, base: str) -> str:
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return name

    # -- planning the joins ---------------------------------------------------

    def _plan(self, rule: Node) -> dict[tuple, tuple[Any, str]]:
        """Every join the rule needs, each built once: join -> (table, key column).

        Joins are ``("tags", source, day)`` (``day`` is ``"latest"`` or a
        date), ``("events", source)`` and ``("score", name)``.
        """
        snapshots: dict[tuple, list[str]] = {}
        measures: dict[tuple, list[Measure]] = {}
        scores: list[str] = []
        plan: dict[tuple, Any] = {}  # sequences first: each its own subquery
        for node in walk(rule):
            if isinstance(node, Tag):
                snapshots.setdefault(self.joins_of(node)[0], []).append(node.name)
            elif isinstance(node, Change):
                if not self._tag_field(node.tag).dtype.is_numeric():
                    raise RuleTypeError(f"change() needs a number tag; {node.tag!r} is not one")
                for join in self.joins_of(node):
                    snapshots.setdefault(join, []).append(node.tag)
            elif isinstance(node, DidSequence):
                plan.setdefault(self._sequence_join(node), node)
            elif isinstance(node, (Count, Sum, Did, *BEHAVIOUR_NODES)):
                join, measure = self._measure(node)
                bucket = measures.setdefault(join, [])
                if measure not in bucket:
                    bucket.append(measure)
            elif isinstance(node, Score) and node.name not in scores:
                scores.append(node.name)
        plan = {join: self._sequence(node) for join, node in plan.items()}
        for join, tags in snapshots.items():
            plan[join] = self._snapshot(join, list(dict.fromkeys(tags)))
        for join, wanted in measures.items():
            plan[join] = self._aggregation(self.entity.events[join[1]], wanted)
        for name in scores:
            plan["score", name] = self._scores(name)
        return plan

    def joins_of(self, operand: Node) -> list[tuple]:
        """The joins an operand reads (none for conditions, attributes and dates).

        Parameters
        ----------
        operand
            A node of the rule.
        """
        if isinstance(operand, Tag):
            return [self._tag_join(operand.name, operand.at)]
        if isinstance(operand, Change):
            return [self._tag_join(operand.tag, at) for at in (operand.start, operand.end)]
        if isinstance(operand, (Count, Sum, Did, *BEHAVIOUR_NODES)):
            return [self._measure(operand)[0]]
        if isinstance(operand, DidSequence):
            return [self._sequence_join(operand)]
        if isinstance(operand, Score):
            return [("score", operand.name)]
        return []

    def _tag_join(self, name: str, at: Node | None) -> tuple:
        self._tag_field(name)
        index = self.entity.tags.index(self.entity.tag_source(name))
        return ("tags", index, "latest" if at is None else self.visit(at))

    def _tag_field(self, name: str):
        try:
            return self.entity.tag(name)
        except KeyError:
            raise UnknownNameError(
                f"{self.entity.name} has no tag {name!r}",
                suggestion=closest(name, self.entity.tag_names),
            ) from None

    def _snapshot(self, join: tuple, tags: list[str]):
        """Rows of one snapshot date, projected to the tags needed from it."""
        _, index, when = join
        source = self.entity.tags[index]
        if when == "latest":
            rows = latest_snapshot(self.catalog, source, self.as_of, self.zone)
        else:
            rows = snapshot_on(self.catalog, source, when, self.zone)
        key = self._key(source)
        suffix = "" if when == "latest" else f"_at_{when:%Y%m%d}"
        columns = {key: rows[source.id]}
        for tag in tags:
            alias = self._fresh(f"{tag}{suffix}")
            self._columns[join, tag] = alias
            columns[alias] = rows[tag]
        return rows.select(**columns), key

    def _measure(self, node: Count | Sum | Did) -> tuple[tuple, Measure]:
        if isinstance(node, BEHAVIOUR_NODES):
            return self._behaviour_measure(node)
        source = self._event_source(node.event)
        field = None
        if isinstance(node, Sum):
            field = node.field
            if field not in source.fields:
                raise UnknownNameError(
                    f"event {node.event!r} has no field {field!r}",
                    suggestion=closest(field, source.fields),
                )
            if not source.fields[field].dtype.is_numeric():
                raise RuleTypeError(f"sum() needs a number field; {field!r} is not one")
        start, end = self.visit(node.window)
        kind = "sum" if isinstance(node, Sum) else "count"
        measure = Measure(kind, node.event, start, end, field=field, where=node.where)
        return ("events", self.entity.events.index(source)), measure

    def _aggregation(self, source: EventSource, measures: list[Measure]):
        """One pass over an events table: every measure as a conditional aggregate."""
        key = self._key(source)
        named = {}
        for m in measures:
            field = f"_{m.field}" if m.field else ""
            alias = self._fresh(f"{m.kind}_{m.event}{field}")
            self._columns[m] = alias
            named[alias] = m
        rows = event_aggregates(
            self.catalog,
            source,
            named,
            key=key,
            zone=self.zone,
            where=self._where(source),
        )
        return rows, key

    def _where(self, source: EventSource):
        """``where(filter, rows)`` for :func:`~segnb.compile.blocks.event_aggregates` on ``source``."""
        return lambda where, rows: self._event_filter(where, rows, source)

    def _event_filter(self, where: Node, rows, source: EventSource):
        """A ``where`` filter as a boolean over the rows of an events table."""
        self._row, self._source = rows, source
        try:
            return self.visit(where)
        finally:
            self._row = self._source = None

    def _scores(self, name: str):
        table = self._resolved("score", name).scores(name)
        key = self._fresh(f"{name}_{self.entity.id}")
        alias = self._fresh(f"score_{name}")
        self._columns[("score", name)] = alias
        id_col = self.entity.id if self.entity.id in table.columns else table.columns[0]
        score = "score" if "score" in table.columns else table.columns[-1]
        return table.select(**{key: table[id_col], alias: table[score]}), key

    def _resolved(self, what: str, name: str) -> Resolver:
        if self.resolver is None:
            raise NotAvailableError(
                f"{what}({name}) needs the segment store: compile with a resolver "
                "(segnb.connect(...).members does)"
            )
        return self.resolver

    # -- time -----------------------------------------------------------------

    def _day(self, value: _Value, day: datetime.date) -> tuple:
        """The midnights that start ``day`` and the next in the segment's zone, as ``value``'s type."""
        return midnight(day, value.dtype, self.zone), next_midnight(day, value.dtype, self.zone)

    # -- dates and operands -----------------------------------------------------

    def visit_Today(self, node: Today) -> datetime.date:
        try:
            return node.resolve(self.as_of)
        except OverflowError:
            raise RuleError(
                f"{node} as of {self.as_of} is outside the calendar (0001-01-01 to 9999-12-31)"
            ) from None

    def visit_DateLiteral(self, node: DateLiteral) -> datetime.date:
        return node.value

    def visit_Window(self, node: Window) -> tuple[datetime.date, datetime.date]:
        try:
            return node.resolve(self.as_of)
        except OverflowError:
            raise RuleError(
                f"the window {node} as of {self.as_of} leaves the calendar "
                "(0001-01-01 to 9999-12-31)"
            ) from None

    def visit_Tag(self, node: Tag) -> _Value:
        column = self._columns[self.joins_of(node)[0], node.name]
        return _Value(self.row[column], self._tag_field(node.name).dtype)

    def visit_Attribute(self, node) -> _Value:
        if node.name not in self.entity.attributes:
            raise UnknownNameError(
                f"{self.entity.name} has no attribute {node.name!r}",
                suggestion=closest(node.name, self.entity.attributes),
            )
        return _Value(self.row[node.name], self.entity.attributes[node.name].dtype)

    def visit_EventField(self, node) -> _Value:
        if self._row is None:
            raise RuleError(f"event field {node.name!r} can only be used inside a where filter")
        if node.name not in self._source.fields:
            raise UnknownNameError(
                f"events in {self._source.table!r} have no field {node.name!r}",
                suggestion=closest(node.name, self._source.fields),
            )
        return _Value(self._row[node.name], self._source.fields[node.name].dtype)

    def visit_Change(self, node: Change) -> _Value:
        before, after = (self.row[self._columns[j, node.tag]] for j in self.joins_of(node))
        return _Value(after - before, dt.float64)

    def visit_Count(self, node: Count) -> _Value:
        # no events: no row in a left join (NULL), but a row with 0 in an inner one
        join, measure = self._measure(node)
        count = self.row[self._columns[measure]]
        return _Value(count if self._inner[join] else count.coalesce(0), dt.int64)

    def visit_Sum(self, node: Sum) -> _Value:
        # SUM over no rows, or over NULLs only, is NULL
        return _Value(self.row[self._columns[self._measure(node)[1]]].coalesce(0), dt.float64)

    def visit_Score(self, node) -> _Value:
        self._resolved("score", node.name)
        return _Value(self.row[self._columns[("score", node.name)]], dt.float64)

    # -- conditions ---------------------------------------------------------------

    def visit_And(self, node):
        return fold(operator.and_, [self.visit(p) for p in node.parts])

    def visit_Or(self, node):
        return fold(operator.or_, [self.visit(p) for p in node.parts])

    def visit_Not(self, node):
        return ~self.visit(node.part)

    def visit_Compare(self, node):
        left, value = self.visit(node.left), self._value(node.value)
        if isinstance(value, datetime.date) and left.dtype.is_timestamp():
            return DAY_COMPARE[node.op](left.expr, *self._day(left, value))
        return COMPARE[node.op](left.expr, value)

    def visit_In(self, node):
        left, values = self.visit(node.left), [self._value(v) for v in node.values]
        if isinstance(values[0], datetime.date) and left.dtype.is_timestamp():
            days = [DAY_COMPARE["="](left.expr, *self._day(left, v)) for v in values]
            found = fold(operator.or_, days)
        else:
            found = left.expr.isin(values)
        return ~found if node.negated else found

    def visit_Between(self, node):
        left = self.visit(node.left)
        low, high = self._value(node.low), self._value(node.high)
        if isinstance(low, datetime.date) and left.dtype.is_timestamp():
            start, end = self._day(left, low)[0], self._day(left, high)[1]
            return (left.expr >= start) & before(left.expr, end)
        return (left.expr >= low) & (left.expr <= high)

    def visit_IsNull(self, node):
        left = self.visit(node.left).expr
        return left.notnull() if node.negated else left.isnull()

    def visit_Truth(self, node):
        left = self.visit(node.left)
        if not left.dtype.is_boolean():
            raise RuleTypeError(f"{node.left} is not a boolean, so it cannot stand alone")
        return left.expr

    def visit_Did(self, node: Did):
        return self.visit(Count(node.event, node.window, node.where)).expr >= 1

    def visit_InSegment(self, node):
        members = self._resolved("in_segment", node.name).segment_members(node.name)
        column = members[
            self.entity.id if self.entity.id in members.columns else members.columns[0]
        ]
        return self.row[self.entity.id].isin(members.filter(column.notnull()).select(column)[0])

    def _value(self, value: Any) -> Any:
        if isinstance(value, (Today, DateLiteral)):
            return self.visit(value)
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            return float(value)  # beyond BIGINT: compared as a double, like any number
        return value
