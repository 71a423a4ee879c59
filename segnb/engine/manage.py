"""Reading, rebuilding, refreshing, listing and deleting stored segments (SPEC §5, §6).

Who sees a segment (expose scope), how its members are rebuilt from its
stored definition (rule tree, set expression, source table, uploaded list),
the resolver the rule compiler uses for ``in_segment()``/``score()``, and the
lifecycle steps that act on an existing segment.

Examples
--------
>>> ws.segments(group="Q4", search="buy")     # doctest: +SKIP
>>> ws.segment("buyers").refresh()            # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from segnb.engine.catalog import closest
from segnb.engine.rules import InSegment, SegmentRef, from_json, walk
from segnb.engine.segments import Segment, effective_status, segment_today, usable_row
from segnb.engine.store import utcnow
from segnb.errors import (
    NotAvailableError,
    SegmentNotFoundError,
    SegmentStateError,
    UploadError,
)

if TYPE_CHECKING:
    from segnb.engine.workspace import Workspace

__all__ = [
    "SegmentList",
    "StoreResolver",
    "build_members",
    "delete_segment",
    "deleted_log",
    "dependents",
    "find_row",
    "list_segments",
    "refresh_segment",
    "score_names",
    "segment_names",
    "source_ids",
    "visible",
]


def visible(ws: Workspace, row: dict[str, Any]) -> bool:
    """Expose scope: public to all, private to the owner, shared to the owner and named users."""
    user = ws.store_settings["owner"]
    return row["scope"] == "public" or row["owner"] == user or user in row["shared_with"]


def find_row(ws: Workspace, name: str) -> dict[str, Any]:
    """The visible row of segment ``name``, or :class:`SegmentNotFoundError`."""
    row = ws.store.segment_row(name) if isinstance(name, str) else None
    if row is None:
        names = [r["name"] for r in ws.store.segment_rows() if visible(ws, r)]
        guess = closest(str(name), names)
        raise SegmentNotFoundError(
            f"no segment named {name!r}"
            + (f"; did you mean {guess!r}?" if guess else "")
            + " (ws.segments() lists them)"
        )
    if not visible(ws, row):
        raise SegmentNotFoundError(
            f"segment {name!r} is {row['scope']} to its owner {row['owner']!r}; ask them to share it"
        )
    return row


def segment_names(ws: Workspace, entity: str | None = None) -> list[str]:
    return [
        r["name"]
        for r in ws.store.segment_rows()
        if visible(ws, r) and (entity is None or r["entity"] == entity)
    ]


def score_names(ws: Workspace, entity: str | None = None) -> list[str]:
    """Visible AI prediction and lookalike segments: the names ``score(name)`` takes in rules."""
    return [
        r["name"]
        for r in ws.store.segment_rows()
        if visible(ws, r)
        and r["method"] in ("prediction", "lookalike")
        and (entity is None or r["entity"] == entity)
    ]


# -- the resolver the rule compiler uses ---------------------------------------


class StoreResolver:
    """Members and scores of other segments for ``in_segment()`` and ``score()``."""

    def __init__(self, ws: Workspace, entity: Any) -> None:
        self.ws = ws
        self.entity = ws.entity(entity)

    def _version(self, name: str, purpose: str) -> tuple[dict[str, Any], dict[str, Any]]:
        row = find_row(self.ws, name)
        if row["entity"] != self.entity.name:
            raise SegmentStateError(
                f"segment {name!r} holds {row['entity']}, not {self.entity.name}; "
                f"it cannot be used {purpose}"
            )
        usable_row(self.ws, row, purpose)
        return row, self.ws.store.version_row(row["id"], row["current_version"])

    def segment_members(self, name: str):
        _, version = self._version(name, "in rules")
        return self.ws.store.ibis_table(version["member_table"]).select(self.entity.id)

    def scores(self, name: str):
        row, version = self._version(name, "in score()")
        if not version.get("scores_table"):
            raise NotAvailableError(f"segment {name!r} ({row['method']}) has no scores")
        return self.ws.store.ibis_table(version["scores_table"])


# -- building members from a definition ----------------------------------------


def build_members(ws: Workspace, row: dict[str, Any], as_of: dt.date, *, check: bool = True):
    """The Ibis table of member ids of ``row``'s definition as of ``as_of``."""
    from segnb.engine.compile import compile_rule

    ent = ws.entity(row["entity"])
    definition = json.loads(row["definition"] or "{}")
    method = row["method"]
    if method == "rules":
        tree = from_json(definition["rule"])
        if check:
            from segnb.engine.check import check as check_tree

            check_tree(
                tree, ws.catalog, ent, segments=segment_names(ws, ent.name),
                scores=score_names(ws, ent.name),
            )  # fmt: skip
        resolver = StoreResolver(ws, ent)
        return compile_rule(
            tree, ws.catalog, ent, as_of=as_of, tz=row["timezone"] or "UTC", resolver=resolver
        )
    if method == "sets":
        from segnb.engine.sets import set_query

        tree = from_json(definition["sets"])
        resolver = StoreResolver(ws, ent)

        def table_of(name: str):
            _, version = resolver._version(name, "in segment sets")
            return ws.store.ibis_table(version["member_table"]).select(ent.id)

        return set_query(tree, table_of)
    if method == "table":
        source = source_ids(ws, ent, definition)
        entities = ws.catalog.table(ent.table)
        return source.semi_join(entities, source[ent.id] == entities[ent.id])
    if method == "upload":
        from segnb.engine.upload import list_members

        return list_members(ws, ent, definition)
    from segnb.engine.methods import get_method, is_registered

    if is_registered(method):  # lookalike, prediction: re-scored with the stored model
        return get_method(method).build(ws, row, as_of, retrain=False).members
    raise NotAvailableError(f"segments made by {method!r} cannot be rebuilt by this segnb")


