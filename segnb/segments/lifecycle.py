"""Acting on stored segments: refresh, delete, list, and the deleted-records log (SPEC §6).

Examples
--------
>>> refresh_segment(ctx, ctx.find_row("buyers"))     # doctest: +SKIP
>>> delete_segment(ctx, ctx.find_row("buyers"))      # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

from segnb.errors import InvalidValueError, SegmentNotFoundError, SegmentStateError
from segnb.segments.context import Context, held
from segnb.segments.graph import Graph
from segnb.segments.registry import get_method, is_plugin, write_built
from segnb.segments.status import definition_of, effective_status, segment_today, unfinished_plans
from segnb.times import as_date, utcnow

__all__ = ["delete_segment", "deleted_log", "list_rows", "refresh_segment"]


@held
def refresh_segment(
    ctx: Context, row: dict[str, Any], as_of: Any = None, *, retrain: bool = False
) -> None:
    """Write a new version of ``row`` as of ``as_of`` (model methods re-score, or retrain)."""
    if retrain and not is_plugin(row["method"]):
        raise InvalidValueError(
            f"retrain=True applies to lookalike and AI prediction segments; segment "
            f"{row['name']!r} is a {row['method']} segment"
        )
    if not ctx.visible(row):
        raise SegmentNotFoundError(ctx.not_found(row["name"]))
    status = effective_status(row, segment_today(ctx, row))
    if status == "expired":
        raise SegmentStateError(
            f"segment {row['name']!r} expired on {row['expires_at']}; extend it before refreshing"
        )
    day = as_date(as_of, row["timezone"] or ctx.tz)
    impl = get_method(row["method"])
    kind = "retrain" if retrain else "refresh"
    if is_plugin(row["method"]):  # a model that cannot load or train is refused up front
        built = impl.build(ctx, row, day, retrain=retrain)
        write_built(ctx, row, lambda: built, as_of=day, kind=kind)
    else:
        write_built(ctx, row, lambda: impl.build(ctx, row, day), as_of=day, kind=kind)


@held
def delete_segment(ctx: Context, row: dict[str, Any]) -> None:
    """Delete a segment; refused while a plan or another segment uses it (naming them)."""
    name = row["name"]
    if not ctx.visible(row) or (row["scope"] != "public" and row["owner"] != ctx.owner):
        raise SegmentStateError(
            f"segment {name!r} belongs to {row['owner']!r}; only they can delete it"
        )
    plans = unfinished_plans(ctx, row["id"])
    if plans:
        listed = ", ".join(f"{p['name']!r} (until {p['ends']})" for p in plans)
        raise SegmentStateError(
            f"segment {name!r} is used by unfinished operation plan(s) {listed}; "
            "finish or delete them first (ws.plans.finish(name))"
        )
    users = Graph.of(ctx).users(name)
    if users:
        seen = {r["name"] for r in ctx.visible_rows([u.user for u in users])}
        named = [str(u) for u in users if u.user in seen]
        hidden = len({u.user for u in users if u.user not in seen})
        if hidden:
            named.append(f"{hidden} segment(s) of other owners you cannot see")
        raise SegmentStateError(
            f"segment {name!r} is used by {', '.join(named)}; delete those first"
        )
    store = ctx.store
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
                "deleted_by": ctx.owner, "scope": row["scope"],
                "shared_with": json.dumps(list(row["shared_with"] or [])),
            },
        )  # fmt: skip
        for version in versions:
            if not version["dropped"]:
                store.drop_version_tables(version)
        definition = definition_of(row, strict=False)
        if definition.get("list_table"):
            store.drop_table(definition["list_table"])
        store.db.execute(f"DELETE FROM {store.t('versions')} WHERE segment_id = ?", (row["id"],))
        store.db.execute(f"DELETE FROM {store.t('models')} WHERE segment_id = ?", (row["id"],))
        store.db.execute(f"DELETE FROM {store.t('segments')} WHERE id = ?", (row["id"],))
    for key in [k for k in store.bitmaps if k[0] == row["id"]]:
        store.bitmaps.pop(key, None)


def list_rows(
    ctx: Context,
    group: str | None = None,
    search: str | None = None,
    status: str | None = None,
    method: str | None = None,
    entity: str | None = None,
) -> list[dict[str, Any]]:
    """Visible segments' rows, filtered by group, text in name/description, status, method."""
    out = []
    needle = (search or "").lower()
    for row in ctx.visible_rows():
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
        if status is not None and effective_status(row, segment_today(ctx, row)) != status:
            continue
        out.append(row)
    return out


def deleted_log(ctx: Context):
    """The deleted-records log as a pandas DataFrame, newest first."""
    import pandas as pd

    rows = [r for r in ctx.store.select("deleted", order="deleted_at DESC") if _was_visible(ctx, r)]
    cols = ["name", "group_name", "entity", "method", "owner", "last_size", "last_version",
            "created_at", "deleted_at", "deleted_by"]  # fmt: skip
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)


def _was_visible(ctx: Context, row: dict[str, Any]) -> bool:
    """Whether the owner here could see the segment when it was deleted (expose scope)."""
    if ctx.owner in (row["owner"], row["deleted_by"]):
        return True
    try:
        shared = json.loads(row.get("shared_with") or "[]")
    except ValueError:
        shared = []
    return row.get("scope") == "public" or (row.get("scope") == "shared" and ctx.owner in shared)
