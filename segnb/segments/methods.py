"""Creation methods that live outside the engine (lookalike, AI prediction), found by name.

The engine never imports :mod:`segnb.models`. A method is an object
registered under the entry-point group ``segnb.methods`` (``pyproject.toml``:
``[project.entry-points."segnb.methods"]``) with:

- ``prepare(ws, name, *, entity, as_of, **inputs) -> (Entity, definition)``:
  check the inputs (segment names, sizes) and return the JSON-ready
  definition to store; nothing is written;
- ``build(ws, row, as_of, *, retrain) -> Built``: train (``retrain=True``,
  always on creation) or re-score with the stored model (:func:`load_model`)
  and return the members, the scores of the whole audience and, when
  trained, the model bytes and its evaluation.

The engine writes the version (:func:`create_with`, :func:`refresh_with`): members, a scores table
(``score(name)`` in rules, ``seg.scores()``) and a ``segnb_models`` row with
the model and its evaluation, all in the version's transaction.

Examples
--------
>>> from segnb.segments.methods import get_method
>>> get_method("prediction")                  # doctest: +SKIP
<segnb.models.segments.PredictionMethod …>
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segnb.catalog.model import closest
from segnb.errors import InvalidValueError, NotAvailableError, SegmentStateError
from segnb.store.store import utcnow

if TYPE_CHECKING:
    from segnb.workspace import Workspace

__all__ = [
    "GROUP",
    "Built",
    "check_retrain",
    "create_with",
    "evaluation",
    "get_method",
    "is_registered",
    "load_model",
    "method_names",
    "refresh_with",
]

GROUP = "segnb.methods"


@dataclass
class Built:
    """What a method's ``build`` returns: Ibis tables and, when trained, the model.

    ``members`` (entity ids) and ``scores`` (id, score) are Ibis tables on the
    workspace's connection; ``model`` is the stored bytes of a newly trained
    model (None when an existing one re-scored: ``model_version`` names it);
    ``details`` are small JSON-ready facts kept with the version.
    """

    members: Any
    scores: Any
    model: bytes | None = None
    evaluation: dict[str, Any] | None = None
    model_version: int | None = None
    kind: str = ""
    method: str = ""
    sklearn_version: str = ""
    trained_as_of: dt.date | None = None
    details: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def method_names() -> list[str]:
    """Names of the registered creation methods."""
    return sorted(_entry_points())


@functools.cache
def get_method(name: str) -> Any:
    """The registered method object ``name`` (loaded once)."""
    eps = _entry_points()
    if name not in eps:
        guess = closest(name, list(eps))
        raise NotAvailableError(
            f"no segment method {name!r} is installed"
            + (f"; did you mean {guess!r}?" if guess else "")
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


# -- creating and refreshing ---------------------------------------------------------------


def _split_options(kw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Segment options (group, refresh, …) and the rest (training settings)."""
    from segnb.segments.create import options

    names = set(inspect.signature(options).parameters) - {"ws"}
    return {k: v for k, v in kw.items() if k in names}, {
        k: v for k, v in kw.items() if k not in names
    }


def create_with(
    ws: Workspace, method: str, name: str, *, as_of: Any, entity: Any, **kw: Any
) -> Any:
    """Create a segment of a registered ``method``: check, train, then write version 1.

    Training runs before the segment's row exists, so a refused or failed
    training leaves nothing behind.
    """
    from segnb.errors import DuplicateNameError
    from segnb.segments.create import check_name, create, options
    from segnb.workspace import as_date

    impl = get_method(method)
    opts_kw, inputs = _split_options(kw)
    opts = options(ws, **opts_kw)
    check_name(name)
    if ws.store.segment_row(name) is not None:
        raise DuplicateNameError(
            f"a segment named {name!r} already exists; pick another name, or refresh or "
            f"delete it (ws.segment({name!r}).refresh())"
        )
    ent, definition = impl.prepare(ws, name, entity=entity, as_of=as_of, **inputs)
    day = as_date(as_of, opts["timezone"])
    draft = {
        "id": None, "name": name, "entity": ent.name, "method": method,
        "definition": json.dumps(definition, default=str), "timezone": opts["timezone"],
    }  # fmt: skip
    built = impl.build(ws, draft, day, retrain=True)
    return create(
        ws, name, method=method, entity=ent, definition=definition, as_of=day, opts=opts,
        members=lambda row: built.members,
        extra=lambda row, version, table: _extra(ws, row, version, built),
    )  # fmt: skip


def refresh_with(ws: Workspace, row: dict[str, Any], day: dt.date, *, retrain: bool) -> None:
    """Refresh a segment of a registered method: re-score with its model, or retrain."""
    built = get_method(row["method"]).build(ws, row, day, retrain=retrain)
    ws.store.write_version(
        row, lambda: built.members, as_of=day, kind="retrain" if retrain else "refresh",
        extra=lambda version, table: _extra(ws, row, version, built),
    )  # fmt: skip


def _extra(ws: Workspace, row: dict[str, Any], version: int, built: Built) -> dict[str, Any]:
    store = ws.store
    table = f"segnb_s_{row['id']}_{version}"
    store.db.execute(f"DROP TABLE IF EXISTS {store.t(table)}")
    store.db.execute(f"CREATE TABLE {store.t(table)} AS {ws.con.compile(built.scores)}")
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


def _model_version(ws: Workspace, row: dict[str, Any]) -> int:
    if row.get("current_version") is None:
        raise SegmentStateError(f"segment {row['name']!r} has no version yet")
    version = ws.store.version_row(row["id"], row["current_version"])
    extra = json.loads((version or {}).get("extra") or "{}")
    if "model_version" not in extra:
        raise NotAvailableError(
            f"segment {row['name']!r} ({row['method']}) has no model; only lookalike and AI "
            "prediction segments do"
        )
    return int(extra["model_version"])


def _model_row(ws: Workspace, row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    version = _model_version(ws, row)
    rows = ws.store.select("models", {"segment_id": row["id"], "version": version}, columns=columns)
    if not rows:
        raise SegmentStateError(
            f"the model of segment {row['name']!r} (version {version}) is missing from the "
            "store; refresh it with retrain=True"
        )
    return rows[0]


def load_model(ws: Workspace, row: dict[str, Any]) -> tuple[bytes, int]:
    """The stored model bytes behind ``row``'s current version, and the version that trained it."""
    got = _model_row(ws, row, ("model", "version"))
    return bytes(got["model"]), int(got["version"])


def evaluation(ws: Workspace, row: dict[str, Any]) -> dict[str, Any]:
    """The held-out evaluation stored with the model behind ``row``'s current version."""
    return json.loads(_model_row(ws, row, ("evaluation",))["evaluation"] or "{}")


def check_retrain(row: dict[str, Any], retrain: bool) -> None:
    if retrain and row["method"] not in _entry_points():
        raise InvalidValueError(
            f"retrain=True applies to lookalike and AI prediction segments; segment "
            f"{row['name']!r} is a {row['method']} segment"
        )


def is_registered(method: str) -> bool:
    return method in _entry_points()