def source_ids(ws: Workspace, ent: Any, definition: dict[str, Any]):
    """Distinct non-null ids of a source table/query, cast to the entity id type."""
    if definition.get("query"):
        try:
            source = ws.con.sql(definition["query"])
        except Exception as exc:
            raise UploadError(f"the query of from_table does not run: {_first(exc)}") from exc
    else:
        from segnb.errors import CatalogError

        try:
            source = ws.catalog.table(definition["table"])
        except CatalogError as exc:
            raise UploadError(str(exc)) from exc
    column = definition["id_column"]
    if column not in source.columns:
        guess = closest(column, source.columns)
        raise UploadError(
            f"{definition.get('table') or 'the query'} has no column {column!r}"
            + (f"; did you mean {guess!r}?" if guess else "")
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


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- refresh, delete, list -----------------------------------------------------


def refresh_segment(
    ws: Workspace, row: dict[str, Any], as_of: Any = None, *, retrain: bool = False
) -> None:
    from segnb.engine.methods import check_retrain, is_registered, refresh_with
    from segnb.engine.upload import unmatched_extra

    check_retrain(row, retrain)
    from segnb.engine.workspace import as_date

    if not visible(ws, row):
        raise SegmentNotFoundError(f"segment {row['name']!r} is private to {row['owner']!r}")
    status = effective_status(row, segment_today(ws, row))
    if status == "expired":
        raise SegmentStateError(
            f"segment {row['name']!r} expired on {row['expires_at']}; extend it before refreshing"
        )
    day = as_date(as_of, row["timezone"] or ws.tz)
    if is_registered(row["method"]):
        refresh_with(ws, row, day, retrain=retrain)
        return
    extra = None
    if row["method"] == "table":
        ent = ws.entity(row["entity"])
        definition = json.loads(row["definition"])

        def extra(version, member_table):
            return unmatched_extra(ws, row, version, member_table, source_ids(ws, ent, definition))
    elif row["method"] == "upload":
        from segnb.engine.upload import list_extra

        def extra(version, member_table):
            return list_extra(ws, row, version, member_table)

    ws.store.write_version(
        row, lambda: build_members(ws, row, day), as_of=day, kind="refresh", extra=extra
    )


def dependents(ws: Workspace, name: str) -> list[str]:
    """Segments whose definitions name ``name`` (sets or in_segment)."""
    out = []
    for row in ws.store.segment_rows():
        definition = json.loads(row["definition"] or "{}")
        tree = definition.get("rule") or definition.get("sets")
        if row["name"] != name and name in (definition.get("inputs") or {}).values():
            out.append(row["name"])  # a lookalike's seed, a prediction's audience, …
            continue
        if not tree or row["name"] == name:
            continue
        try:
            nodes = walk(from_json(tree))
        except Exception:
            continue
        if any(isinstance(n, (SegmentRef, InSegment)) and n.name == name for n in nodes):
            out.append(row["name"])
    return out


def delete_segment(ws: Workspace, row: dict[str, Any]) -> None:
    from segnb.engine.plans import unfinished_plans

    name = row["name"]
    if not visible(ws, row) or (
        row["scope"] != "public" and row["owner"] != ws.store_settings["owner"]
    ):
        raise SegmentStateError(
            f"segment {name!r} belongs to {row['owner']!r}; only they can delete it"
        )
    plans = unfinished_plans(ws, row["id"])
    if plans:
        listed = ", ".join(f"{p['name']!r} (until {p['ends']})" for p in plans)
        raise SegmentStateError(
            f"segment {name!r} is used by unfinished operation plan(s) {listed}; "
            "finish or delete them first (ws.plans.finish(name))"
        )
    users = dependents(ws, name)
    if users:
        raise SegmentStateError(
            f"segment {name!r} is used in the definitions of {', '.join(map(repr, users))}; "
            "delete those first"
        )
    store = ws.store
    versions = store.version_rows(row["id"])
    last = versions[-1] if versions else None
    with store.db.transaction():
        store.lock_segment(row["id"], name)
        store.insert(
            "deleted",
            {
                "segment_id": row["id"], "name": name, "group_name": row["group_name"],
                "entity": row["entity"], "method": row["method"], "definition": row["definition"],
                "owner": row["owner"], "last_size": None if last is None else last["size"],
                "last_version": None if last is None else last["version"],
                "created_at": row["created_at"], "deleted_at": utcnow(),
                "deleted_by": ws.store_settings["owner"],
            },
        )  # fmt: skip
        for version in versions:
            if not version["dropped"]:
                store.drop_version_tables(version)
        definition = json.loads(row["definition"] or "{}")
        if definition.get("list_table"):
            store.db.execute(f"DROP TABLE IF EXISTS {store.t(definition['list_table'])}")
        store.db.execute(f"DELETE FROM {store.t('versions')} WHERE segment_id = ?", (row["id"],))
        store.db.execute(f"DELETE FROM {store.t('models')} WHERE segment_id = ?", (row["id"],))
        store.db.execute(f"DELETE FROM {store.t('segments')} WHERE id = ?", (row["id"],))
    for key in [k for k in store.bitmaps if k[0] == row["id"]]:
        store.bitmaps.pop(key, None)


class SegmentList(list):
    """Segments from :func:`list_segments`; ``to_frame()`` for a table."""

    def to_frame(self):
        import pandas as pd

        cols = ["name", "group", "status", "method", "entity", "size", "version", "as_of",
                "refresh", "expires_at", "owner", "scope", "description"]  # fmt: skip
        return pd.DataFrame([{c: s.to_dict()[c] for c in cols} for s in self], columns=cols)

    def __repr__(self) -> str:
        if not self:
            return "<no segments>"
        return "\n".join(repr(s) for s in self)


def list_segments(
    ws: Workspace,
    group: str | None = None,
    search: str | None = None,
    status: str | None = None,
    method: str | None = None,
    entity: str | None = None,
) -> SegmentList:
    """Visible segments, filtered by group, text in name/description, status, method."""
    out = SegmentList()
    needle = (search or "").lower()
    for row in ws.store.segment_rows():
        if not visible(ws, row):
            continue
        if group is not None and row["group_name"] != group:
            continue
        if method is not None and row["method"] != method:
            continue
        if entity is not None and row["entity"] != entity:
            continue
        if (
            needle
            and needle not in row["name"].lower()
            and needle not in (row["description"] or "").lower()
        ):
            continue
        if status is not None and effective_status(row, segment_today(ws, row)) != status:
            continue
        out.append(Segment(ws, row["name"], row))
    return out


def deleted_log(ws: Workspace):
    """The deleted-records log as a pandas DataFrame, newest first."""
    import pandas as pd

    rows = ws.store.select("deleted", order="deleted_at DESC")
    cols = ["name", "group_name", "entity", "method", "owner", "last_size", "last_version",
            "created_at", "deleted_at", "deleted_by"]  # fmt: skip
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
