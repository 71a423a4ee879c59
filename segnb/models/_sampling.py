"""Inputs, samples and scoring shared by :mod:`segnb.models.api` and :mod:`segnb.models.backtest`.

Ids come in as Ibis tables, rule text or rule trees and leave as one
column of known entity ids; training rows are a bounded sample ordered by a
seeded hash of the id, pulled into pandas with their features; scores stay
Ibis tables computed in the engine.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import ibis
import numpy as np

from segnb.catalog.model import Entity
from segnb.errors import InvalidValueError, SegnbError
from segnb.lang.nodes import Node
from segnb.models.features import build_features
from segnb.models.saved import SegmentModel
from segnb.times import as_date

__all__ = ["MIN_AUDIENCE", "MIN_NEGATIVE", "MIN_POSITIVE", "MIN_SEEDS", "SampleSizeError"]

MIN_AUDIENCE = 1_000
MIN_POSITIVE = 500
MIN_NEGATIVE = 500
MIN_SEEDS = 50


class SampleSizeError(SegnbError, ValueError):
    """Too few entities in the audience, positives, negatives or seeds to train honestly."""


def _context(ws: Any, entity: Any, as_of: Any):
    ent = entity if isinstance(entity, Entity) else ws.catalog.entity(entity)
    return ent, _date(ws, as_of), getattr(ws, "tz", None) or "UTC"


def _date(ws: Any, value: Any):
    return as_date(value, getattr(ws, "tz", None))


def _ids(ws: Any, ent: Entity, value: Any, day, what: str):
    """Distinct ids of known entities (one column named as the entity id) and the rule, if any."""
    rule = None
    if isinstance(value, (str, Node)):
        rule = ws.parse(value, ent)
        table = ws.members(rule, day, ent)
    elif isinstance(value, ibis.Table):
        table = value
    elif hasattr(value, "members") and callable(value.members):
        table = value.members()
    else:
        raise InvalidValueError(
            f"{what} takes an Ibis table of ids, rule text or a rule tree, not {type(value).__name__}"
        )
    if ent.id in table.columns:
        column = table[ent.id]
    elif len(table.columns) == 1:
        column = table[table.columns[0]]
    else:
        raise InvalidValueError(
            f"the {what} table has columns {list(table.columns)}; give one column of ids "
            f"or one named {ent.id!r}"
        )
    base = ws.catalog.table(ent.table)
    known = base.filter(base[ent.id].isin(column))
    return known.select(base[ent.id]).distinct(), rule


def _minus(left, right, id_column: str):
    return left.filter(~left[id_column].isin(right[id_column]))


def _count(table) -> int:
    return int(table.count().execute())


def _require(found: int, needed: int, what: str, unit: str) -> None:
    if found < needed:
        raise SampleSizeError(f"{what} has {found:,} {unit}; at least {needed:,} are needed")


def _sample(table, id_column: str, n: int, total: int, random_state):
    """``n`` rows ordered by a seeded hash of the id (deterministic per backend)."""
    if n >= total:
        return table
    key = (table[id_column].cast("string") + f":{random_state}").hash()
    return table.order_by([key, table[id_column]]).limit(n)


def _training_rows(ws, ent, plan, P, N, take_p, take_n, n_p, n_n, random_state):
    """Feature rows of a bounded sample of positives (label 1) and negatives (label 0)."""
    pos = _sample(P, ent.id, take_p, n_p, random_state).mutate(_segnb_label=ibis.literal(1))
    neg = _sample(N, ent.id, take_n, n_n, random_state).mutate(_segnb_label=ibis.literal(0))
    labels = pos.union(neg)
    rows = build_features(ws.catalog, ent, as_of=plan.as_of, tz=plan.tz, features=plan.spec(),
                          ids=labels.select(ent.id)).table  # fmt: skip
    joined = rows.join(labels, ent.id)
    frame = joined.order_by(ent.id).to_pyarrow().to_pandas()
    X = frame[plan.names].to_numpy(dtype=np.float64, na_value=np.nan)
    y = frame["_segnb_label"].to_numpy().astype(int)
    return X, y


def _score(ws, model: SegmentModel, audience, day, tz, size: int | None = None):
    scores = model.score_table(ws.catalog, as_of=day, tz=tz, ids=audience)
    ent = ws.catalog.entity(model.entity)
    if model.kind == "prediction":
        members = scores.filter(scores.score >= float(model.threshold)).select(ent.id)
    else:
        top = int(size if size is not None else model.size)
        members = scores.order_by([ibis.desc("score"), ent.id]).limit(top).select(ent.id)
    return scores, members


def _split_counts(y, train, val, test) -> dict[str, int]:
    out = {}
    for name, idx in (("train", train), ("validation", val), ("test", test)):
        out[f"{name}_positive"] = int(y[idx].sum())
        out[f"{name}_negative"] = int(len(idx) - y[idx].sum())
    return out


def _bar(total: int, desc: str, enabled: bool):
    """A text progress bar on stderr.

    Not ``tqdm.auto``: in a notebook that draws an ipywidgets bar, which a
    reopened notebook shows as "Error displaying widget: model not found".
    """
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, file=sys.stderr)


@contextlib.contextmanager
def _threads(n_jobs: int | None):
    """Limit BLAS/OpenMP threads while training (``n_jobs``), e.g. on a busy 2-core machine."""
    if n_jobs is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(int(n_jobs)):
        yield
