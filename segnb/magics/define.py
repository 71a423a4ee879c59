"""Defining segments: the ``%%segment`` cell, ``%segment estimate`` and ``%segment sql``."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from segnb.errors import SegmentNotFoundError, SegnbError
from segnb.lang.nodes import from_json
from segnb.lang.parse import is_set_expression, parse_sets
from segnb.magics.command import Command, Host, split_words
from segnb.magics.results import EstimateResult, SegmentResult, SQLResult

__all__ = ["HANDLERS", "create", "create_options", "estimate", "sql"]

#: option key of the magics -> keyword of the store's creation methods
_CREATE_KEYS = (
    "description",
    "refresh",
    "scenario",
    "tz",
    "expires",
    "email",
    "scope",
    "shared_with",
    "time_sensitive",
)
_EXAMPLE = "%%segment active_buyers --group Q4\ncount(purchase, T-6..T) >= 2 and not is_black_list"


def create_options(m: Host, cmd: Command) -> dict[str, Any]:
    """Keywords for ``ws.create_segment`` & co. from the shared creation options."""
    out: dict[str, Any] = {"group": cmd.get("group", m.settings.default_group)}
    for key in _CREATE_KEYS:
        value = cmd[key]
        if value not in (None, False):
            out[key] = value
    if cmd["expires"] and str(cmd["expires"]).lower() in ("never", "none"):
        out.pop("expires")
    return out


def _same_definition(ws: Any, seg: Any, body: str) -> bool:
    """Whether ``body`` says what the stored rules or sets segment ``seg`` says."""

    stored = seg.definition.get("rule") or seg.definition.get("sets")
    if stored is None:
        return False
    try:
        new = parse_sets(body) if _is_sets(body) else ws.parse(body, seg.entity)
        return from_json(stored) == new
    except SegnbError:
        return False


def _is_sets(text: str) -> bool:

    return is_set_expression(text)


def create(m: Host, cmd: Command):
    """``%%segment NAME [options]`` with a rule (or set expression) as the cell body."""
    body = (cmd.body or "").rstrip()
    name = cmd["name"]
    if not body.strip():
        raise UsageError(f"%%segment needs a rule in the cell body, e.g.\n{_EXAMPLE}")
    if cmd["dry_run"]:
        return _dry_run(m, cmd, body, name)
    if not name:
        raise UsageError(f"%%segment needs a NAME for the new segment, e.g.\n{_EXAMPLE}")
    ws = m.workspace(store=True)
    options = create_options(m, cmd)
    if cmd["replace"] and name in ws.segment_names():
        seg = ws.segment(name)
        if cmd["entity"] and ws.entity(cmd["entity"]).name != seg.entity:
            raise UsageError(
                f"segment {name!r} holds {seg.entity}; --replace keeps the target object"
            )
        given = {k: v for k, v in options.items() if cmd.given(k)}
        if cmd.given("expires") and "expires" not in options:  # --expires never
            given["expires"] = None
        return SegmentResult.of(seg.redefine(body, as_of=cmd["as_of"], **given))
    if name in ws.segment_names() and _same_definition(ws, ws.segment(name), body):
        # re-running the cell (a scheduled notebook, another --as-of): a new version
        seg = ws.segment(name).refresh(as_of=cmd["as_of"])
        m.note(f"segnb: {name!r} already has this rule; wrote version {seg.version}")
        return SegmentResult.of(seg)
    seg = ws.create_segment(name, body, as_of=cmd["as_of"], entity=cmd["entity"], **options)
    _warn(m, ws, body, cmd)
    return SegmentResult.of(seg)


def _warn(m: Host, ws: Any, rule: str, cmd: Command) -> None:
    """Say what looks mistyped in a rule that parses (a misspelt enum value matches nobody)."""
    for warning in ws.warnings(rule, cmd["entity"]):
        m.note(f"segnb: warning: {warning}")


def _dry_run(m: Host, cmd: Command, body: str, name: str | None) -> EstimateResult:
    if _is_sets(body):
        ws = m.workspace(store=True)
        size = ws.set_size(body)
        return EstimateResult(size, body, cmd["as_of"], _entity_name(ws, cmd), None, name)
    ws = m.workspace(store=_mentions_segments(body))
    size = ws.estimate(body, as_of=cmd["as_of"], entity=cmd["entity"])
    _warn(m, ws, body, cmd)
    text = ws.sql(body, as_of=cmd["as_of"], entity=cmd["entity"])
    return EstimateResult(size, body, cmd["as_of"], _entity_name(ws, cmd), text, name)


def _mentions_segments(text: str) -> bool:
    return "in_segment" in text or "score" in text


def _entity_name(ws: Any, cmd: Command) -> str:
    return ws.entity(cmd["entity"]).name


def estimate(m: Host, cmd: Command) -> EstimateResult:
    """``%segment estimate RULE``: the size of a rule or set expression, nothing saved."""
    text = cmd["rule"]
    if _is_sets(text):
        ws = m.workspace(store=True)
        size = ws.set_size(text)
    else:
        ws = m.workspace(store=_mentions_segments(text))
        size = ws.estimate(text, as_of=cmd["as_of"], entity=cmd["entity"])
        _warn(m, ws, text, cmd)
    return EstimateResult(size, text, cmd["as_of"], _entity_name(ws, cmd))


def sql(m: Host, cmd: Command) -> SQLResult:
    """``%segment sql NAME`` (a stored segment) or ``%segment sql RULE``."""
    text = cmd["target"]
    words = split_words(text)
    single = len(words) == 1 and words[0].text.replace("_", "a").isalnum()
    ws = m.workspace(store=single or _mentions_segments(text))
    if cmd["dialect"]:
        _check_dialect(cmd["dialect"])
    if single and words[0].text in ws.segment_names():
        return SQLResult(ws.segment(words[0].text).to_sql(cmd["dialect"]))
    try:
        return SQLResult(
            ws.sql(text, as_of=cmd["as_of"], dialect=cmd["dialect"], entity=cmd["entity"])
        )
    except SegnbError:
        if single:  # most likely a mistyped segment name: say so, with the nearest one
            ws.segment(words[0].text)
            raise SegmentNotFoundError(f"no segment named {words[0].text!r}") from None
        raise


def _check_dialect(name: str) -> None:
    import sqlglot

    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError:
        raise UsageError(
            f"--dialect {name!r} is not an SQL dialect sqlglot knows (e.g. duckdb, postgres, "
            "trino, bigquery, snowflake, spark, mysql)"
        ) from None


HANDLERS = {"estimate": estimate, "sql": sql}
