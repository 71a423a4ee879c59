"""Forecast mode: the training date, the label window, what is left out and why; backtest metrics.

SPEC §2 gives a prediction two modes:

- **look-alike** (features on the date of the label): the tags and events
  the positive and negative rules read are left out, they would give the
  label away;
- **forecast** (who will be in the group over the next period): the
  features are taken on a *training date* before the label window and keep
  the history of the label's own tags and events up to that date.

:func:`resolve_dates` picks the mode and the dates: ``train_as_of=`` or
``horizon=`` (``"7d"``, ``"39w"``) give the training date; otherwise it is
the day before the earliest day the positive rule reads, when that is
before ``as_of``. :func:`outcome_metrics` is what a backtest reports: ROC
AUC, PR AUC, lift at 10 and 20 %, the Brier score and a reliability table.

Examples
--------
>>> import datetime
>>> parse_horizon("39w"), parse_horizon("7d"), parse_horizon(14)
(273, 7, 14)
>>> from segnb.lang.nodes import Count, Compare, Today, Window
>>> rule = Compare(Count("purchase", Window(Today(-6), Today())), ">=", 1)
>>> d = resolve_dates(datetime.date(2025, 3, 31), positive_rules=[rule])
>>> d.mode, d.feature_date, d.label_window
('forecast', datetime.date(2025, 3, 24), (datetime.date(2025, 3, 25), datetime.date(2025, 3, 31)))
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from segnb.errors import InvalidValueError
from segnb.lang.nodes import Change, Node, Tag, Window, walk
from segnb.models.evaluation import lift
from segnb.models.features import label_columns

__all__ = [
    "MODES",
    "Dates",
    "earliest_day",
    "exclusions",
    "label_history",
    "outcome_metrics",
    "parse_horizon",
    "reliability",
    "resolve_dates",
]

ONE_DAY = datetime.timedelta(days=1)
MODES = ("auto", "forecast", "lookalike")
_HORIZON = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_horizon(value: Any) -> int:
    """Days of a horizon: ``"7d"``, ``"39w"``, a whole number of days or a ``timedelta``."""
    if isinstance(value, datetime.timedelta):
        days = value.days if value == datetime.timedelta(days=value.days) else -1
    elif isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str) and (m := _HORIZON.match(value)):
        days = int(m.group(1)) * (7 if m.group(2).lower() == "w" else 1)
    else:
        days = -1
    if not 1 <= days <= 3650:
        raise InvalidValueError(
            f"horizon={value!r} is not a horizon; give days or weeks like '7d' or '39w' "
            "(1 day to 10 years)"
        )
    return days


def earliest_day(rule: Node, as_of: datetime.date) -> datetime.date | None:
    """The earliest day a rule reads on ``as_of``: window starts, ``tag@D``, ``change`` dates.

    A tag's latest value counts as ``as_of``; a rule that reads no date at all
    (attributes, ``in_segment``) gives None.
    """
    days: list[datetime.date] = []
    for node in walk(rule):
        if isinstance(node, Window):
            days.append(node.resolve(as_of)[0])
        elif isinstance(node, Change):
            days += [node.start.resolve(as_of), node.end.resolve(as_of)]
        elif isinstance(node, Tag):
            days.append(node.at.resolve(as_of) if node.at is not None else as_of)
    return min(days) if days else None


@dataclass(frozen=True)
class Dates:
    """The mode of a prediction and its dates.

    ``feature_date`` is the date the training features describe;
    ``label_window`` the days the positive rule's membership speaks of;
    ``horizon`` the days from the feature date to ``as_of`` (0 in look-alike mode);
    ``why`` says how the feature date was chosen.
    """

    mode: str
    as_of: datetime.date
    feature_date: datetime.date
    label_window: tuple[datetime.date, datetime.date]
    why: str

    @property
    def horizon(self) -> int:
        return (self.as_of - self.feature_date).days

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "forecast" if self.mode == "forecast" else "look-alike",
            "feature_date": self.feature_date.isoformat(),
            "label_window": [d.isoformat() for d in self.label_window],
            "horizon_days": self.horizon,
            "feature_date_rule": self.why,
        }


def resolve_dates(
    as_of: datetime.date,
    *,
    train_as_of: datetime.date | None = None,
    horizon: Any = None,
    positive_rules: Iterable[Node | None] = (),
    mode: str = "auto",
) -> Dates:
    """The mode and dates of a prediction (see the module docstring)."""
    if mode not in MODES:
        raise InvalidValueError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    rules = [r for r in positive_rules if r is not None]
    read = [d for d in (earliest_day(r, as_of) for r in rules) if d is not None]
    first = min(read) if read else None
    given = None
    if horizon is not None:
        given = as_of - parse_horizon(horizon) * ONE_DAY
        why = f"horizon={horizon!r} before as_of"
        if train_as_of is not None and train_as_of != given:
            raise InvalidValueError(
                f"train_as_of={train_as_of.isoformat()} and horizon={horizon!r} disagree "
                f"(the horizon gives {given.isoformat()}); give one of them"
            )
    elif train_as_of is not None:
        given, why = train_as_of, "train_as_of"
    if given is not None and given > as_of:
        raise InvalidValueError(
            f"the training date {given.isoformat()} is after as_of {as_of.isoformat()}"
        )
    if mode == "lookalike" or (given is not None and given == as_of and mode == "auto"):
        day = as_of if given is None else given
        why = "look-alike: features on the date of the label" if given is None else why
        return Dates("lookalike", as_of, day, (first or as_of, as_of), why)
    if given is None:
        if first is not None and first < as_of:
            given = first - ONE_DAY
            why = "the day before the earliest day the positive rule reads"
        elif mode == "forecast":
            raise InvalidValueError(
                "mode='forecast' needs a training date: the positive rule reads no day before "
                "as_of; give horizon= (e.g. '7d') or train_as_of="
            )
        else:
            why = "look-alike: the positive rule reads no day before as_of"
            return Dates("lookalike", as_of, as_of, (first or as_of, as_of), why)
    window = (first if first is not None else given + ONE_DAY, as_of)
    return Dates("forecast", as_of, given, window, why)


def exclusions(rules: dict[str, list[Node]], mode: str, user: Iterable[str] = ()) -> dict[str, str]:
    """What is left out of the features and why, by source name.

    ``rules`` maps a name to rule trees that define the label (those of the
    positive and negative samples). In look-alike mode their tags,
    attributes and events are left out;
    in forecast mode they stay (their history up to the training date is
    the best predictor). ``user`` are the caller's own exclusions.
    """
    out: dict[str, str] = {}
    for name in user:
        out[name] = "excluded by the caller"
    if mode == "forecast":
        return out
    for trees in rules.values():
        for name in sorted(label_columns(trees)):
            out.setdefault(name, "read by the positive or negative sample's rule: on the "
                           "label's own date it gives the label away")  # fmt: skip
    return out


def label_history(rules: dict[str, list[Node]], mode: str) -> list[str]:
    """Forecast mode: the label's own tags and events, kept in the features up to the training date."""
    if mode != "forecast":
        return []
    return sorted(label_columns([t for trees in rules.values() for t in trees]))


