"""Groups of segments (SPEC §5, §6).

``ws.groups`` creates, renames, lists and deletes groups; deleting a group
moves its segments to the default group, which always exists.

Examples
--------
>>> ws.groups.create("Q4"); ws.groups.rename("Q4", "Q4 2026")         # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from segnb.errors import DuplicateNameError, InvalidValueError, SegmentNotFoundError
from segnb.hints import did_you_mean
from segnb.segments.options import check_name
from segnb.times import utcnow

__all__ = ["Groups", "ensure_group"]


def ensure_group(ctx: Any, name: str) -> None:
    """Create group ``name`` if it does not exist (creating a segment in it does this)."""
    store = ctx.store
    if not store.select("groups", {"name": name}):
        try:
            store.insert(
                "groups",
                {"name": name, "description": "", "owner": ctx.owner,
                 "created_at": utcnow()},
            )  # fmt: skip
        except Exception:
            if not store.select("groups", {"name": name}):
                raise


class Groups:
    """``ws.groups``: create, rename, delete and list groups of segments."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    @property
    def default(self) -> str:
        return self.ctx.settings.default_group

    def _names(self) -> list[str]:
        return [r["name"] for r in self.ctx.store.select("groups", order="name")]

    def _require(self, name: str) -> None:
        if name not in self._names() and name != self.default:
            raise SegmentNotFoundError(
                f"no group named {name!r}" + did_you_mean(name, self._names())
            )

    def create(self, name: str, description: str = "") -> str:
        """Create a group; its name."""
        check_name(name, "group")
        if name in self._names():
            raise DuplicateNameError(f"group {name!r} already exists")
        self.ctx.store.insert(
            "groups",
            {"name": name, "description": str(description), "owner": self.ctx.owner,
             "created_at": utcnow()},
        )  # fmt: skip
        return name

    def rename(self, old: str, new: str) -> str:
        """Rename a group; its segments follow."""
        check_name(new, "group")
        self._require(old)
        if old == self.default:
            raise InvalidValueError(f"{old!r} is the default group; it cannot be renamed")
        if new in self._names():
            raise DuplicateNameError(f"group {new!r} already exists; pick another name")
        store = self.ctx.store
        with store.db.transaction():
            store.update("groups", {"name": old}, {"name": new})
            store.update("segments", {"group_name": old}, {"group_name": new})
        return new

    def delete(self, name: str) -> int:
        """Delete a group; its segments move to the default group. How many moved."""
        self._require(name)
        if name == self.default:
            raise InvalidValueError(f"{name!r} is the default group; it cannot be deleted")
        store = self.ctx.store
        moved = len(store.select("segments", {"group_name": name}, columns=("id",)))
        with store.db.transaction():
            ensure_group(self.ctx, self.default)
            store.update("segments", {"group_name": name}, {"group_name": self.default})
            store.db.execute(f"DELETE FROM {store.t('groups')} WHERE name = ?", (name,))
        return moved

    def list(self):
        """Groups with their segment counts (a pandas DataFrame)."""
        import pandas as pd

        store = self.ctx.store
        counts: dict[str, int] = {}
        for row in self.ctx.visible_rows():
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
