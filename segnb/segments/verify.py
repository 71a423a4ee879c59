"""Verify: is an id in a segment's current version, and since which version (SPEC §6).

Answered from the versions' bitmaps in memory: milliseconds at millions of members.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import asdict, dataclass
from typing import Any

from segnb.errors import InvalidValueError
from segnb.store.bitmaps import dense_of, load_bitmap

__all__ = ["Verification", "coerce_id", "verify"]


@dataclass(frozen=True)
class Verification:
    """Whether an id is in a segment's current version, and since which version."""

    segment: str
    id: Any
    member: bool
    version: int | None  # the current version
    since_version: int | None  # first version of the unbroken run ending at the current one
    since: dt.datetime | None  # when that version was written
    since_as_of: dt.date | None
    known: bool  # whether the id is an entity at all

    def __bool__(self) -> bool:
        return self.member

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        if not self.known:
            return f"<{self.id!r} is not an entity id; not in {self.segment!r}>"
        if not self.member:
            return f"<{self.id!r} is not in {self.segment!r} (version {self.version})>"
        return (
            f"<{self.id!r} is in {self.segment!r} since version {self.since_version} "
            f"(as of {self.since_as_of}, written {self.since:%Y-%m-%d %H:%M} UTC)>"
        )


def coerce_id(value: Any, ent: Any) -> Any:
    """An id as the entity id column's type (``"42"`` -> 42 for integer ids)."""
    if ent.id_dtype.is_integer():
        if isinstance(value, bool):
            raise InvalidValueError(
                f"{value!r} is not a {ent.name} id ({ent.id} is a whole number)"
            )
        if isinstance(value, numbers.Integral):
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise InvalidValueError(
                f"{value!r} is not a {ent.name} id: {ent.id} holds whole numbers"
            ) from None
    if ent.id_dtype.is_string():
        return str(value)
    return value


def verify(
    store: Any, ent: Any, name: str, row: dict[str, Any], version: dict[str, Any], id: Any
) -> Verification:
    """Whether ``id`` is in ``version`` of segment ``row``, and since which version."""
    value = coerce_id(id, ent)
    dense = dense_of(store, ent.name, value)
    current = version["version"]
    if dense is None:
        return Verification(name, value, False, current, None, None, None, False)
    if dense not in load_bitmap(store, row["id"], current):
        return Verification(name, value, False, current, None, None, None, True)
    since = version
    for older in reversed(store.version_rows(row["id"])):
        if older["version"] >= current:
            continue
        if dense not in load_bitmap(store, row["id"], older["version"]):
            break
        since = older
    return Verification(
        name, value, True, current, since["version"], since["finished_at"], since["as_of"], True
    )
