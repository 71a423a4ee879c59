"""Groups of segments and operation plans (SPEC §5, §6).

``ws.groups`` creates, renames, lists and deletes groups; deleting a group
moves its segments to the default group, which always exists. ``ws.plans``
records operation plans (a channel push of a segment between two days): a
plan can only target an active, unexpired segment that stays valid until the
plan ends; while a plan is unfinished its segment cannot be deleted nor
expire earlier.

Examples
--------
>>> ws.groups.create("Q4"); ws.groups.rename("Q4", "Q4 2026")         # doctest: +SKIP
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
from typing import TYPE_CHECKING, Any

from segnb.errors import (
    DuplicateNameError,
    InvalidValueError,
    SegmentNotFoundError,
    SegmentStateError,
)
from segnb.store.store import utcnow

if TYPE_CHECKING:
    from segnb.workspace import Workspace

__all__ = ["Groups", "Plans", "ensure_group", "unfinished_plans"]


def ensure_group(ws: Workspace, name: str) -> None:
    """Create group ``name`` if it does not exist (creating a segment in it does this)."""
    store = ws.store
    if not store.select("groups", {"name": name}):
        try:
            store.insert(
                "groups",
                {"name": name, "description": "", "owner": ws.store_settings["owner"],
                 "created_at": utcnow()},
            )  # fmt: skip
        except Exception:
            if not store.select("groups", {"name": name}):
                raise


class Groups:
    """``ws.groups``: create, rename, delete and list groups of segments."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @property
    def default(self) -> str:
        return self.ws.store_settings["default_group"]

    def _names(self) -> list[str]:
        return [r["name"] for r in self.ws.store.select("groups", order="name")]

    def _require(self, name: str) -> None:
        if name not in self._names() and name != self.default:
            from segnb.catalog.model import closest

            guess = closest(name, self._names())
            raise SegmentNotFoundError(
                f"no group named {name!r}" + (f"; did you mean {guess!r}?" if guess else "")
            )

    def create(self, name: str, description: str = "") -> str:
        """Create a group; its name."""
        from segnb.segments.create import check_name

        check_name(name, "group")
        if name in self._names():
            raise DuplicateNameError(f"group {name!r} already exists")
        self.ws.store.insert(
            "groups",
            {"name": name, "description": str(description), "owner": self.ws.store_settings["owner"],
             "created_at": utcnow()},
        )  # fmt: skip
        return name

    def rename(self, old: str, new: str) -> str:
        """Rename a group; its segments follow."""
        from segnb.segments.create import check_name

        check_name(new, "group")
        self._require(old)
        if old == self.default:
            raise InvalidValueError(f"{old!r} is the default group; it cannot be renamed")
        if new in self._names():
            raise DuplicateNameError(f"group {new!r} already exists; pick another name")
        store = self.ws.store
        with store.db.transaction():
            store.update("groups", {"name": old}, {"name": new})
            store.update("segments", {"group_name": old}, {"group_name": new})
        return new

    def delete(self, name: str) -> int:
        """Delete a group; its segments move to the default group. How many moved."""
        self._require(name)
        if name == self.default:
            raise InvalidValueError(f"{name!r} is the default group; it cannot be deleted")
        store = self.ws.store
        moved = len(store.select("segments", {"group_name": name}, columns=("id",)))
        with store.db.transaction():
            ensure_group(self.ws, self.default)
            store.update("segments", {"group_name": name}, {"group_name": self.default})
            store.db.execute(f"DELETE FROM {store.t('groups')} WHERE name = ?", (name,))
        return moved

    def list(self):
        """Groups with their segment counts (a pandas DataFrame)."""
        import pandas as pd

        store = self.ws.store
        counts: dict[str, int] = {}
        for row in store.segment_rows():
            counts[row["group_name"]] = counts.get(row["group_name"], 0) + 1
        rows = store.select("groups", order="name")
        return pd.DataFrame(
            [{"name": r["name"], "description": r["description"], "segments": counts.get(r["name"], 0),
              "owner": r["owner"], "created_at": r["created_at"]} for r in rows],
            columns=["name", "description", "segments", "owner", "created_at"],
        )  # fmt: skip

    def __iter__(self):
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __repr__(self) -> str:
        return f"<segnb groups: {', '.join(self._names()) or 'none'}>"


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


def plan_status(row: dict[str, Any], today: dt.date) -> str:
    """``scheduled`` before it starts, ``running``, or ``finished`` (by hand or past its end)."""
    if row["status"] == "finished" or (row["ends"] is not None and today > row["ends"]):
        return "finished"
    if row["starts"] is not None and today < row["starts"]:
        return "scheduled"
    return "running"


