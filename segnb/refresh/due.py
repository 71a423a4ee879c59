"""``segnb refresh``: due daily segments, in dependency order, each on its own.

A daily segment is **due** when its newest version is older than today in
the segment's own time zone (or than ``as_of`` when given): at 01:00 in
Shanghai a segment there is due for the new day while one in Los Angeles,
where it is still yesterday afternoon, is not.

Segments are refreshed in dependency order: a segment-sets segment, or a
rule with ``in_segment()``/``score()``, after the segments it uses. Each
refresh is isolated: a failure is recorded (the segment keeps serving its
last good version, see :meth:`segnb.store.store.Store.write_version`) and
e-mailed, the others go on, and the segments that use the failed one are
skipped (recorded as ``skipped`` runs) rather than rebuilt from a stale input.

Examples
--------
>>> report = refresh_segments(ws, due=True)           # doctest: +SKIP
>>> print(report)                                     # doctest: +SKIP
refreshed 2 of 3 segments, 1 failed
  vip         refreshed  as of 2025-04-01  version 5  1,234 users (+12)  0.4s
  churned     failed     as of 2025-04-01  no table 'crm.churn' ...
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from segnb.errors import InvalidValueError, first_line
from segnb.refresh.notify import Mailer, notify_failed, notify_refreshed, warn_expiring
from segnb.segments.graph import Graph
from segnb.segments.lifecycle import refresh_segment
from segnb.segments.status import effective_status, segment_today
from segnb.times import as_date, utcnow

if TYPE_CHECKING:
    from segnb.workspace import Workspace

__all__ = ["Outcome", "RefreshReport", "due_segments", "refresh_segments"]


@dataclass
class Outcome:
    """What happened to one segment in a refresh."""

    name: str
    status: str  # "refreshed" | "failed" | "skipped"
    as_of: dt.date | None = None
    version: int | None = None
    size: int | None = None
    previous_size: int | None = None
    error: str | None = None
    seconds: float = 0.0
    notified: str | None = None  # e-mail status: sent, failed, skipped; None: no address

    def __str__(self) -> str:
        head = f"{self.name:<20} {self.status:<9} as of {self.as_of}"
        if self.status == "refreshed":
            change = ""
            if self.previous_size is not None and self.size is not None:
                change = f" ({self.size - self.previous_size:+,})"
            return f"{head}  version {self.version}  {self.size:,}{change}  {self.seconds:.1f}s"
        return f"{head}  {self.error}"


@dataclass
class RefreshReport:
    """The outcome of each segment of a refresh, in the order they ran."""

    outcomes: list[Outcome] = field(default_factory=list)
    expiring: list[str] = field(default_factory=list)  # segments warned of their expiry

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        """1 when a segment failed or was skipped (the CLI's exit code), else 0."""
        return 1 if any(o.status != "refreshed" for o in self.outcomes) else 0

    def __getitem__(self, name: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    def to_frame(self):
        import pandas as pd

        columns = list(Outcome.__dataclass_fields__)
        return pd.DataFrame([asdict(o) for o in self.outcomes], columns=columns)

    def __str__(self) -> str:
        if not self.outcomes:
            text = "nothing to refresh"
        else:
            done = sum(o.status == "refreshed" for o in self.outcomes)
            text = f"refreshed {done} of {len(self.outcomes)} segments"
            for status in ("failed", "skipped"):
                n = sum(o.status == status for o in self.outcomes)
                if n:
                    text += f", {n} {status}"
            text += "\n" + "\n".join(f"  {o}" for o in self.outcomes)
        if self.expiring:
            text += f"\nwarned of expiry: {', '.join(self.expiring)}"
        return text

    __repr__ = __str__


# -- which segments, in which order ------------------------------------------------


def _order(ws: Workspace, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with each after the segments it uses (the one dependency graph), else by name."""
    by_name = {r["name"]: r for r in rows}
    return [by_name[n] for n in Graph.of(ws.ctx).order(sorted(by_name))]


def _today(row: dict[str, Any], ws: Workspace, now: dt.datetime | None) -> dt.date:
    if now is None:
        return segment_today(ws, row)
    from zoneinfo import ZoneInfo

    if now.tzinfo is None:
        raise InvalidValueError("now= must be a time-zone aware datetime")
    return now.astimezone(ZoneInfo(row.get("timezone") or ws.tz or "UTC")).date()


def _is_due(ws: Workspace, row: dict[str, Any], day: dt.date) -> bool:
    if row["current_version"] is None:
        return True
    version = ws.store.version_row(row["id"], row["current_version"])
    return version is None or version["as_of"] is None or version["as_of"] < day


def due_segments(ws: Workspace, *, as_of: Any = None, now: dt.datetime | None = None) -> list[str]:
    """Names of the daily segments due for a refresh, in dependency order.

    Due: refresh ``daily``, not expired, visible here, and its newest version
    is older than ``as_of`` (default: today in the segment's time zone, at
    ``now`` — an aware datetime, default the current time).
    """
    return [r["name"] for r in _due_rows(ws, as_of, now)]


def _due_rows(ws: Workspace, as_of: Any, now: dt.datetime | None) -> list[dict[str, Any]]:
    rows = []
    for row in ws.store.segment_rows():
        if row["refresh"] != "daily" or not ws.ctx.visible(row):
            continue
        today = _today(row, ws, now)
        if effective_status(row, today) == "expired":
            continue
        day = as_date(as_of) if as_of is not None else today
        if _is_due(ws, row, day):
            rows.append(row)
    return _order(ws, rows)


# -- refreshing ------------------------------------------------------------------


def refresh_segments(
    ws: Workspace,
    names: list[str] | None = None,
    *,
    due: bool = False,
    all: bool = False,
    as_of: Any = None,
    now: dt.datetime | None = None,
    mailer: Any = "config",
    progress: bool = False,
    warn: bool = True,
) -> RefreshReport:
    """Refresh segments each on its own, in dependency order; what happened to each.

    Parameters
    ----------
    names
        Segments to refresh (exclusive with ``due`` and ``all``).
    due
        Every daily segment whose newest version is older than its today
        (see :func:`due_segments`).
    all
        Every visible, unexpired segment.
    as_of
        The date T of the refreshes (default: today in each segment's time zone).
    now
        The current time (an aware datetime) for "today"; for tests and replays.
    mailer
        A :class:`segnb.refresh.notify.Mailer`, None for no e-mail, or
        ``"config"``: the ``SegNB.smtp_*`` settings.
    progress
        Show a progress bar (tqdm).
    warn
        Also warn segments that expire soon (``SegNB.expiry_warning_days``).

    Examples
    --------
    >>> refresh_segments(ws, ["vip", "churned"], as_of="2025-04-01")   # doctest: +SKIP
    """
    if sum([bool(names), due, all]) != 1:
        raise InvalidValueError("refresh takes segment names, due=True or all=True (one of them)")
    if mailer == "config":
        mailer = Mailer.from_config()
    if names:
        rows = _order(ws, [ws.ctx.find_row(n) for n in dict.fromkeys(names)])
    elif due:
        rows = _due_rows(ws, as_of, now)
    else:
        rows = _order(
            ws,
            [
                r
                for r in ws.store.segment_rows()
                if ws.ctx.visible(r) and effective_status(r, _today(r, ws, now)) != "expired"
            ],
        )
    graph = Graph.of(ws.ctx)
    report = RefreshReport()
    broken: dict[str, str] = {}  # name -> why it is not fresh in this batch
    bar = _bar(len(rows), progress)
    try:
        for row in rows:
            name = row["name"]
            bar.set_postfix_str(name)
            day = as_date(as_of) if as_of is not None else _today(row, ws, now)
            previous = _current_size(ws, row)
            upstream = sorted({u.used for u in graph.used_by(name)} & set(broken))
            if upstream:
                reason = (
                    f"not refreshed: it uses {', '.join(map(repr, upstream))}, whose refresh "
                    "did not succeed; it keeps its last version"
                )
                _record_skip(ws, row, day, reason)
                broken[name] = reason
                report.outcomes.append(Outcome(name, "skipped", day, error=reason))
                bar.update()
                continue
            started = time.perf_counter()
            try:
                refresh_segment(ws.ctx, row, day)
            except Exception as exc:  # each refresh is isolated: record, notify, go on
                error = first_line(exc)
                broken[name] = error
                fresh = ws.store.segment_row_by_id(row["id"]) or row
                notified = notify_failed(ws, fresh, error, day, mailer)
                report.outcomes.append(
                    Outcome(name, "failed", day, row["current_version"], previous, previous,
                            error, time.perf_counter() - started, notified)
                )  # fmt: skip
            else:
                fresh = ws.store.segment_row_by_id(row["id"])
                version = ws.store.version_row(row["id"], fresh["current_version"])
                notified = notify_refreshed(ws, fresh, version, previous, mailer)
                report.outcomes.append(
                    Outcome(name, "refreshed", day, version["version"], int(version["size"]),
                            previous, None, time.perf_counter() - started, notified)
                )  # fmt: skip
            bar.update()
    finally:
        bar.close()
    if warn:
        report.expiring = warn_expiring(ws, mailer)
    return report


def _current_size(ws: Workspace, row: dict[str, Any]) -> int | None:
    if row["current_version"] is None:
        return None
    version = ws.store.version_row(row["id"], row["current_version"])
    return None if version is None else int(version["size"])


def _record_skip(ws: Workspace, row: dict[str, Any], day: dt.date, reason: str) -> None:
    """A ``skipped`` run in the segment's run history (its status is left as it was)."""
    store = ws.store
    run_id = store.start_run(row, "refresh", day)
    store.update("runs", {"id": run_id}, {"status": "skipped", "error": reason,
                                          "finished_at": utcnow()})  # fmt: skip


def _bar(total: int, enabled: bool):
    # a text bar, not tqdm.auto: a widget bar breaks in a reopened notebook ("model not found")
    from tqdm import tqdm

    return tqdm(total=total, desc="refresh", unit="segment", disable=not enabled, leave=False,
                file=sys.stderr)  # fmt: skip
