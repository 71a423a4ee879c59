"""Creating segments: the options of SPEC §2 and the rules, sets and table methods.

Each creation method checks its input before anything is written, inserts
the segment's row as ``generating`` and writes the first membership version
through :meth:`segnb.store.store.Store.write_version`. Refreshes
(:mod:`segnb.segments.manage`) rebuild the members from the stored definition:
a rule tree (JSON), a set expression, a source table or query, or an
uploaded list kept in the warehouse (:mod:`segnb.segments.upload`).

Examples
--------
>>> ws.create_segment("buyers", rules="did(purchase, T-6..T)", group="Q4")   # doctest: +SKIP
>>> ws.combine("loyal_buyers", "buyers & members")                          # doctest: +SKIP
>>> ws.from_table("crm_vip", table="crm.high_value", id_column="uid")       # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

from segnb.errors import (
    DuplicateNameError,
    InvalidValueError,
    SegmentStateError,
)
from segnb.lang.nodes import InSegment, SegmentRef, from_json, to_json, walk
from segnb.segments.manage import (
    build_members,
    find_row,
    score_names,
    segment_names,
    source_ids,
)
from segnb.segments.segment import Segment, usable_row
from segnb.store.store import utcnow

if TYPE_CHECKING:
    from segnb.workspace import Workspace

__all__ = [
    "REFRESH",
    "SCENARIOS",
    "SCOPES",
    "check_name",
    "combine",
    "create",
    "create_segment",
    "from_table",
    "options",
    "parse_expires",
]

REFRESH = ("once", "daily")
SCENARIOS = {
    "insight": "insight analysis",
    "delivery": "messages/ad delivery",
    "reward": "reward distribution",
    "leads": "leads distribution",
}
SCOPES = ("private", "public", "shared")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


# -- options shared by every method --------------------------------------------


def parse_expires(value: Any, today: dt.date) -> dt.date | None:
    """An expiry date from a date or 'YYYY-MM-DD' (None: never); not in the past."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidValueError(f"expires={value!r} is not a date; write YYYY-MM-DD") from None
    if not isinstance(value, dt.date):
        raise InvalidValueError(f"expires takes a date or 'YYYY-MM-DD', not {type(value).__name__}")
    if value < today:
        raise InvalidValueError(
            f"expires={value} is in the past (today is {today}); pick a later day"
        )
    return value


def check_name(name: Any, what: str = "segment") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueError(f"a {what} needs a non-empty name, not {name!r}")
    if name != name.strip() or len(name) > 128 or any(ord(c) < 32 or c == "`" for c in name):
        raise InvalidValueError(
            f"{what} name {name!r} has leading/trailing spaces, control characters or backticks, "
            "or is longer than 128 characters; use e.g. 'active_buyers'"
        )
    return name


