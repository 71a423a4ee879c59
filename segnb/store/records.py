"""Typed rows of the segment store: :class:`SegmentRecord` and :class:`VersionRecord`.

A record is decoded once, when the store reads it: the JSON columns
(``definition``, ``shared_with``, a version's ``extra``) become Python values
on attributes, dates become dates. A row whose JSON cannot be decoded still
gives a record, marked ``broken`` with the reason and with ``definition`` (or
``extra``) ``None``, so one damaged row does not break every listing.

Records are frozen. They also read like the dicts the store returned
before: ``record["name"]``, ``record.get("error")``, ``dict(record)`` and
``{**record}`` give the stored columns, the JSON ones as stored text
(``record["definition"]`` is the JSON string, ``record.definition`` the
decoded dict). New code should use the attributes.

Examples
--------
>>> rec = SegmentRecord.from_row({"id": 1, "name": "vip", "definition": '{"rule": 1}'})
>>> rec.definition, rec["definition"], rec.shared_with, rec.broken
({'rule': 1}, '{"rule": 1}', (), None)
>>> SegmentRecord.from_row({"id": 2, "name": "x", "definition": "{oops"}).broken
'definition is not valid JSON: Expecting property name enclosed in double quotes'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SEGMENT_COLUMNS", "VERSION_COLUMNS", "SegmentRecord", "VersionRecord"]

SEGMENT_COLUMNS = (
    "id", "name", "group_name", "description", "entity", "method", "definition", "refresh",
    "scenario", "timezone", "expires_at", "time_sensitive", "email", "scope", "shared_with",
    "owner", "status", "error", "current_version", "created_at", "updated_at",
)  # fmt: skip
VERSION_COLUMNS = (
    "segment_id", "version", "as_of", "started_at", "finished_at", "size", "member_table",
    "scores_table", "extra", "dropped",
)  # fmt: skip


class _Columns(Mapping):
    """The record as a read-only mapping of its stored columns (the dict it used to be)."""

    _columns: tuple[str, ...] = ()
    _raw: dict[str, str] = {}  # column -> attribute holding its stored text

    def __getitem__(self, key: str) -> Any:
        if key not in self._columns:
            raise KeyError(key)
        value = getattr(self, self._raw.get(key, key))
        return list(value) if isinstance(value, tuple) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def to_dict(self) -> dict[str, Any]:
        """The stored columns as a plain dict (JSON columns as stored text)."""
        return dict(self.items())


def _object(text: Any, what: str) -> tuple[dict[str, Any] | None, str | None]:
    """``text`` decoded as a JSON object: (value, None), or (None, why not)."""
    if text is None or text == "":
        return {}, None
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        return None, f"{what} is not valid JSON: {str(exc).split(':')[0]}"
    if not isinstance(value, dict):
        return None, f"{what} is not a JSON object but {type(value).__name__}"
    return value, None


def _names(text: Any) -> tuple[tuple[str, ...], str | None]:
    if not text:
        return (), None
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        return (), f"shared_with is not valid JSON: {str(exc).split(':')[0]}"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return (), "shared_with is not a JSON list of user names"
    return tuple(value), None


def _date(value: Any) -> Any:
    return value.date() if isinstance(value, dt.datetime) else value


@dataclass(frozen=True, eq=False)
class SegmentRecord(_Columns):
    """One row of ``segnb_segments``, decoded.

    ``definition`` is the method's definition as a dict (``{}`` when none is
    stored; ``None`` when the stored JSON is broken, with ``broken`` saying
    why); ``definition_json`` is the stored text. ``shared_with`` is a tuple
    of user names. Treat ``definition`` as read-only: copy it to change it.
    """

    id: int
    name: str
    group_name: str | None = None
    description: str | None = None
    entity: str | None = None
    method: str | None = None
    definition: dict[str, Any] | None = field(default_factory=dict, repr=False)
    refresh: str | None = None
    scenario: str | None = None
    timezone: str | None = None
    expires_at: dt.date | None = None
    time_sensitive: bool = False
    email: str | None = None
    scope: str | None = None
    shared_with: tuple[str, ...] = ()
    owner: str | None = None
    status: str | None = None
    error: str | None = None
    current_version: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    definition_json: str | None = field(default=None, repr=False)
    broken: str | None = None

    _columns = SEGMENT_COLUMNS
    _raw = {"definition": "definition_json"}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SegmentRecord:
        """Decode a row of ``segnb_segments`` (a dict of its columns)."""
        values = {c: row[c] for c in SEGMENT_COLUMNS if c in row}
        text = values.get("definition")
        definition, bad_definition = _object(text, "definition")
        shared, bad_shared = _names(values.get("shared_with"))
        values.update(
            definition=definition,
            definition_json=text,
            shared_with=shared,
            expires_at=_date(values.get("expires_at")),
            broken="; ".join(w for w in (bad_definition, bad_shared) if w) or None,
        )
        return cls(**values)


@dataclass(frozen=True, eq=False)
class VersionRecord(_Columns):
    """One row of ``segnb_versions`` (without the bitmap), decoded.

    ``extra`` is the details kept with the version as a dict (``None`` when
    broken, with ``broken`` saying why); ``extra_json`` is the stored text.
    Treat ``extra`` as read-only: copy it to change it.
    """

    segment_id: int
    version: int
    as_of: dt.date | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    size: int | None = None
    member_table: str | None = None
    scores_table: str | None = None
    extra: dict[str, Any] | None = field(default_factory=dict, repr=False)
    dropped: bool = False
    extra_json: str | None = field(default=None, repr=False)
    broken: str | None = None

    _columns = VERSION_COLUMNS
    _raw = {"extra": "extra_json"}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> VersionRecord:
        """Decode a row of ``segnb_versions`` (a dict of its columns)."""
        values = {c: row[c] for c in VERSION_COLUMNS if c in row}
        text = values.get("extra")
        extra, bad = _object(text, "extra")
        values.update(extra=extra, extra_json=text, broken=bad)
        return cls(**values)

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the version wrote: members, scores and the side tables in ``extra``."""
        side = (self.extra or {}).get("tables", [])
        named = (self.member_table, self.scores_table, *side)
        return tuple(t for t in named if t)
