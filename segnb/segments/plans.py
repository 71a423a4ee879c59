"""Operation plans (SPEC §5, §6).

``ws.plans`` records operation plans (a channel push of a segment between two
days): a plan can only target an active, unexpired segment that stays valid
until the plan ends; while a plan is unfinished its segment cannot be deleted
nor expire earlier.

Examples
--------
>>> ws.plans.create("xmas push", segment="active_buyers", channel="sms",
...                 starts="2026-12-01", ends="2026-12-24")            # doctest: +SKIP
>>> ws.plans.export("xmas push", "outbox/")                           # doctest: +SKIP
PosixPath('outbox/sms/xmas_push-20261201.csv')
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

from segnb.errors import (
    DuplicateNameError,
    InvalidValueError,
    SegmentNotFoundError,
    SegmentStateError,
)
from segnb.hints import did_you_mean
from segnb.segments.context import Context
from segnb.segments.options import check_name
from segnb.segments.segment import Segment
from segnb.segments.status import plan_status, usable_row
from segnb.times import today, utcnow

__all__ = ["Plans"]


def _day(value: Any, what: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidValueError(f"{what}={value!r} is not a date; write YYYY-MM-DD")


class Plans:
    """``ws.plans``: operation plans that push a segment to a channel."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _visible(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Plans of segments this owner may see, and the owner's own plans."""
        seen = {r["id"] for r in self.ctx.visible_rows()}
        return [r for r in rows if r["segment_id"] in seen or r["owner"] == self.ctx.owner]

    def _row(self, name: str) -> dict[str, Any]:
        rows = self._visible(self.ctx.store.select("plans", {"name": name}))
        if not rows:
            names = [r["name"] for r in self._visible(self.ctx.store.select("plans"))]
            raise SegmentNotFoundError(
                f"no operation plan named {name!r}" + did_you_mean(name, names)
            )
        return rows[0]

    def create(
        self,
        name: str,
        segment: str,
        channel: str,
        starts: Any = None,
        ends: Any = None,
    ) -> dict[str, Any]:
        """Plan pushing ``segment`` to ``channel`` from ``starts`` through ``ends`` (dates)."""

        check_name(name, "plan")
        if not isinstance(channel, str) or not channel.strip():
            raise InvalidValueError("a plan needs channel= (e.g. 'sms', 'email', 'push', 'ads')")
        day = today(self.ctx.tz)
        first, last = _day(starts, "starts") or day, _day(ends, "ends")
        if last is not None and last < first:
            raise InvalidValueError(f"the plan ends ({last}) before it starts ({first})")
        if last is not None and last < day:
            raise InvalidValueError(f"ends={last} is in the past (today is {day})")
        store = self.ctx.store
        if store.select("plans", {"name": name}):
            raise DuplicateNameError(f"an operation plan named {name!r} already exists")
        row = usable_row(self.ctx, self.ctx.find_row(segment), "by an operation plan")
        expires = row["expires_at"]
        if expires is not None and (last is None or last > expires):
            raise SegmentStateError(
                f"segment {segment!r} expires on {expires}, before the plan ends "
                f"({last or 'never'}); extend it first: ws.segment({segment!r}).extend(expires=...)"
            )
        values = {
            "id": store.next_id("plans"), "name": name, "segment_id": row["id"],
            "segment": row["name"], "channel": channel.strip(), "starts": first, "ends": last,
            "status": "open", "owner": self.ctx.owner, "created_at": utcnow(),
            "finished_at": None,
        }  # fmt: skip
        store.insert("plans", values)
        return self.get(name)

    def get(self, name: str) -> dict[str, Any]:
        """One plan as a dict (with its current status)."""

        row = dict(self._row(name))
        row["status"] = plan_status(row, today(self.ctx.tz))
        return row

    def list(self, segment: str | None = None, status: str | None = None):
        """Plans as a pandas DataFrame, optionally of one segment or status."""
        import pandas as pd

        day = today(self.ctx.tz)
        cols = ["name", "segment", "channel", "starts", "ends", "status", "owner", "created_at"]
        rows = []
        for r in self._visible(self.ctx.store.select("plans", order="id")):
            r = dict(r, status=plan_status(r, day))
            if (segment is None or r["segment"] == segment) and (
                status is None or r["status"] == status
            ):
                rows.append({c: r[c] for c in cols})
        return pd.DataFrame(rows, columns=cols)

    def finish(self, name: str) -> dict[str, Any]:
        """Mark a plan finished (its segment can then be deleted)."""
        self._row(name)
        self.ctx.store.update(
            "plans", {"name": name}, {"status": "finished", "finished_at": utcnow()}
        )
        return self.get(name)

    def delete(self, name: str) -> None:
        """Remove a plan."""
        self._row(name)
        store = self.ctx.store
        store.db.execute(f"DELETE FROM {store.t('plans')} WHERE name = ?", (name,))

    def export(
        self, name: str, directory: str | os.PathLike = ".", columns: list[str] | None = None
    ) -> Path:
        """Write the plan's audience where its channel picks it up: ``<dir>/<channel>/<plan>-<day>.csv``."""

        plan = self.get(name)
        if plan["status"] == "finished":
            raise SegmentStateError(f"operation plan {name!r} is finished; nothing to send")
        row = usable_row(self.ctx, self.ctx.find_row(plan["segment"]), "by an operation plan")
        folder = Path(directory).expanduser() / _slug(plan["channel"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_slug(name)}-{today(self.ctx.tz):%Y%m%d}.csv"
        return Segment(self.ctx, row["name"], row).export(path, columns=columns)

    def __repr__(self) -> str:
        names = [r["name"] for r in self._visible(self.ctx.store.select("plans", order="id"))]
        return f"<segnb plans: {', '.join(names) or 'none'}>"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip()).strip("_") or "plan"
