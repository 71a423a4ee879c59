"""Creating and redefining segments: one path for every creation method.

:func:`create_with` checks the options and the method's inputs, builds the
members (model methods train here), and only then records the segment and
writes its first version through
:meth:`segnb.store.store.Store.write_version`. :func:`redefine` gives a rules
or sets segment a new definition as its next version.

Examples
--------
>>> create_with(ctx, "rules", "buyers", rules="did(purchase, T-6..T)", group="Q4")  # doctest: +SKIP
>>> create_with(ctx, "sets", "loyal_buyers", expression="buyers & members")        # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

from segnb.errors import DuplicateNameError, InvalidValueError, SegmentStateError
from segnb.segments.builtin import is_sets
from segnb.segments.context import Context, held
from segnb.segments.graph import Graph
from segnb.segments.groups import ensure_group
from segnb.segments.options import check_name, current_options, options, split_options
from segnb.segments.recover import reclaim
from segnb.segments.registry import BUILTIN, get_method, write_built
from segnb.segments.status import check_expiry, segment_today
from segnb.times import as_date, utcnow

__all__ = ["create_with", "redefine"]


def _free(ctx: Context, name: str) -> None:
    """Refuse a name in use; a segment that failed before its first version gives its name up."""
    check_name(name)
    row = ctx.store.segment_row(name)
    if row is None:
        return
    discard = (
        getattr(get_method(row["method"]), "discard", None) if row["method"] in BUILTIN else None
    )
    if not reclaim(ctx, row, None if discard is None else lambda d: discard(ctx, d)):
        raise DuplicateNameError(
            f"a segment named {name!r} already exists; pick another name, or refresh or "
            f"delete it (ws.segment({name!r}).refresh())"
        )


def create_with(
    ctx: Context, method: str, name: str, *, as_of: Any = None, entity: Any = None, **kw: Any
) -> dict[str, Any]:
    """Create a segment of ``method``: check, build, then record it and write version 1.

    ``kw`` holds the segment options (group, refresh, …) and the method's
    inputs. A rules body that is only ``& | -`` of segments makes a sets
    segment. The stored row of the new segment is returned.
    """
    if method == "rules" and is_sets(kw.get("rules")):
        kw = dict(kw)
        method, kw["expression"] = "sets", kw.pop("rules")
    impl = get_method(method)
    opts_kw, inputs = split_options(kw)
    opts = options(ctx, **opts_kw)
    _free(ctx, name)
    ent, definition = impl.prepare(ctx, name, entity=entity, as_of=as_of, **inputs)
    try:
        day = as_date(as_of, opts["timezone"])
        draft = {
            "id": None, "name": name, "entity": ent.name, "method": method,
            "definition": json.dumps(definition, default=str), "timezone": opts["timezone"],
        }  # fmt: skip
        built = impl.build(ctx, draft, day, retrain=True)
        row = _record(ctx, name, method, ent.name, definition, opts)
    except BaseException:
        discard = getattr(impl, "discard", None)
        if discard is not None:
            discard(ctx, definition)
        raise
    write_built(ctx, row, lambda: built, as_of=day, kind="create")
    return ctx.store.segment_row_by_id(row["id"])


def _record(
    ctx: Context, name: str, method: str, entity: str, definition: dict, opts: dict
) -> dict[str, Any]:
    """Insert the segment's row as ``generating``."""
    store = ctx.store
    ensure_group(ctx, opts["group_name"])
    now = utcnow()
    seg_id = store.next_id("segments")  # from a sequence: distinct across sessions
    values = {
        "id": seg_id, "name": name, "entity": entity, "method": method,
        "definition": json.dumps(definition, default=str), "owner": ctx.owner,
        "status": "generating", "error": None, "current_version": None,
        "created_at": now, "updated_at": now, **opts,
    }  # fmt: skip
    try:
        store.insert("segments", values)
    except Exception as exc:
        if store.segment_row(name) is not None:
            raise DuplicateNameError(
                f"a segment named {name!r} was just created elsewhere"
            ) from exc
        raise
    return store.segment_row_by_id(seg_id)


@held
def redefine(ctx: Context, row: dict[str, Any], rules: Any, as_of: Any = None, **kw: Any) -> None:
    """Give a rules or sets segment a new definition as its next version; history stays.

    Options in ``kw`` (as for :func:`create_with`) replace the current ones.
    The new definition and options are stored in the same transaction that
    makes the new version current: if writing it fails, the old ones stay.
    """
    scope_change = {k for k in ("scope", "shared_with") if k in kw}
    if scope_change and row["owner"] != ctx.owner:
        raise SegmentStateError(
            f"only the owner of segment {row['name']!r} changes its scope; "
            f"leave out {', '.join(sorted(scope_change))}"
        )
    current = current_options(row)
    if kw.get("scope") in ("public", "private") and "shared_with" not in kw:
        current["shared_with"] = None  # a new public or private scope shares with no one
    opts = options(ctx, **{**current, **kw})
    check_expiry(ctx, row, opts["expires_at"])
    if not getattr(get_method(row["method"]), "redefinable", False):
        raise SegmentStateError(
            f"segment {row['name']!r} is a {row['method']} segment; only rules and sets "
            "segments can be redefined (upload again or create a new one)"
        )
    method = "sets" if is_sets(rules) else "rules"
    impl = get_method(method)
    inputs = {"expression": rules} if method == "sets" else {"rules": rules}
    ent, definition = impl.prepare(ctx, row["name"], entity=row["entity"], as_of=as_of, **inputs)
    if ent.name != row["entity"]:
        raise InvalidValueError(f"segment {row['name']!r} holds {row['entity']}")
    graph = Graph.of(ctx)
    users = graph.all_users(row["name"]) | {row["name"]}
    loop = sorted({name for name, _ in impl.uses(definition)} & users)
    if loop:
        raise InvalidValueError(
            f"segment {row['name']!r} cannot use {', '.join(map(repr, loop))}: "
            f"{'it is' if loop == [row['name']] else 'they are'} built on {row['name']!r}"
        )
    if opts["group_name"] != row["group_name"]:
        ensure_group(ctx, opts["group_name"])
    changes = {**opts, "method": method, "definition": json.dumps(definition, default=str)}
    new_row = {**row, **changes}
    day = (
        as_date(as_of, row["timezone"] or ctx.tz) if as_of is not None else segment_today(ctx, row)
    )
    write_built(
        ctx, new_row, lambda: impl.build(ctx, new_row, day), as_of=day, kind="redefine",
        changes=changes,
    )  # fmt: skip
