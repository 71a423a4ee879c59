"""Creation methods: the :class:`Method` protocol and what a build returns.

Every way to make a segment is a method object with one name: the
built-ins (rules, sets, table, upload: :mod:`segnb.segments.builtin`) and
the plugins found under the entry-point group ``segnb.methods``
(``pyproject.toml``: lookalike and prediction from :mod:`segnb.models`) are
registered alike (:mod:`segnb.segments.registry`). A method has:

- ``prepare(ctx, name, *, entity, as_of, **inputs) -> (Entity, definition)``:
  check the inputs and return the JSON-ready definition to store; nothing is
  written (a method that must write, like an upload's id list, also has
  ``discard(ctx, definition)`` to undo it when creation fails);
- ``build(ctx, row, as_of, *, retrain) -> Built``: the members of the stored
  definition as of a day (model methods train, or re-score their stored model);
- ``uses(definition) -> [(name, kind)]``: the segments it reads, for the one
  dependency graph (:mod:`segnb.segments.graph`); plugins that keep their
  inputs under ``definition["inputs"]`` get this for free.

The engine writes the version: members, and for model methods a scores table
(``score(name)`` in rules, ``seg.scores()``) and a ``segnb_models`` row with
the model and its evaluation, all in the version's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from segnb.errors import NotAvailableError, SegmentStateError
from segnb.segments.status import extra_of
from segnb.times import utcnow

__all__ = [
    "Built",
    "Method",
    "evaluation",
    "input_uses",
    "load_model",
    "model_extra",
]


@dataclass
class Built:
    """What a method's ``build`` returns.

    ``members`` (entity ids) and ``scores`` (id, score) are Ibis tables on
    the workspace's connection; ``extra(version, member_table)``, when set,
    writes side tables after the members and returns facts kept with the
    version. Model methods set ``model`` (the bytes of a newly trained model;
    None when a stored one re-scored: ``model_version`` names it) and its
    ``evaluation``; ``details`` are small JSON-ready facts kept with the version.
    """

    members: Any
    scores: Any = None
    model: bytes | None = None
    evaluation: dict[str, Any] | None = None
    model_version: int | None = None
    kind: str = ""
    method: str = ""
    sklearn_version: str = ""
    trained_as_of: dt.date | None = None
    details: dict[str, Any] = field(default_factory=dict)
    extra: Callable[[int, str], dict[str, Any]] | None = None


class Method(Protocol):
    """A creation method (see the module docs)."""

    name: str

    def prepare(self, ctx: Any, name: str, *, entity: Any, as_of: Any, **inputs: Any) -> tuple:
        """Check the inputs; the target object and the definition to store."""

    def build(self, ctx: Any, row: dict[str, Any], as_of: dt.date, *, retrain: bool) -> Built:
        """The members of ``row``'s definition as of ``as_of``."""


def input_uses(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """``(segment, role)`` of the inputs a model method keeps under ``definition["inputs"]``."""
    inputs = definition.get("inputs") or {}
    return [(name, role) for role, name in inputs.items() if isinstance(name, str)]


def model_extra(ctx: Any, row: dict[str, Any], version: int, built: Built) -> dict[str, Any]:
    """Write a model method's scores table and (when trained) its model row."""
    store = ctx.store
    table = f"segnb_s_{row['id']}_{version}"
    store.data.create(table, ctx.con.compile(built.scores))
    model_version = built.model_version
    if built.model is not None:
        model_version = version
        store.db.execute(
            f"DELETE FROM {store.t('models')} WHERE segment_id = ? AND version = ?",
            (row["id"], version),
        )
        store.insert(
            "models",
            {
                "segment_id": row["id"], "version": version, "kind": built.kind,
                "method": built.method, "sklearn_version": built.sklearn_version,
                "trained_as_of": built.trained_as_of, "created_at": utcnow(),
                "model": built.model, "evaluation": json.dumps(built.evaluation or {}, default=str),
            },
        )  # fmt: skip
    if model_version is None:
        raise SegmentStateError(f"segment {row['name']!r}: the method returned no model")
    return {"scores_table": table, "model_version": model_version, **built.details}


# -- reading the stored model ----------------------------------------------------------------


def _model_version(ctx: Any, row: dict[str, Any]) -> int:
    if row.get("current_version") is None:
        raise SegmentStateError(f"segment {row['name']!r} has no version yet")
    version = ctx.store.version_row(row["id"], row["current_version"])
    extra = extra_of(version)
    if "model_version" not in extra:
        raise NotAvailableError(
            f"segment {row['name']!r} ({row['method']}) has no model; only lookalike and AI "
            "prediction segments do"
        )
    return int(extra["model_version"])


def _model_row(ctx: Any, row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    version = _model_version(ctx, row)
    rows = ctx.store.select(
        "models", {"segment_id": row["id"], "version": version}, columns=columns
    )
    if not rows:
        raise SegmentStateError(
            f"the model of segment {row['name']!r} (version {version}) is missing from the "
            "store; refresh it with retrain=True"
        )
    return rows[0]


def load_model(ctx: Any, row: dict[str, Any]) -> tuple[bytes, int]:
    """The stored model bytes behind ``row``'s current version, and the version that trained it."""
    got = _model_row(ctx, row, ("model", "version"))
    return bytes(got["model"]), int(got["version"])


def evaluation(ctx: Any, row: dict[str, Any]) -> dict[str, Any]:
    """The held-out evaluation stored with the model behind ``row``'s current version."""
    return json.loads(_model_row(ctx, row, ("evaluation",))["evaluation"] or "{}")
