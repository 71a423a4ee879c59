"""Features from the catalog: one Ibis query giving a wide numeric table as of a date.

For every entity of a target object, :func:`build_features` computes

- entity attributes and the latest tag values (the newest snapshot on or
  before ``as_of``, a scalar subquery like the rule compiler's): numbers as
  they are, booleans as 0/1, datetimes as days before the end of the as-of
  day, enums one-hot over their most frequent values (at most
  ``max_categories``, each held by at least ``min_share`` of the entities:
  identifiers such as device ids get no columns);
- per events table, **one aggregation** over the events of the longest
  window: for each event name, its count and the sum of each numeric field
  in every window (``T-6..T``, ``T-29..T``, … for ``windows=(7, 30, …)``),
  and the days since its last occurrence (``max(windows) + 1`` when none).

Missing tag values stay NULL (the models impute them); counts and sums of
entities without events are 0. The columns are listed by
:attr:`FeaturePlan.features` (name, source, kind, …), and
:meth:`FeaturePlan.spec` gives a JSON-ready description from which
:func:`build_features` rebuilds exactly the same columns at another date,
which is how a stored model re-scores. Columns defining a label are left out
with ``exclude=`` (see :func:`label_columns`).

Examples
--------
>>> plan = build_features(catalog, "users", as_of="2025-03-31")   # doctest: +SKIP
>>> plan.describe().head()                                        # doctest: +SKIP
>>> plan.table.limit(5).to_pandas()                               # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from segnb.catalog.model import Catalog, Entity, closest
from segnb.errors import InvalidValueError, RuleError
from segnb.lang.behaviour import BEHAVIOUR_NODES, DidSequence
from segnb.lang.nodes import Attribute, Change, Count, Did, Node, Sum, Tag, walk
from segnb.models._build import FeatureBuilder
from segnb.models.kinds import KINDS, Feature

__all__ = ["KINDS", "Feature", "FeaturePlan", "build_features", "label_columns"]

ONE_DAY = datetime.timedelta(days=1)
SPEC_VERSION = 1


@dataclass
class FeaturePlan:
    """A feature table expression with the list of its columns.

    Attributes
    ----------
    table
        Ibis table: the entity id column, then one float64 column per feature.
    features
        The feature columns, in table order.
    excluded
        Source names left out (label-defining and user exclusions).
    """

    entity: Entity
    as_of: datetime.date
    tz: str
    windows: tuple[int, ...]
    features: tuple[Feature, ...]
    table: Any
    excluded: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.entity.id

    @property
    def names(self) -> list[str]:
        """Feature column names in table order."""
        return [f.name for f in self.features]

    def describe(self):
        """A pandas DataFrame: one row per feature (name, source, kind, origin, …)."""
        import pandas as pd

        rows = [{**asdict(f), "description": f.description} for f in self.features]
        columns = ["name", "source", "kind", "origin", "table", "value", "field", "window",
                   "description"]  # fmt: skip
        return pd.DataFrame(rows, columns=columns)

    def spec(self) -> dict[str, Any]:
        """JSON-ready description; ``build_features(..., features=spec)`` rebuilds the columns."""
        return {
            "version": SPEC_VERSION,
            "entity": self.entity.name,
            "windows": list(self.windows),
            "excluded": list(self.excluded),
            "features": [asdict(f) for f in self.features],
        }

    def __repr__(self) -> str:
        return (
            f"<FeaturePlan {self.entity.name} as_of={self.as_of} features={len(self.features)} "
            f"excluded={list(self.excluded)}>"
        )


# -- which columns define a label ------------------------------------------------


def label_columns(rule_trees: Iterable[Node | None]) -> set[str]:
    """Names of the tags, attributes and events that rules read.

    Features computed from these (a tag's value, an event's counts, sums and
    recency in every window; every event that a first/last, days_since, avg,
    min, max, distinct, active_days or a sequence's step reads) are what the rules define a label with, so a
    model must not learn from them.

    Examples
    --------
    >>> from segnb.lang.nodes import Compare, Count, Today, Window
    >>> sorted(label_columns([Compare(Count("purchase", Window(Today(-6), Today())), ">=", 1)]))
    ['purchase']
    """
    names: set[str] = set()
    for tree in rule_trees:
        if tree is None:
            continue
        for node in walk(tree):
            if isinstance(node, (Tag, Attribute)):
                names.add(node.name)
            elif isinstance(node, Change):
                names.add(node.tag)
            elif isinstance(node, (Count, Sum, Did, *BEHAVIOUR_NODES)):
                names.add(node.event)
            elif isinstance(node, DidSequence):
                names.update(node.events)
    return names


# -- building ----------------------------------------------------------------------


def build_features(
    catalog: Catalog,
    entity: Entity | str | None = None,
    *,
    as_of: Any,
    tz: str | None = "UTC",
    exclude: Iterable[str] = (),
    windows: Sequence[int] = (7, 30, 90),
    max_categories: int = 20,
    min_share: float = 0.005,
    features: dict[str, Any] | Sequence[Feature] | None = None,
    ids: Any = None,
    history: bool = False,
) -> FeaturePlan:
    """The feature table of a target object as of a date.

    Parameters
    ----------
    catalog
        The resolved catalog.
    entity
        Target object (name or :class:`Entity`); the catalog's first when None.
    as_of
        The date ``T`` the features describe (a date or ``"YYYY-MM-DD"``).
    tz
        IANA time zone cutting days of tz-aware times (the segment's).
    exclude
        Names to leave out: a tag, attribute or event name drops every
        feature computed from it; a feature name (or a ``fnmatch`` pattern
        like ``"sum_*"``) drops matching columns. Unknown names are errors.
    windows
        Event windows in days, each ending on ``as_of``.
    max_categories, min_share
        One-hot columns per enum, and the share of entities a value needs.
    features
        A :meth:`FeaturePlan.spec` (or a list of :class:`Feature`): build
        exactly these columns (no discovery queries); ``windows`` and
        ``exclude`` then come from it.
    ids
        Optional Ibis table whose first column (or the id column) restricts
        the entities, e.g. a training sample; the event scan is restricted too.
    history
        Also the history of every event (the forecast mode): active days and
        trend (the window against the one before) per window, means of its
        numeric fields, and over all events up to ``as_of`` the count, active
        days, sums, means, tenure (days since the first) and days since the last.

    Returns
    -------
    FeaturePlan
    """

    ent = entity if isinstance(entity, Entity) else catalog.entity(entity)
    day = _as_date(as_of)
    zone = _zone(tz)
    if features is not None:
        chosen, windows, excluded = _from_spec(features, ent)
    else:
        windows = _check_windows(windows)
        if not 1 <= int(max_categories) <= 1000:
            raise InvalidValueError(f"max_categories must be 1 to 1000, not {max_categories!r}")
        if not 0 <= float(min_share) < 1:
            raise InvalidValueError(f"min_share must be in [0, 1), not {min_share!r}")
        builder = FeatureBuilder(catalog, ent, day, zone, windows, None)
        candidates = builder.discover(int(max_categories), float(min_share), bool(history))
        chosen, excluded = _exclude(candidates, exclude, ent, catalog)
    builder = FeatureBuilder(catalog, ent, day, zone, windows, ids)
    table = builder.build(chosen)
    return FeaturePlan(
        entity=ent,
        as_of=day,
        tz=tz or "UTC",
        windows=tuple(windows),
        features=tuple(chosen),
        table=table,
        excluded=tuple(excluded),
        settings={"max_categories": max_categories, "min_share": min_share, "history": history},
    )


def _as_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RuleError(f"as_of must be a date (YYYY-MM-DD), not {value!r}")


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(
            f"unknown time zone {tz!r}; use an IANA name like 'Asia/Shanghai'"
        ) from None


def _check_windows(windows: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(sorted({int(w) for w in windows}))
    except (TypeError, ValueError):
        raise InvalidValueError(f"windows must be whole numbers of days, not {windows!r}") from None
    if not out or out[0] < 1 or out[-1] > 3650:
        raise InvalidValueError(f"windows must be 1 to 3650 days, not {list(windows)!r}")
    return out


def _from_spec(spec: Any, ent: Entity) -> tuple[list[Feature], tuple[int, ...], list[str]]:
    if isinstance(spec, dict):
        if spec.get("version") != SPEC_VERSION:
            raise InvalidValueError(
                f"feature spec version {spec.get('version')!r} is not {SPEC_VERSION}; retrain the model"
            )
        if spec.get("entity") not in (None, ent.name):
            raise InvalidValueError(
                f"the features were built for {spec.get('entity')!r}, not {ent.name!r}"
            )
        feats = [Feature(**f) for f in spec["features"]]
        return feats, _check_windows(spec["windows"]), list(spec.get("excluded", []))
    feats = list(spec)
    wins = {f.window for f in feats if f.window} or {7}
    return feats, _check_windows(wins), []


def _exclude(
    candidates: list[Feature], exclude: Iterable[str], ent: Entity, catalog: Catalog
) -> tuple[list[Feature], list[str]]:
    if isinstance(exclude, str):
        exclude = [exclude]
    names = list(dict.fromkeys(exclude))
    known = set(ent.attributes) | set(ent.tag_names) | {f.source for f in candidates}
    dropped: set[str] = set()
    for name in names:
        hits = [
            f.name
            for f in candidates
            if f.source == name or f.name == name or fnmatch.fnmatchcase(f.name, name)
        ]
        if not hits and name not in known and name not in _event_names(catalog, ent):
            guess = closest(name, sorted(known | {f.name for f in candidates}))
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise InvalidValueError(
                f"exclude={name!r} names no tag, attribute, event or feature of {ent.name}{hint}"
            )
        dropped.update(hits)
    return [f for f in candidates if f.name not in dropped], names


def _event_names(catalog: Catalog, ent: Entity) -> set[str]:
    try:
        return set(catalog.event_names(ent))
    except Exception:
        return set()