# -- what a backtest reports ----------------------------------------------------------


def reliability(y, p, *, bins: int = 10, sample_weight=None) -> list[dict[str, float]]:
    """Reliability table: per bin of predicted score, the mean score and the observed rate.

    Bins are equal-width on [0, 1]; empty bins are left out. ``weight`` is
    the number of entities (sample weights) in the bin.
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        ww = w[mask]
        table.append({
            "low": float(edges[b]), "high": float(edges[b + 1]), "weight": float(ww.sum()),
            "mean_score": float(np.average(p[mask], weights=ww)),
            "observed_rate": float(np.average(y[mask], weights=ww)),
        })  # fmt: skip
    return table


def outcome_metrics(y, p, *, sample_weight=None, bins: int = 10) -> dict[str, Any]:
    """ROC AUC, PR AUC (average precision), lift at 10/20 %, Brier score and reliability table."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    w = sample_weight
    nan = float("nan")
    return {
        "roc_auc": float(roc_auc_score(y, p, sample_weight=w)) if both else nan,
        "pr_auc": float(average_precision_score(y, p, sample_weight=w)) if both else nan,
        "lift_10": lift(y, p, 0.10, w),
        "lift_20": lift(y, p, 0.20, w),
        "brier": float(brier_score_loss(y, p, sample_weight=w)),
        "positive_rate": float(np.average(y, weights=w)),
        "mean_score": float(np.average(p, weights=w)),
        "reliability": reliability(y, p, bins=bins, sample_weight=w),
    }