def options(
    ws: Workspace,
    *,
    group: str | None = None,
    description: str = "",
    refresh: str = "once",
    scenario: str | None = None,
    tz: str | None = None,
    expires: Any = None,
    time_sensitive: bool = False,
    email: str | None = None,
    scope: str = "public",
    shared_with: list[str] | tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The validated metadata columns of a new segment (SPEC §2)."""
    from segnb.workspace import today

    if refresh not in REFRESH:
        raise InvalidValueError(f"refresh={refresh!r}; use one of {', '.join(REFRESH)}")
    if scenario is not None:
        codes = {v: k for k, v in SCENARIOS.items()}
        scenario = codes.get(scenario, scenario)
        if scenario not in SCENARIOS:
            raise InvalidValueError(
                f"scenario={scenario!r}; use one of {', '.join(SCENARIOS)} "
                f"({'; '.join(SCENARIOS.values())})"
            )
    zone = tz or ws.tz or "UTC"
    day = today(zone)  # validates the zone
    if time_sensitive and refresh != "daily":
        raise InvalidValueError(
            "time_sensitive=True needs refresh='daily' (only daily segments go stale)"
        )
    if email is not None and not _EMAIL.match(str(email)):
        raise InvalidValueError(f"email={email!r} is not an e-mail address like 'team@example.com'")
    shared = [str(u) for u in (shared_with or [])]
    if shared and scope == "public":
        scope = "shared"
    if scope not in SCOPES:
        raise InvalidValueError(f"scope={scope!r}; use one of {', '.join(SCOPES)}")
    if scope == "shared" and not shared:
        raise InvalidValueError("scope='shared' needs shared_with=[user, …]")
    return {
        "group_name": check_name(group or ws.store_settings["default_group"], "group"),
        "description": str(description or ""),
        "refresh": refresh,
        "scenario": scenario,
        "timezone": zone,
        "expires_at": parse_expires(expires, day),
        "time_sensitive": bool(time_sensitive),
        "email": email,
        "scope": scope,
        "shared_with": shared if scope == "shared" else [],
    }


# -- creation ------------------------------------------------------------------


def create(
    ws: Workspace,
    name: str,
    *,
    method: str,
    entity: Any,
    definition: dict[str, Any],
    as_of: Any,
    opts: dict[str, Any],
    extra=None,
    members=None,
) -> Segment:
    """Insert the row (``generating``) and write version 1; the shared tail of every method.

    ``members(row)``, when given, returns the member table instead of
    :func:`~segnb.segments.manage.build_members` (methods that trained already).
    """
    from segnb.segments.plans import ensure_group
    from segnb.workspace import as_date

    store = ws.store
    ent = ws.entity(entity)
    check_name(name)
    if store.segment_row(name) is not None:
        raise DuplicateNameError(
            f"a segment named {name!r} already exists; pick another name, or refresh or "
            f"delete it (ws.segment({name!r}).refresh())"
        )
    day = as_date(as_of, opts["timezone"])
    ensure_group(ws, opts["group_name"])
    now = utcnow()
    for _ in range(5):
        seg_id = store.next_id("segments")
        values = {
            "id": seg_id, "name": name, "entity": ent.name, "method": method,
            "definition": json.dumps(definition, default=str), "owner": ws.store_settings["owner"],
            "status": "generating", "error": None, "current_version": None,
            "created_at": now, "updated_at": now, **opts,
        }  # fmt: skip
        try:
            store.insert("segments", values)
            break
        except Exception as exc:
            if store.segment_row(name) is not None:
                raise DuplicateNameError(
                    f"a segment named {name!r} was just created elsewhere"
                ) from exc
    else:  # pragma: no cover
        raise SegmentStateError(f"could not record segment {name!r}; try again")
    row = store.segment_row_by_id(seg_id)
    store.write_version(
        row,
        (lambda: build_members(ws, row, day)) if members is None else (lambda: members(row)),
        as_of=day, kind="create",
        extra=None if extra is None else (lambda v, t: extra(row, v, t)),
    )  # fmt: skip
    return Segment(ws, name, store.segment_row_by_id(seg_id))


def create_segment(
    ws: Workspace, name: str, rules: Any, *, as_of: Any = None, entity: Any = None, **kw: Any
) -> Segment:
    """A rules segment (or a segment-sets one when ``rules`` is only ``& | -`` of segments)."""
    ent = ws.entity(entity)
    opts = options(ws, **kw)
    if _is_sets(rules):
        return combine(ws, name, rules, as_of=as_of, entity=ent, _opts=opts)
    definition = rules_definition(ws, ent, rules)
    return create(
        ws, name, method="rules", entity=ent, definition=definition, as_of=as_of, opts=opts
    )


def _is_sets(rules: Any) -> bool:
    from segnb.lang.parse import is_set_expression

    return (isinstance(rules, str) and is_set_expression(rules)) or _is_set_tree(rules)


def rules_definition(ws: Workspace, ent: Any, rules: Any) -> dict[str, Any]:
    """The stored definition of a rules segment: the text and the checked tree."""
    from segnb.lang.nodes import Node
    from segnb.lang.parse import parse_rule

    names = segment_names(ws, ent.name)
    scores = score_names(ws, ent.name)
    if isinstance(rules, str):
        tree = parse_rule(rules, ws.catalog, ent, segments=names, scores=scores)
        text = rules
    elif isinstance(rules, Node):
        from segnb.lang.check import check as check_tree

        check_tree(rules, ws.catalog, ent, segments=names, scores=scores)
        tree, text = rules, str(rules)
    else:
        raise InvalidValueError(
            f"rules= takes rule text or a rule tree, not {type(rules).__name__}"
        )
    return {"text": text, "rule": to_json(tree)}


def _is_set_tree(value: Any) -> bool:
    from segnb.lang.nodes import SetOp

    return isinstance(value, (SetOp, SegmentRef))


def combine(
    ws: Workspace,
    name: str,
    expression: Any,
    *,
    as_of: Any = None,
    entity: Any = None,
    _opts: dict[str, Any] | None = None,
    **kw: Any,
) -> Segment:
    """A segment-sets segment: ``&`` ``|`` ``-`` and parentheses over active segments."""
    opts = _opts or options(ws, **kw)
    ent, definition = sets_definition(ws, name, expression, entity)
    return create(
        ws, name, method="sets", entity=ent, definition=definition, as_of=as_of, opts=opts
    )


def sets_definition(ws: Workspace, name: str, expression: Any, entity: Any = None):
    """The target object and stored definition of a segment-sets segment."""
    from segnb.lang.parse import parse_sets

    if isinstance(expression, str):
        tree = parse_sets(expression, segment_names(ws))
        text = expression
    elif _is_set_tree(expression):
        tree, text = expression, str(expression)
    else:
        raise InvalidValueError(
            f"combine() takes a set expression like 'vip & active - churned', not {expression!r}"
        )
    refs = sorted({n.name for n in walk(tree) if isinstance(n, SegmentRef)})
    if name in refs:
        raise InvalidValueError(f"segment {name!r} cannot be made from itself")
    rows = [find_row(ws, ref) for ref in refs]
    entities = {r["entity"] for r in rows}
    if entity is None and len(entities) == 1:
        entity = next(iter(entities))
    ent = ws.entity(entity)
    for row in rows:
        if row["entity"] != ent.name:
            raise InvalidValueError(
                f"segment {row['name']!r} holds {row['entity']}, the others {ent.name}; "
                "sets combine segments of one target object"
            )
        usable_row(ws, row, "in segment sets")
    return ent, {"text": text, "sets": to_json(tree), "segments": refs}


def redefine(ws: Workspace, row: dict[str, Any], rules: Any, as_of: Any = None, **kw: Any) -> None:
    """Give a rules or sets segment a new definition as its next version; history stays.

    Options in ``kw`` (as for :func:`create_segment`) replace the current ones.
    The new definition and options are stored in the same transaction that
    makes the new version current: if writing it fails, the old ones stay.
    """
    from segnb.segments.manage import build_members, dependents
    from segnb.segments.segment import check_expiry, segment_today
    from segnb.workspace import as_date

    current = {
        "group": row["group_name"], "description": row["description"],
        "refresh": row["refresh"], "scenario": row["scenario"], "tz": row["timezone"],
        "expires": row["expires_at"], "time_sensitive": row["time_sensitive"],
        "email": row["email"], "scope": row["scope"], "shared_with": row["shared_with"],
    }  # fmt: skip
    opts = options(ws, **{**current, **kw})
    check_expiry(ws, row, opts["expires_at"])

    if row["method"] not in ("rules", "sets"):
        raise SegmentStateError(
            f"segment {row['name']!r} is a {row['method']} segment; only rules and sets "
            "segments can be redefined (upload again or create a new one)"
        )
    ent = ws.entity(row["entity"])
    if _is_sets(rules):
        method = "sets"
        set_ent, definition = sets_definition(ws, row["name"], rules, ent.name)
        if set_ent.name != ent.name:  # pragma: no cover - sets_definition checks this
            raise InvalidValueError(f"segment {row['name']!r} holds {ent.name}")
    else:
        method, definition = "rules", rules_definition(ws, ent, rules)
    tree = from_json(definition.get("rule") or definition["sets"])
    used = {n.name for n in walk(tree) if isinstance(n, (SegmentRef, InSegment))}
    users, todo = set(), [row["name"]]
    while todo:  # every segment that builds on this one, directly or not
        for name in dependents(ws, todo.pop()):
            if name not in users:
                users.add(name)
                todo.append(name)
    loop = sorted(used & (users | {row["name"]}))
    if loop:
        raise InvalidValueError(
            f"segment {row['name']!r} cannot use {', '.join(map(repr, loop))}: "
            f"{'it is' if loop == [row['name']] else 'they are'} built on {row['name']!r}"
        )
    if opts["group_name"] != row["group_name"]:
        from segnb.segments.plans import ensure_group

        ensure_group(ws, opts["group_name"])
    changes = {**opts, "method": method, "definition": json.dumps(definition, default=str)}
    new_row = {**row, **changes}
    day = as_date(as_of, row["timezone"] or ws.tz) if as_of is not None else segment_today(ws, row)
    ws.store.write_version(
        new_row, lambda: build_members(ws, new_row, day), as_of=day, kind="redefine",
        changes=changes,
    )  # fmt: skip


def from_table(
    ws: Workspace,
    name: str,
    table: str | None = None,
    id_column: str | None = None,
    *,
    query: str | None = None,
    as_of: Any = None,
    entity: Any = None,
    **kw: Any,
) -> Segment:
    """A segment from a warehouse table (or SQL query) and the column holding the id.

    Ids that are not among the entities are counted and kept
    (``seg.unmatched()``); members are the ids that are.
    """
    from segnb.segments.upload import unmatched_extra

    if (table is None) == (query is None):
        raise InvalidValueError("from_table() needs table='schema.table' or query='SELECT …' (one)")
    if not id_column:
        raise InvalidValueError("from_table() needs id_column= (the column holding the entity id)")
    ent = ws.entity(entity)
    opts = options(ws, **kw)
    definition = {"table": table, "query": query, "id_column": id_column}
    source_ids(ws, ent, definition)  # validates table, column and type before anything is written
    return create(
        ws, name, method="table", entity=ent, definition=definition, as_of=as_of, opts=opts,
        extra=lambda row, version, member_table: unmatched_extra(
            ws, row, version, member_table, source_ids(ws, ent, definition)
        ),
    )  # fmt: skip
