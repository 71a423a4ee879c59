"""The feature table computed in plain pandas: what segnb.models.features is checked against.

Independent of Ibis: it reads the warehouse tables as DataFrames (the
``frames`` fixture) and follows the documented meaning of each feature kind.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

ONE_DAY = datetime.timedelta(days=1)


def _midnight(day: datetime.date, series: pd.Series, tz: str):
    """Midnight starting ``day`` comparable with the values of ``series``."""
    if _is_tz(series):
        return pd.Timestamp(day).tz_localize(tz)
    return pd.Timestamp(day)


def _is_tz(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.DatetimeTZDtype)


def _is_date(series: pd.Series) -> bool:
    return series.dtype == object and series.dropna().map(type).eq(datetime.date).all()


def _as_time(series: pd.Series) -> pd.Series:
    if _is_date(series):
        return pd.to_datetime(series)
    return series


def _in_days(series: pd.Series, first: datetime.date, last: datetime.date, tz: str) -> pd.Series:
    times = _as_time(series)
    lo = _midnight(first, times, tz)
    hi = _midnight(last + ONE_DAY, times, tz)
    return (times >= lo) & (times < hi)


def _days_before_end(series: pd.Series, as_of: datetime.date, tz: str) -> pd.Series:
    times = _as_time(series)
    end = _midnight(as_of + ONE_DAY, times, tz)
    return (end - times).dt.total_seconds() / 86400.0


def latest_snapshot(frame: pd.DataFrame, date_col: str, as_of: datetime.date) -> pd.DataFrame:
    dates = _as_time(frame[date_col])
    upto = dates < pd.Timestamp(as_of + ONE_DAY)
    latest = dates[upto].max()
    return frame[dates == latest]


def top_values(values: pd.Series, limit: int, min_share: float) -> list:
    total = len(values)
    counts = values.dropna().value_counts()
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [v for v, n in order if n / total >= min_share and n >= 2]


def features(frames, entity, plan, tz: str = "UTC") -> pd.DataFrame:
    """The plan's feature columns computed in pandas, indexed by entity id."""
    as_of, windows = plan.as_of, plan.windows
    lookback = max(windows)
    base = frames[entity.table].set_index(entity.id)
    out = pd.DataFrame(index=base.index)
    snapshots = {s.table: latest_snapshot(frames[s.table], s.date, as_of).set_index(s.id)
                 for s in entity.tags}  # fmt: skip
    for f in plan.features:
        if f.origin == "event":
            continue
        if f.origin == "attribute":
            col = base[f.source]
        else:
            col = snapshots[f.table][f.source].reindex(base.index)
        if f.kind == "number":
            out[f.name] = pd.to_numeric(col, errors="coerce").astype(float)
        elif f.kind == "boolean":
            out[f.name] = col.map({True: 1.0, False: 0.0}).astype(float)
        elif f.kind == "days_since":
            out[f.name] = _days_before_end(col, as_of, tz).astype(float)
        elif f.kind == "one_hot":
            out[f.name] = (col == f.value).fillna(False).astype(float)
    for source in entity.events:
        frame = frames[source.table]
        start = as_of - (lookback - 1) * ONE_DAY
        rows = frame[_in_days(frame[source.time], start, as_of, tz)]
        names = rows[source.name] if source.name else pd.Series(source.event, index=rows.index)
        for f in plan.features:
            if f.origin != "event" or f.table != source.table:
                continue
            mine = rows[names == f.source]
            if f.kind in HISTORY or (f.kind in ("count", "sum") and f.window is None):
                value = _history(frame, source, f, as_of, tz)
                fill = 0.0 if f.kind in ("count", "sum", "active_days", "trend") else np.nan
                out[f.name] = value.reindex(base.index).fillna(fill).astype(float)
            elif f.kind in ("count", "sum"):
                mine = mine[
                    _in_days(mine[source.time], as_of - (f.window - 1) * ONE_DAY, as_of, tz)
                ]
                if f.kind == "count":
                    value = mine.groupby(source.id).size()
                else:
                    value = mine.groupby(source.id)[f.field].sum(min_count=1)
                out[f.name] = value.reindex(base.index).fillna(0.0).astype(float)
            else:
                last = _days_before_end(mine[source.time], as_of, tz).groupby(mine[source.id]).min()
                out[f.name] = last.reindex(base.index).fillna(float(lookback + 1)).astype(float)
    return out[plan.names].copy()


HISTORY = ("active_days", "mean", "trend", "tenure", "last_seen")


def _history(frame, source, f, as_of: datetime.date, tz: str) -> pd.Series:
    """A history feature (``build_features(history=True)``) per entity id, from the raw events."""
    times = _as_time(frame[source.time])
    rows = frame[times < _midnight(as_of + ONE_DAY, times, tz)]
    if source.name:
        rows = rows[rows[source.name] == f.source]
    ago = _days_before_end(rows[source.time], as_of, tz)

    def within(first_back: int, last_back: int) -> pd.Series:
        return _in_days(rows[source.time], as_of - first_back * ONE_DAY,
                        as_of - last_back * ONE_DAY, tz)  # fmt: skip

    inside = within(f.window - 1, 0) if f.window is not None else pd.Series(True, rows.index)
    ids = rows[source.id]
    if f.kind == "count":
        return inside.groupby(ids).sum().astype(float)
    if f.kind == "sum":
        return rows[f.field].where(inside).groupby(ids).sum(min_count=1)
    if f.kind == "mean":
        return rows[f.field].where(inside).astype(float).groupby(ids).mean()
    if f.kind == "active_days":
        day = np.floor(-ago).where(inside)  # -1: the as-of day, -2: the day before, ...
        return day.groupby(ids).nunique().astype(float)
    if f.kind == "trend":
        before = within(2 * f.window - 1, f.window)
        return inside.groupby(ids).sum().astype(float) - before.groupby(ids).sum().astype(float)
    if f.kind == "tenure":
        return ago.groupby(ids).max()
    if f.kind == "last_seen":
        return ago.groupby(ids).min()
    raise AssertionError(f"no oracle for {f.kind}")


def assert_frames_close(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert list(got.index) == list(want.index)
    for column in want.columns:
        a, b = got[column].to_numpy(float), want[column].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{column}: NULLs differ"
        ok = ~np.isnan(b)
        assert np.allclose(a[ok], b[ok], rtol=1e-9, atol=1e-6), (
            f"{column}: max difference {np.max(np.abs(a[ok] - b[ok]))}"
        )
