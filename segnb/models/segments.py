"""Lookalike and AI prediction as stored segment methods (the ``segnb.methods`` entry points).

The engine finds these classes by name through :mod:`segnb.segments.methods`
and never imports this module. ``prepare`` checks a new segment's inputs and
returns the definition to store: the names of the input segments (active and
unexpired, resolved with "did you mean") and the training settings. ``build``
trains with :func:`segnb.models.api.predict` / :func:`~segnb.models.api.lookalike`
or re-scores the stored model with :func:`~segnb.models.api.rescore`; the
engine writes members, scores and model in one version.

Examples
--------
>>> ws.predict("will_buy", audience="active_30d", positive="buyers")   # doctest: +SKIP
>>> ws.segment("will_buy").refresh(as_of="2025-04-07")                 # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from typing import Any

from segnb.errors import InvalidValueError
from segnb.hints import closest
from segnb.lang.nodes import InSegment, SegmentRef, from_json, walk
from segnb.models import estimators as est
from segnb.models.api import lookalike, predict, rescore
from segnb.models.forecast import parse_horizon
from segnb.models.saved import SegmentModel
from segnb.segments.methods import Built, load_model
from segnb.segments.status import definition_of, usable_row
from segnb.times import as_date

__all__ = ["LookalikeMethod", "PredictionMethod"]


def _settings(fn, given: dict[str, Any], taken: set[str], method: str) -> dict[str, Any]:
    """Training settings of ``fn`` among ``given``; unknown names are refused with a guess."""
    allowed = [p for p in inspect.signature(fn).parameters if p not in taken]
    for key in given:
        if key not in allowed:
            guess = closest(key, allowed)
            raise InvalidValueError(
                f"{method} does not take {key}="
                + (f"; did you mean {guess}=?" if guess else "")
                + f" (training settings: {', '.join(allowed)}; segment options: group, "
                "description, refresh, scenario, tz, expires, time_sensitive, email, scope, "
                "shared_with)"
            )
    out = dict(given)
    for key in ("windows", "exclude"):
        if key in out and out[key] is not None:
            out[key] = [out[key]] if isinstance(out[key], str) else list(out[key])
    json.dumps(out)  # stored with the segment: plain values only
    return out


def _name(value: Any, what: str) -> str:
    if hasattr(value, "name") and hasattr(value, "members") and isinstance(value.name, str):
        return value.name  # a Segment
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(f"{what} takes the name of a stored segment, not {value!r}")
    return value


def _input_row(ws: Any, name: str, ent: Any, what: str) -> dict[str, Any]:
    row = ws.find_row(name)
    if ent is not None and row["entity"] != ent.name:
        raise InvalidValueError(
            f"segment {name!r} ({what}) holds {row['entity']}, not {ent.name}; "
            "the inputs of a model are segments of one target object"
        )
    return usable_row(ws, row, f"as the {what}")


def _resolve(ws: Any, inputs: dict[str, str | None], entity: Any) -> Any:
    """The target object of the inputs (checked to be one), every input active and unexpired."""
    ent = ws.entity(entity) if entity is not None else None
    for what, name in inputs.items():
        if name is None:
            continue
        row = _input_row(ws, name, ent, what)
        ent = ent or ws.entity(row["entity"])
    return ent or ws.entity(None)


def _inputs(ws: Any, row: dict[str, Any], ent: Any, own: dict[str, Any] | None = None):
    """Member tables of the stored inputs, and the rule trees behind them (left out of features).

    ``own``, when given, receives each input's own rule tree (rules segments
    only): what dates a forecast's label window and what a backtest shifts.
    """
    names = definition_of(row)["inputs"]
    tables, rules, seen = {}, [], set()
    for what, name in names.items():
        if name is None:
            tables[what] = None
            continue
        found = _input_row(ws, name, ent, what)
        version = ws.store.version_row(found["id"], found["current_version"])
        tables[what] = ws.store.ibis_table(version["member_table"]).select(ent.id)
        if own is not None:
            own[what] = _own_rule(found)
        if what != "audience":  # the audience defines no label
            rules += _rules_of(ws, found, seen)
    return tables, rules


def _own_rule(row: dict[str, Any]) -> Any:

    rule = definition_of(row, strict=False).get("rule")
    return from_json(rule) if row["method"] == "rules" and rule else None


def _rules_of(ws: Any, row: dict[str, Any], seen: set[str]) -> list[Any]:
    """The rule trees a segment is defined by, following in_segment() and segment sets."""
    if row["name"] in seen:
        return []
    seen.add(row["name"])
    definition = definition_of(row, strict=False)
    tree = definition.get("rule") or definition.get("sets")
    if not tree:
        return []
    tree = from_json(tree)
    out = [tree] if definition.get("rule") else []
    for node in walk(tree):
        if isinstance(node, (InSegment, SegmentRef)):
            other = ws.store.segment_row(node.name)
            if other is not None:
                out += _rules_of(ws, other, seen)
    return out


def _model(ws: Any, row: dict[str, Any]):
    blob, version = load_model(ws, row)
    return SegmentModel.from_bytes(
        blob, source=f"the model of segment {row['name']!r} (version {version})"
    ), version


def _trained(res: Any, details: dict[str, Any]) -> Built:
    model = res.model
    return Built(
        members=res.members,
        scores=res.scores,
        model=model.to_bytes(),
        evaluation=_plain(res.evaluation()),
        kind=model.kind,
        method=model.method,
        sklearn_version=model.sklearn_version,
        trained_as_of=model.trained_as_of,
        details={"trained": True, "model": model.method, **details},
    )


def _plain(value: Any) -> Any:
    """JSON-ready copy (numpy scalars and arrays to Python values)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


