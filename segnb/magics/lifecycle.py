"""Managing stored segments: list, show, members, history, changes, insights, verify, export,
refresh, extend, delete, and the other creation methods (upload, from-table, lookalike, predict).
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from segnb.hints import closest
from segnb.magics.command import Command, Host
from segnb.magics.connection import help_text
from segnb.magics.define import create_options
from segnb.magics.results import ChangesResult, Note, SegmentListResult, SegmentResult, VerifyResult
from segnb.magics.verbs import SEGMENT_VERBS

__all__ = ["HANDLERS"]


def _segment(m: Host, cmd: Command):
    return m.workspace(store=True).segment(cmd["name"])


def _limit(m: Host, cmd: Command) -> int:
    return m.settings.displaylimit if cmd["limit"] is None else cmd["limit"]


def _truncated(m: Host, shown: int, total: int, what: str) -> None:
    if shown < total:
        m.note(
            f"segnb: showing {shown:,} of {total:,} {what} (--limit N, or "
            "%config SegNB.displaylimit = N; 0 shows all)"
        )


def list_(m: Host, cmd: Command) -> SegmentListResult:
    ws = m.workspace(store=True)
    found = ws.segments(
        group=cmd["group"],
        search=cmd["search"],
        status=cmd["status"],
        method=cmd["method"],
        entity=cmd["entity"],
    )
    return SegmentListResult.of(found)


def groups(m: Host, cmd: Command):
    return m.workspace(store=True).groups.list()


def show(m: Host, cmd: Command) -> SegmentResult:
    return SegmentResult.of(_segment(m, cmd))


def members(m: Host, cmd: Command):
    """The first ids of the current version (by id), capped by ``SegNB.displaylimit``."""
    seg = _segment(m, cmd)
    ws = seg.ctx
    ent = ws.catalog.entity(seg.entity)
    table = seg.members()
    if cmd["columns"]:
        columns = _attributes(ws, ent, cmd["columns"])
        entities = ws.catalog.table(ent.table).select(ent.id, *columns)
        table = table.left_join(entities, ent.id).select(ent.id, *columns)
    table = table.order_by(ent.id)
    limit = _limit(m, cmd)
    total = seg.size or 0
    frame = (table.limit(limit) if limit else table).to_pandas()
    if cmd["limit"] is None:
        _truncated(m, len(frame), total, f"members of {seg.name!r}")
    return frame


def _attributes(ws: Any, ent: Any, columns: list[str]) -> list[str]:
    """``columns`` checked against the entity table (attributes and other id columns)."""

    known = [c for c in ws.catalog.table(ent.table).columns if c != ent.id]
    for column in columns:
        if column not in known:
            guess = closest(column, known)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise UsageError(
                f"--columns: {ent.name} has no column {column!r}{hint} (columns: {', '.join(known)})"
            )
    return list(dict.fromkeys(columns))


def history(m: Host, cmd: Command):
    """Versions, newest last; the newest ``SegNB.displaylimit`` of them."""
    seg = _segment(m, cmd)
    frame = seg.history()
    limit = _limit(m, cmd)
    if limit and len(frame) > limit:
        if cmd["limit"] is None:
            _truncated(m, limit, len(frame), f"versions of {seg.name!r} (the newest)")
        frame = frame.tail(limit)
    return frame


def changes(m: Host, cmd: Command) -> ChangesResult:
    """Who entered and who left since ``--since`` (default the version before), with samples."""
    seg = _segment(m, cmd)
    ent = seg.ctx.catalog.entity(seg.entity)
    return ChangesResult(seg.changes(cmd["since"]), ent.id, _limit(m, cmd))


def insights(m: Host, cmd: Command):
    """Each tag's buckets in the segment and the population, with TGI (``Segment.insights``)."""
    result = _segment(m, cmd).insights()
    limit = cmd["limit"]
    if limit:
        result = result.head(limit)
    return result


def verify(m: Host, cmd: Command) -> VerifyResult:
    return VerifyResult.of(_segment(m, cmd).verify(cmd["id"]))


