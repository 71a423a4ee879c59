"""The one registry of creation methods, and writing what a method built as a version.

Built-ins (rules, sets, table, upload) and plugins (the ``segnb.methods``
entry points: lookalike and prediction from :mod:`segnb.models`) are looked
up the same way; a plugin is loaded on first use, so ``import segnb`` never
imports scikit-learn.

Examples
--------
>>> method_names()                         # doctest: +SKIP
['lookalike', 'prediction', 'rules', 'sets', 'table', 'upload']
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from typing import Any

from segnb.errors import NotAvailableError
from segnb.hints import did_you_mean
from segnb.segments.builtin import RulesMethod, SetsMethod, TableMethod
from segnb.segments.methods import Built, input_uses, model_extra
from segnb.segments.upload import UploadMethod

__all__ = [
    "BUILTIN",
    "GROUP",
    "get_method",
    "is_plugin",
    "members_of",
    "method_names",
    "uses",
    "write_built",
]

GROUP = "segnb.methods"
BUILTIN = {m.name: m for m in (RulesMethod(), SetsMethod(), TableMethod(), UploadMethod())}


@functools.cache
def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP) if ep.name not in BUILTIN}


def method_names() -> list[str]:
    """Names of the registered creation methods, built-in and plugged in."""
    return sorted({*BUILTIN, *_entry_points()})


def is_plugin(name: str) -> bool:
    """Whether ``name`` is a plugged-in method (these train models and can retrain)."""
    return name in _entry_points()


@functools.cache
def get_method(name: str) -> Any:
    """The registered method object ``name`` (a plugin is loaded once)."""
    if name in BUILTIN:
        return BUILTIN[name]
    eps = _entry_points()
    if name not in eps:
        raise NotAvailableError(
            f"no segment method {name!r} is installed"
            + did_you_mean(name, method_names())
            + " (lookalike and prediction come with: pip install 'segnb[models]')"
        )
    try:
        obj = eps[name].load()
    except ImportError as exc:
        raise NotAvailableError(
            f"the {name} method needs packages that are missing ({exc}); "
            "install them with: pip install 'segnb[models]'"
        ) from exc
    return obj() if inspect.isclass(obj) else obj


def members_of(ctx: Any, row: dict[str, Any], day: dt.date, *, check: bool = True):
    """The Ibis table of ``row``'s members as of ``day`` (model methods re-score)."""
    if row["method"] in BUILTIN:
        return BUILTIN[row["method"]].build(ctx, row, day, check=check).members
    return get_method(row["method"]).build(ctx, row, day, retrain=False).members


def uses(method: str, definition: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``(segment, kind)`` pairs a definition reads; plugins are not loaded for this."""
    impl = BUILTIN.get(method)
    return impl.uses(definition) if impl is not None else input_uses(definition)


def write_built(
    ctx: Any,
    row: dict[str, Any],
    build,
    *,
    as_of: dt.date,
    kind: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Write a new version of ``row`` from ``build()`` (a :class:`Built`), in one transaction.

    ``build`` runs inside the version's write, so a failure is recorded on the
    segment and the last good version stays current.
    """
    made: list[Built] = []

    def members():
        made.append(build())
        return made[0].members

    def extra(version: int, member_table: str) -> dict[str, Any]:
        built = made[0]
        out = built.extra(row, version, member_table) if built.extra is not None else {}
        if built.scores is not None:
            out = {**out, **model_extra(ctx, row, version, built)}
        return out

    ctx.store.write_version(row, members, as_of=as_of, kind=kind, extra=extra, changes=changes)