class LookalikeMethod:
    """``method="lookalike"``: the top ``size`` non-seed entities by a PU model of the seed."""

    name = "lookalike"

    def prepare(self, ws: Any, name: str, *, entity: Any, as_of: Any, seed: Any, size: Any,
                audience: Any = None, **settings: Any) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidValueError(f"size must be a whole number >= 1, not {size!r}")
        inputs = {
            "seed": _name(seed, "seed"),
            "audience": None if audience is None else _name(audience, "audience"),
        }
        if name in inputs.values():
            raise InvalidValueError(f"segment {name!r} cannot be made from itself")
        ent = _resolve(ws, inputs, entity)
        taken = {"ws", "seed", "size", "audience", "as_of", "entity", "exclude_rules"}
        return ent, {
            "inputs": inputs,
            "size": size,
            "settings": _settings(lookalike, settings, taken, "lookalike"),
        }

    def build(self, ws: Any, row: dict[str, Any], as_of: dt.date, *, retrain: bool) -> Built:
        ent = ws.entity(row["entity"])
        definition = definition_of(row)
        tables, rules = _inputs(ws, row, ent)
        if retrain:
            res = lookalike(
                ws, tables["seed"], int(definition["size"]), audience=tables["audience"],
                as_of=as_of, entity=ent, exclude_rules=rules, **definition["settings"],
            )  # fmt: skip
            return _trained(res, {"size": int(definition["size"])})
        model, version = _model(ws, row)
        base = tables["audience"]
        scores, members = rescore(ws, model, audience=base, seed=tables["seed"], as_of=as_of,
                                  size=int(definition["size"]))  # fmt: skip
        return Built(members=members, scores=scores, model_version=version,
                     details={"trained": False, "model": model.method})  # fmt: skip


class PredictionMethod:
    """``method="prediction"``: members are the audience with ``score >= threshold``."""

    name = "prediction"

    def prepare(self, ws: Any, name: str, *, entity: Any, as_of: Any, audience: Any,
                positive: Any, negative: Any = None, tendency: str = "high_recall",
                model: str = "auto", exclude: Any = (), train_as_of: Any = None,
                **settings: Any) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        if tendency not in est.TENDENCIES:
            raise InvalidValueError(
                f"tendency={tendency!r} is not one of {', '.join(est.TENDENCIES)}"
            )
        if model != "auto" and model not in est.MODELS:
            raise InvalidValueError(f"model={model!r} is not one of auto, {', '.join(est.MODELS)}")
        inputs = {
            "audience": _name(audience, "audience"),
            "positive": _name(positive, "positive sample"),
            "negative": None if negative is None else _name(negative, "negative sample"),
        }
        if name in inputs.values():
            raise InvalidValueError(f"segment {name!r} cannot be made from itself")
        ent = _resolve(ws, inputs, entity)
        lag = None
        if train_as_of is not None:  # kept as days before as_of, so a retrain moves with it
            lag = (as_date(as_of, ws.tz) - as_date(train_as_of, ws.tz)).days
        taken = {"ws", "audience", "positive", "negative", "tendency", "model", "as_of",
                 "entity", "exclude", "exclude_rules", "train_as_of", "rules"}  # fmt: skip
        if settings.get("horizon") is not None:  # checked now, stored as given ("7d" moves with T)
            parse_horizon(settings["horizon"])
        exclude = [exclude] if isinstance(exclude, str) else list(exclude or ())
        return ent, {
            "inputs": inputs,
            "tendency": tendency,
            "model": model,
            "exclude": exclude,
            "train_lag_days": lag,
            "settings": _settings(predict, settings, taken, "predict"),
        }

    def build(self, ws: Any, row: dict[str, Any], as_of: dt.date, *, retrain: bool) -> Built:
        ent = ws.entity(row["entity"])
        definition = definition_of(row)
        own: dict[str, Any] = {}
        tables, rules = _inputs(ws, row, ent, own)
        if retrain:
            lag = definition.get("train_lag_days")
            res = predict(
                ws, tables["audience"], tables["positive"], tables["negative"],
                tendency=definition["tendency"], model=definition["model"], as_of=as_of,
                train_as_of=None if lag is None else as_of - dt.timedelta(days=int(lag)),
                entity=ent, exclude=definition["exclude"], exclude_rules=rules, rules=own,
                **definition["settings"],
            )  # fmt: skip
            return _trained(res, {"threshold": res.threshold})
        model, version = _model(ws, row)
        scores, members = rescore(ws, model, audience=tables["audience"], as_of=as_of)
        return Built(members=members, scores=scores, model_version=version,
                     details={"trained": False, "model": model.method,
                              "threshold": float(model.threshold)})  # fmt: skip