def export(m: Host, cmd: Command) -> Note:
    seg = _segment(m, cmd)
    kind, since = cmd["changes"], cmd["since"]
    if since is not None and kind is None:
        raise UsageError("--since goes with --changes entered|left")
    path = seg.export(cmd["path"], columns=cmd["columns"], changes=kind, since=since)
    if kind is None:
        size = seg.size or 0
        what = f"{size:,} {seg.entity} of {seg.name!r}"
    else:
        ch = seg.changes(since)
        size = ch.entered_count if kind == "entered" else ch.left_count
        against = "its first version" if ch.since is None else f"version {ch.since}"
        what = f"{size:,} {seg.entity} that {kind} {seg.name!r} (version {ch.version} against {against})"
    return Note(f"exported {what} to {path}", path=path, size=size)


def refresh(m: Host, cmd: Command) -> SegmentResult:
    return SegmentResult.of(_segment(m, cmd).refresh(as_of=cmd["as_of"]))


def extend(m: Host, cmd: Command) -> SegmentResult:
    expires = cmd["expires"]
    if expires.strip().lower() in ("never", "none"):
        expires = None
    return SegmentResult.of(_segment(m, cmd).extend(expires))


def delete(m: Host, cmd: Command) -> Note:
    seg = _segment(m, cmd)
    name = seg.name
    seg.delete()
    return Note(f"deleted segment {name!r} (the deleted-records log keeps it)", name=name)


def upload(m: Host, cmd: Command) -> SegmentResult:
    ws = m.workspace(store=True)
    seg = ws.upload(
        cmd["name"],
        cmd["path"],
        cmd["id_type"],
        column=cmd["column"],
        entity=cmd["entity"],
        as_of=cmd["as_of"],
        **create_options(m, cmd),
    )
    return SegmentResult.of(seg)


def from_table(m: Host, cmd: Command) -> SegmentResult:
    if not cmd["id_column"]:
        raise UsageError(
            "%segment from-table NAME TABLE needs --id-column COLUMN (the column holding the id)"
        )
    if (cmd["table"] is None) == (cmd["query"] is None):
        raise UsageError("%segment from-table NAME needs a TABLE or --query SQL (one of them)")
    ws = m.workspace(store=True)
    seg = ws.from_table(
        cmd["name"],
        cmd["table"],
        cmd["id_column"],
        query=cmd["query"],
        entity=cmd["entity"],
        as_of=cmd["as_of"],
        **create_options(m, cmd),
    )
    return SegmentResult.of(seg)


def _model_api(m: Host, cmd: Command, method: str, required: tuple[str, ...]):
    ws = m.workspace(store=True)
    fn = getattr(ws, method, None)
    if not callable(fn):
        raise UsageError(
            f"%segment {cmd.verb} is not available in this version: the {cmd.verb} models "
            f"(Workspace.{method}) are not built yet"
        )
    missing = [key for key in required if cmd[key] is None]
    if missing:
        opt = missing[0].replace("_", "-")
        raise UsageError(
            f"%segment {cmd.verb} needs --{opt}: {SEGMENT_VERBS[cmd.verb].usage('segment')}"
        )
    return fn


def lookalike(m: Host, cmd: Command) -> SegmentResult:
    fn = _model_api(m, cmd, "lookalike", ("seed", "size"))
    seg = fn(
        cmd["name"],
        seed=cmd["seed"],
        size=cmd["size"],
        as_of=cmd["as_of"],
        **create_options(m, cmd),
    )
    return SegmentResult.of(seg)


def predict(m: Host, cmd: Command) -> SegmentResult:
    fn = _model_api(m, cmd, "predict", ("audience", "positive"))
    keys = ("negative", "tendency", "model", "exclude", "horizon")
    extra = {k: cmd[k] for k in keys if cmd[k] is not None}
    seg = fn(
        cmd["name"],
        audience=cmd["audience"],
        positive=cmd["positive"],
        as_of=cmd["as_of"],
        **extra,
        **create_options(m, cmd),
    )
    return SegmentResult.of(seg)


def help_(m: Host, cmd: Command) -> None:
    text = help_text("segment", SEGMENT_VERBS, cmd["topic"])
    if not cmd["topic"]:
        text += (
            "\n\n%%segment NAME [options]   (cell) create a segment from the rule in the cell "
            "body; %%segment --help for its options"
        )
    print(text)


HANDLERS = {
    "list": list_,
    "groups": groups,
    "show": show,
    "members": members,
    "history": history,
    "changes": changes,
    "insights": insights,
    "verify": verify,
    "export": export,
    "refresh": refresh,
    "extend": extend,
    "delete": delete,
    "upload": upload,
    "from-table": from_table,
    "lookalike": lookalike,
    "predict": predict,
    "help": help_,
}