def unfinished_plans(ws: Workspace, segment_id: int) -> list[dict[str, Any]]:
    from segnb.workspace import today

    day = today(ws.tz)
    rows = ws.store.select("plans", {"segment_id": segment_id}, order="id")
    return [r for r in rows if plan_status(r, day) != "finished"]


class Plans:
    """``ws.plans``: operation plans that push a segment to a channel."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _row(self, name: str) -> dict[str, Any]:
        rows = self.ws.store.select("plans", {"name": name})
        if not rows:
            from segnb.catalog.model import closest

            names = [r["name"] for r in self.ws.store.select("plans")]
            guess = closest(name, names)
            raise SegmentNotFoundError(
                f"no operation plan named {name!r}"
                + (f"; did you mean {guess!r}?" if guess else "")
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
        from segnb.segments.create import check_name
        from segnb.segments.manage import find_row
        from segnb.segments.segment import usable_row
        from segnb.workspace import today

        check_name(name, "plan")
        if not isinstance(channel, str) or not channel.strip():
            raise InvalidValueError("a plan needs channel= (e.g. 'sms', 'email', 'push', 'ads')")
        day = today(self.ws.tz)
        first, last = _day(starts, "starts") or day, _day(ends, "ends")
        if last is not None and last < first:
            raise InvalidValueError(f"the plan ends ({last}) before it starts ({first})")
        if last is not None and last < day:
            raise InvalidValueError(f"ends={last} is in the past (today is {day})")
        store = self.ws.store
        if store.select("plans", {"name": name}):
            raise DuplicateNameError(f"an operation plan named {name!r} already exists")
        row = usable_row(self.ws, find_row(self.ws, segment), "by an operation plan")
        expires = row["expires_at"]
        if expires is not None and (last is None or last > expires):
            raise SegmentStateError(
                f"segment {segment!r} expires on {expires}, before the plan ends "
                f"({last or 'never'}); extend it first: ws.segment({segment!r}).extend(expires=...)"
            )
        values = {
            "id": store.next_id("plans"), "name": name, "segment_id": row["id"],
            "segment": row["name"], "channel": channel.strip(), "starts": first, "ends": last,
            "status": "open", "owner": self.ws.store_settings["owner"], "created_at": utcnow(),
            "finished_at": None,
        }  # fmt: skip
        store.insert("plans", values)
        return self.get(name)

    def get(self, name: str) -> dict[str, Any]:
        """One plan as a dict (with its current status)."""
        from segnb.workspace import today

        row = dict(self._row(name))
        row["status"] = plan_status(row, today(self.ws.tz))
        return row

    def list(self, segment: str | None = None, status: str | None = None):
        """Plans as a pandas DataFrame, optionally of one segment or status."""
        import pandas as pd

        from segnb.workspace import today

        day = today(self.ws.tz)
        cols = ["name", "segment", "channel", "starts", "ends", "status", "owner", "created_at"]
        rows = []
        for r in self.ws.store.select("plans", order="id"):
            r = dict(r, status=plan_status(r, day))
            if (segment is None or r["segment"] == segment) and (
                status is None or r["status"] == status
            ):
                rows.append({c: r[c] for c in cols})
        return pd.DataFrame(rows, columns=cols)

    def finish(self, name: str) -> dict[str, Any]:
        """Mark a plan finished (its segment can then be deleted)."""
        self._row(name)
        self.ws.store.update(
            "plans", {"name": name}, {"status": "finished", "finished_at": utcnow()}
        )
        return self.get(name)

    def delete(self, name: str) -> None:
        """Remove a plan."""
        self._row(name)
        store = self.ws.store
        store.db.execute(f"DELETE FROM {store.t('plans')} WHERE name = ?", (name,))

    def export(
        self, name: str, directory: str | os.PathLike = ".", columns: list[str] | None = None
    ) -> Path:
        """Write the plan's audience where its channel picks it up: ``<dir>/<channel>/<plan>-<day>.csv``."""
        from segnb.segments.manage import find_row
        from segnb.segments.segment import Segment, usable_row
        from segnb.workspace import today

        plan = self.get(name)
        if plan["status"] == "finished":
            raise SegmentStateError(f"operation plan {name!r} is finished; nothing to send")
        row = usable_row(self.ws, find_row(self.ws, plan["segment"]), "by an operation plan")
        folder = Path(directory).expanduser() / _slug(plan["channel"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_slug(name)}-{today(self.ws.tz):%Y%m%d}.csv"
        return Segment(self.ws, row["name"], row).export(path, columns=columns)

    def __repr__(self) -> str:
        names = [r["name"] for r in self.ws.store.select("plans", order="id")]
        return f"<segnb plans: {', '.join(names) or 'none'}>"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip()).strip("_") or "plan"
