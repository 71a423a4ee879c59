"""The built-in creation methods: rules, segment sets and SQL tables (uploads: upload.py).

Each is a :class:`~segnb.segments.methods.Method` registered exactly like
the lookalike and prediction plugins.

Examples
--------
>>> RulesMethod().uses({"rule": to_json(parse_rule("in_segment(vip)"))})   # doctest: +SKIP
[('vip', 'in_segment')]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlglot
from sqlglot import expressions as exp

from segnb.catalog.model import Entity
from segnb.errors import CatalogError, InvalidValueError, UploadError, first_line
from segnb.hints import did_you_mean
from segnb.lang.nodes import InSegment, Node, Score, SegmentRef, SetOp, from_json, to_json, walk
from segnb.lang.parse import is_set_expression
from segnb.segments.context import Context
from segnb.segments.methods import Built
from segnb.segments.sets import refs, set_query, set_tree
from segnb.segments.status import definition_of
from segnb.segments.upload import unmatched_extra

__all__ = ["RulesMethod", "SetsMethod", "TableMethod", "is_sets", "read_only_query", "source_ids"]


def is_sets(rules: Any) -> bool:
    """Whether a body is a set expression over segments (``vip & active``)."""
    if isinstance(rules, (SetOp, SegmentRef)):
        return True
    return isinstance(rules, str) and is_set_expression(rules)


def _tree_uses(tree: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not tree:
        return []
    out = []
    for node in walk(from_json(tree)):
        if isinstance(node, InSegment):
            out.append((node.name, "in_segment"))
        elif isinstance(node, Score):
            out.append((node.name, "score"))
        elif isinstance(node, SegmentRef):
            out.append((node.name, "set input"))
    return out


class RulesMethod:
    """``method="rules"``: a rule of the rule language, compiled to one query."""

    name = "rules"
    redefinable = True

    def prepare(self, ctx: Context, name: str, *, entity: Any, as_of: Any, rules: Any):
        ent = ctx.entity(entity)
        if isinstance(rules, str):
            tree = ctx.parse(rules, ent)
            text = rules
        elif isinstance(rules, Node):
            tree, text = ctx.parse(rules, ent), str(rules)
        else:
            raise InvalidValueError(
                f"rules= takes rule text or a rule tree, not {type(rules).__name__}"
            )
        return ent, {"text": text, "rule": to_json(tree)}

    def build(
        self, ctx: Context, row: dict[str, Any], as_of: dt.date, *, retrain: bool = False,
        check: bool = True,
    ) -> Built:  # fmt: skip
        ent = ctx.entity(row["entity"])
        tree = from_json(definition_of(row)["rule"])
        if check:
            tree = ctx.parse(tree, ent)
        return Built(ctx.compile(tree, ent, as_of, row["timezone"]))

    def uses(self, definition: dict[str, Any]) -> list[tuple[str, str]]:
        return _tree_uses(definition.get("rule"))


class SetsMethod:
    """``method="sets"``: ``&`` ``|`` ``-`` and parentheses over active segments."""

    name = "sets"
    redefinable = True

    def prepare(self, ctx: Context, name: str, *, entity: Any, as_of: Any, expression: Any):
        if not is_sets(expression):
            raise InvalidValueError(
                f"combine() takes a set expression like 'vip & active - churned', not {expression!r}"
            )
        tree = set_tree(ctx, expression)
        text = expression if isinstance(expression, str) else str(expression)
        names = refs(tree)
        if name in names:
            raise InvalidValueError(f"segment {name!r} cannot be made from itself")
        rows = [ctx.find_row(ref) for ref in names]
        entities = {r["entity"] for r in rows}
        if entity is None and len(entities) == 1:
            entity = next(iter(entities))
        ent = ctx.entity(entity)
        for row in rows:
            if row["entity"] != ent.name:
                raise InvalidValueError(
                    f"segment {row['name']!r} holds {row['entity']}, the others {ent.name}; "
                    "sets combine segments of one target object"
                )
            ctx.current(row["name"], ent, "in segment sets")
        return ent, {"text": text, "sets": to_json(tree), "segments": names}

    def build(
        self, ctx: Context, row: dict[str, Any], as_of: dt.date, *, retrain: bool = False,
        check: bool = True,
    ) -> Built:  # fmt: skip
        ent = ctx.entity(row["entity"])
        tree = from_json(definition_of(row)["sets"])
        return Built(set_query(tree, lambda name: ctx.member_table(name, ent, "in segment sets")))

    def uses(self, definition: dict[str, Any]) -> list[tuple[str, str]]:
        return _tree_uses(definition.get("sets"))


#: statements that write or change the session: never in a from_table query
_WRITE_NODES = (
    "Insert Update Delete Merge Drop Create Alter TruncateTable Into Copy Command Set Pragma Use "
    "Transaction Commit Rollback Attach Detach"
)
_WRITES = tuple(getattr(exp, name) for name in _WRITE_NODES.split() if hasattr(exp, name))


def read_only_query(query: Any, dialect: str) -> str:
    """``query`` when it is exactly one read-only SELECT (parsed, never run); else a clear error."""
    if not isinstance(query, str) or not query.strip():
        raise UploadError(f"query= takes the text of one SELECT statement, not {query!r}")
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise UploadError(f"the query of from_table is not valid SQL: {first_line(exc)}") from exc
    if len(statements) != 1:
        raise UploadError(
            f"the query of from_table holds {len(statements)} statements; give exactly one "
            "SELECT (no ';' between statements)"
        )
    tree = statements[0]
    writes = sorted({type(n).__name__.upper() for n in tree.walk() if isinstance(n, _WRITES)})
    if not isinstance(tree, exp.Query) or writes:
        what = ", ".join(writes) or type(tree).__name__.upper()
        raise UploadError(
            f"the query of from_table must only read: one SELECT, not {what}; write e.g. "
            "query='SELECT uid FROM crm.high_value WHERE score > 0.8'"
        )
    return query.strip().rstrip(";")


def probe_read_only(ctx: Context, sql: str) -> None:
    """PostgreSQL: run the query once in a READ ONLY transaction, so write functions fail.

    Done when the segment is made; the stored text is parsed again on every refresh.
    """
    if ctx.con.name != "postgres":
        return
    con = ctx.con.con
    try:
        with con.transaction(), con.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(f"SELECT count(*) FROM ({sql}) AS segnb_query")
    except Exception as exc:
        raise UploadError(
            f"the query of from_table does not run read-only: {first_line(exc)}"
        ) from exc


def source_ids(ctx: Context, ent: Entity, definition: dict[str, Any]):
    """Distinct non-null ids of a source table/query, cast to the entity id type."""
    if definition.get("query") is not None:
        sql = read_only_query(definition["query"], ctx.con.name)
        try:
            source = ctx.con.sql(sql)
        except Exception as exc:
            raise UploadError(f"the query of from_table does not run: {first_line(exc)}") from exc
    else:
        try:
            source = ctx.catalog.table(definition["table"])
        except CatalogError as exc:
            raise UploadError(str(exc)) from exc
    column = definition["id_column"]
    if column not in source.columns:
        raise UploadError(
            f"{definition.get('table') or 'the query'} has no column {column!r}"
            + did_you_mean(column, source.columns)
            + f" (columns: {', '.join(source.columns)})"
        )
    col = source[column]
    want = ent.id_dtype
    have = col.type()
    if (want.is_numeric() and not have.is_numeric()) or (want.is_string() and not have.is_string()):
        raise UploadError(
            f"column {column!r} holds {have}, but {ent.name} ids ({ent.id}) are {want}; "
            "pick the column holding the entity id"
        )
    ids = col.cast(want) if have != want else col
    return source.filter(col.notnull()).select(ids.name(ent.id)).distinct()


class TableMethod:
    """``method="table"``: the ids of a warehouse table or query that are entities."""

    name = "table"

    def prepare(
        self, ctx: Context, name: str, *, entity: Any, as_of: Any, table: str | None = None,
        id_column: str | None = None, query: str | None = None,
    ):  # fmt: skip
        if (table is None) == (query is None):
            raise InvalidValueError(
                "from_table() needs table='schema.table' or query='SELECT …' (one)"
            )
        if table is not None and (not isinstance(table, str) or not table.strip()):
            raise InvalidValueError(
                f"table= takes a table name like 'crm.high_value', not {table!r}"
            )
        if not id_column or not isinstance(id_column, str):
            raise InvalidValueError(
                f"from_table() needs id_column= (the name of the column holding the entity id), "
                f"not {id_column!r}"
            )
        ent = ctx.entity(entity)
        definition = {"table": table, "query": query, "id_column": id_column}
        source_ids(ctx, ent, definition)  # validates table, column and type before writing
        if query is not None:
            probe_read_only(ctx, read_only_query(query, ctx.con.name))
        return ent, definition

    def build(
        self, ctx: Context, row: dict[str, Any], as_of: dt.date, *, retrain: bool = False,
        check: bool = True,
    ) -> Built:  # fmt: skip
        ent = ctx.entity(row["entity"])
        source = source_ids(ctx, ent, definition_of(row))
        entities = ctx.catalog.table(ent.table)
        members = source.semi_join(entities, source[ent.id] == entities[ent.id])
        return Built(
            members,
            extra=lambda stored, version, member_table: unmatched_extra(
                ctx, stored, version, member_table, source
            ),
        )

    def uses(self, definition: dict[str, Any]) -> list[tuple[str, str]]:
        return []
