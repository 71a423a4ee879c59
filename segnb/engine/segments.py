"""The :class:`Segment` object: one stored segment and its lifecycle (SPEC §5, §6).

A ``Segment`` is a handle on a row of ``segnb_segments``: every property
reads the store, so two notebooks sharing a warehouse see each other's
refreshes. Members are an Ibis table over the current version's member
table; nothing is pulled into Python unless asked.

Examples
--------
>>> seg = ws.create_segment("active_buyers", rules="count(purchase, T-6..T) >= 2")  # doctest: +SKIP
>>> seg.size, seg.status                                                          # doctest: +SKIP
(1234, 'active')
>>> seg.refresh(as_of="2025-04-01").history()                                     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segnb.engine.store import utcnow
from segnb.errors import (
    InvalidValueError,
    NotAvailableError,
    SegmentNotFoundError,
    SegmentStateError,
)

if TYPE_CHECKING:
    from segnb.engine.workspace import Workspace

__all__ = ["Segment", "Verification", "coerce_id", "effective_status", "usable_row"]

METHOD_LABELS = {
    "rules": "rules",
    "sets": "segment sets",
    "upload": "custom list",
    "table": "SQL table",
    "lookalike": "lookalike",
    "prediction": "AI prediction",
}


def segment_today(ws: Workspace, row: dict[str, Any]) -> dt.date:
    from segnb.engine.workspace import today

    return today(row.get("timezone") or ws.tz)


def effective_status(row: dict[str, Any], today: dt.date) -> str:
    """The stored status, or ``expired`` once the expiry day has passed."""
    status = row["status"]
    expires = row.get("expires_at")
    if expires is not None and today > expires and status in ("active", "failed"):
        return "expired"
    return status


def usable_row(ws: Workspace, row: dict[str, Any], purpose: str) -> dict[str, Any]:
    """``row`` when it can feed sets, plans, seeds or rules; a clear error otherwise."""
    status = effective_status(row, segment_today(ws, row))
    name = row["name"]
    if status == "expired":
        raise SegmentStateError(
            f"segment {name!r} expired on {row['expires_at']}, so it cannot be used {purpose}; "
            f"extend it first: ws.segment({name!r}).extend(expires=...)"
        )
    if status != "active" or row.get("current_version") is None:
        why = f": {row['error']}" if row.get("error") else ""
        raise SegmentStateError(
            f"segment {name!r} is {status}{why}; only active segments can be used {purpose}"
            + (f". Refresh it first: ws.segment({name!r}).refresh()" if status == "failed" else "")
        )
    return row


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


class Segment:
    """A stored segment. Get one from ``ws.segment(name)`` or any creation method.

    Examples
    --------
    >>> seg = ws.segment("active_buyers")             # doctest: +SKIP
    >>> seg.members().limit(5).to_pandas()            # doctest: +SKIP
    >>> seg.verify(42)                                # doctest: +SKIP
    <42 is in 'active_buyers' since version 2 (as of 2025-03-30, ...)>
    """

    def __init__(self, ws: Workspace, name: str, row: dict[str, Any] | None = None) -> None:
        self.ws = ws
        self.name = name
        self._id = row["id"] if row else None
        if row is None:
            self._row()

    # -- reading the row ----------------------------------------------------------

    def _row(self) -> dict[str, Any]:
        store = self.ws.store
        row = store.segment_row_by_id(self._id) if self._id is not None else None
        if row is None:
            row = store.segment_row(self.name)
            if row is None or (self._id is not None and row["id"] != self._id):
                raise SegmentNotFoundError(
                    f"segment {self.name!r} no longer exists (deleted); ws.deleted() lists it"
                    if self._id is not None
                    else _not_found(self.ws, self.name)
                )
            self._id = row["id"]
        self.name = row["name"]
        return row

    def _current(self, check_fresh: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
        row = self._row()
        if row["current_version"] is None:
            why = f" (last error: {row['error']})" if row.get("error") else ""
            raise SegmentStateError(
                f"segment {self.name!r} has no members yet: it is {row['status']}{why}; "
                f"try seg.refresh()"
            )
        version = self.ws.store.version_row(row["id"], row["current_version"])
        if check_fresh:
            self._check_fresh(row, version)
        return row, version

    def _check_fresh(self, row: dict[str, Any], version: dict[str, Any]) -> None:
        if not (row["time_sensitive"] and row["refresh"] == "daily"):
            return
        today = segment_today(self.ws, row)
        if version["as_of"] is None or version["as_of"] < today:
            raise SegmentStateError(
                f"segment {self.name!r} is time-sensitive and its newest version is as of "
                f"{version['as_of']}, older than today ({today}); refresh it first "
                "(seg.refresh()) or clear time_sensitive"
            )

    @property
    def id(self) -> int:
        """The store's id of the segment (never reused)."""
        return self._row()["id"]

    @property
    def status(self) -> str:
        """``generating``, ``active``, ``failed`` or ``expired``."""
        row = self._row()
        return effective_status(row, segment_today(self.ws, row))

    @property
    def error(self) -> str | None:
        return self._row()["error"]

    @property
    def size(self) -> int | None:
        """Members in the current version (None before the first version)."""
        row = self._row()
        if row["current_version"] is None:
            return None
        return int(self.ws.store.version_row(row["id"], row["current_version"])["size"])

    @property
    def due(self) -> bool:
        """A daily segment whose newest version is older than today (in its time zone)."""
        return _due(self.ws, self._row())

    @property
    def version(self) -> int | None:
        return self._row()["current_version"]

    @property
    def method(self) -> str:
        return self._row()["method"]

    @property
    def group(self) -> str:
        return self._row()["group_name"]

    @property
    def entity(self) -> str:
        return self._row()["entity"]

    @property
    def expires_at(self) -> dt.date | None:
        return self._row()["expires_at"]

    @property
    def definition(self) -> dict[str, Any]:
        return json.loads(self._row()["definition"] or "{}")

    @property
    def text(self) -> str | None:
        """The rule or set expression as written (None for lists and tables)."""
        return self.definition.get("text")

    @property
    def sql(self) -> str:
        """SQL of the segment's query for the connected backend."""
        return self.to_sql()

    def to_sql(self, dialect: str | None = None) -> str:
        """SQL of the segment's query, for the connected backend or a named dialect.

        Examples
        --------
        >>> print(seg.to_sql("postgres"))     # doctest: +SKIP
        """
        import ibis

        from segnb.engine.manage import build_members

        row = self._row()
        as_of = None
        if row["current_version"] is not None:
            as_of = self.ws.store.version_row(row["id"], row["current_version"])["as_of"]
        expr = build_members(self.ws, row, as_of or segment_today(self.ws, row), check=False)
        return str(ibis.to_sql(expr, dialect=dialect or self.ws.con.name))

    # -- members --------------------------------------------------------------------

    def members(self):
        """The ids of the current version as an Ibis table (one column, the entity id).

        Examples
        --------
        >>> seg.members().to_pandas()          # doctest: +SKIP
        """
        row, version = self._current()
        ent = self.ws.catalog.entity(row["entity"])
        return self.ws.store.ibis_table(version["member_table"]).select(ent.id)

    def scores(self):
        """Predicted segments: an Ibis table (id, score) of the current version."""
        row, version = self._current()
        if not version.get("scores_table"):
            raise NotAvailableError(
                f"segment {self.name!r} ({METHOD_LABELS.get(row['method'], row['method'])}) "
                "has no scores; only lookalike and AI prediction segments do"
            )
        return self.ws.store.ibis_table(version["scores_table"])

    def evaluation(self) -> dict[str, Any]:
        """Lookalike and AI prediction segments: the held-out metrics of the model behind them.

        Predictions: accuracy, precision, recall, F1, ROC AUC, lift at 10/20%,
        PR and ROC curves, feature importances, sample counts and the chosen
        threshold (see :func:`segnb.models.predict`); lookalikes: counts and
        validation AUCs. JSON-ready; stored with the model.
        """
        from segnb.engine.methods import evaluation

        return evaluation(self.ws, self._row())

    def backtest(self) -> dict[str, Any]:
        """AI prediction segments in forecast mode: the model trained one horizon earlier,
        checked against the memberships that happened (ROC AUC, PR AUC, lift at 10/20%,
        Brier score, reliability table). ``available`` is False, with a ``reason``, otherwise.
        """
        found = self.evaluation().get("backtest")
        if found is None:
            return {"available": False, "reason": "only forecasts (AI prediction segments "
                    "trained before their label window) have a backtest"}  # fmt: skip
        return found

    def unmatched(self):
        """Uploaded or source ids that are not entities (an Ibis table with column ``id``)."""
        row, version = self._current(check_fresh=False)
        extra = json.loads(version.get("extra") or "{}")
        if not extra.get("unmatched_table"):
            raise NotAvailableError(
                f"segment {self.name!r} ({METHOD_LABELS.get(row['method'], row['method'])}) "
                "has no unmatched ids; only uploads and SQL-table segments do"
            )
        return self.ws.store.ibis_table(extra["unmatched_table"])

    @property
    def report(self) -> dict[str, Any]:
        """Upload/table counts of the current version (rows, malformed, matched, …)."""
        row = self._row()
        if row["current_version"] is None:
            return {}
        version = self.ws.store.version_row(row["id"], row["current_version"])
        return dict(json.loads(version.get("extra") or "{}").get("report", {}))

    def bitmap(self):
        """The current version's members as a roaring bitmap of dense ids."""
        from segnb.engine.sets import load_bitmap

        row, version = self._current()
        return load_bitmap(self.ws.store, row["id"], version["version"])

    # -- lifecycle ------------------------------------------------------------------

    def refresh(self, as_of: Any = None, *, retrain: bool = False) -> Segment:
        """Write a new version (as of ``as_of``, default today in the segment's time zone).

        Readers keep the previous version until the new one is complete; on
        failure the status becomes ``failed`` with the error, and the last
        good version is still served. Lookalike and AI prediction segments
        are re-scored with their stored model; ``retrain=True`` trains anew.
        """
        from segnb.engine.manage import refresh_segment

        refresh_segment(self.ws, self._row(), as_of, retrain=retrain)
        return self

    def redefine(self, rules: Any, as_of: Any = None, **options: Any) -> Segment:
        """Replace the rule (or set expression) and write it as the next version.

        The segment keeps its id and history, and its options except those
        given (``group``, ``expires``, … as in ``ws.create_segment``). If the
        new definition fails to build, the old definition, options and version stay.

        Examples
        --------
        >>> seg.redefine("count(purchase, T-6..T) >= 3")     # doctest: +SKIP
        """
        from segnb.engine.create import redefine

        redefine(self.ws, self._row(), rules, as_of, **options)
        return self

    def history(self):
        """Every version: size, as-of date, start and finish times (a pandas DataFrame)."""
        import pandas as pd

        row = self._row()
        rows = self.ws.store.version_rows(row["id"])
        frame = pd.DataFrame(
            [
                {
                    "version": r["version"],
                    "as_of": r["as_of"],
                    "size": r["size"],
                    "started_at": r["started_at"],
                    "finished_at": r["finished_at"],
                    "current": r["version"] == row["current_version"],
                    "members_kept": not r["dropped"],
                }
                for r in rows
            ],
            columns=["version", "as_of", "size", "started_at", "finished_at", "current",
                     "members_kept"],
        )  # fmt: skip
        return frame

    def runs(self):
        """Every create/refresh attempt with its status and error (a pandas DataFrame)."""
        import pandas as pd

        cols = ["id", "kind", "as_of", "started_at", "finished_at", "status", "version", "error"]
        rows = self.ws.store.runs(self._row()["id"])
        return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)

    def insights(
        self,
        fields: list[str] | None = None,
        *,
        as_of: Any = None,
        bins: int = 5,
        top: int = 10,
        attributes: bool = True,
    ):
        """Each tag's distribution in the segment against the whole population, with TGI.

        TGI = segment share / population share * 100, per value (enum and
        boolean tags, the ``top`` most common values plus ``(other)``) or per
        quantile bin (number and datetime tags); computed in the engine on the
        current version, with tag values as of its as-of date (a pandas
        DataFrame; see :mod:`segnb.engine.insights`).

        Examples
        --------
        >>> seg.insights(["city", "member_level"])       # doctest: +SKIP
        """
        from segnb.engine.insights import insights

        row, version = self._current(check_fresh=False)
        return insights(
            self.ws, row, version, as_of=as_of, fields=fields, bins=bins, top=top,
            attributes=attributes,
        )  # fmt: skip

    def verify(self, id: Any) -> Verification:
        """Whether ``id`` is in the current version, and since which version.

        Examples
        --------
        >>> bool(seg.verify(42))        # doctest: +SKIP
        True
        """
        from segnb.engine.sets import dense_of, load_bitmap

        row, version = self._current()
        ent = self.ws.catalog.entity(row["entity"])
        value = coerce_id(id, ent)
        dense = dense_of(self.ws.store, ent.name, value)
        current = version["version"]
        if dense is None:
            return Verification(self.name, value, False, current, None, None, None, False)
        store = self.ws.store
        if dense not in load_bitmap(store, row["id"], current):
            return Verification(self.name, value, False, current, None, None, None, True)
        since = version
        for older in reversed(store.version_rows(row["id"])):
            if older["version"] >= current:
                continue
            if dense not in load_bitmap(store, row["id"], older["version"]):
                break
            since = older
        return Verification(
            self.name, value, True, current, since["version"], since["finished_at"],
            since["as_of"], True,
        )  # fmt: skip

    def export(self, path: str | os.PathLike, columns: list[str] | None = None) -> Path:
        """Write the members (and chosen entity attributes) to CSV or Parquet.

        The engine writes the file: DuckDB's ``COPY``, or batches streamed from
        PostgreSQL; the member set is never assembled in Python memory.

        Examples
        --------
        >>> seg.export("vip.parquet", columns=["device_id", "channel"])   # doctest: +SKIP
        """
        from segnb.engine.export import export_table

        row, _ = self._current()
        ent = self.ws.catalog.entity(row["entity"])
        expr = self.members()
        if columns:
            columns = list(columns)
            entities = self.ws.catalog.table(ent.table)
            unknown = [c for c in columns if c not in entities.columns or c == ent.id]
            if unknown:
                from segnb.engine.catalog import closest

                guess = closest(unknown[0], [c for c in entities.columns if c != ent.id])
                raise InvalidValueError(
                    f"{ent.table!r} has no column {unknown[0]!r} to export"
                    + (f"; did you mean {guess!r}?" if guess else "")
                    + f" (columns: {', '.join(c for c in entities.columns if c != ent.id)})"
                )
            expr = expr.left_join(entities.select(ent.id, *columns), ent.id).select(
                ent.id, *columns
            )
        return export_table(self.ws, expr.order_by(ent.id), path)

    def extend(self, expires: Any) -> Segment:
        """Move the expiry date (None: never expires); refused before a using plan's end."""
        from segnb.engine.create import parse_expires

        row = self._row()
        new = parse_expires(expires, segment_today(self.ws, row))
        check_expiry(self.ws, row, new)
        self.ws.store.update(
            "segments", {"id": row["id"]}, {"expires_at": new, "updated_at": utcnow()}
        )
        return self

    def delete(self) -> None:
        """Delete the segment; refused while an unfinished plan or another segment uses it."""
        from segnb.engine.manage import delete_segment

        delete_segment(self.ws, self._row())

    # -- faces --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything a face shows, as plain data."""
        row = self._row()
        version = None
        if row["current_version"] is not None:
            version = self.ws.store.version_row(row["id"], row["current_version"])
        extra = json.loads((version or {}).get("extra") or "{}")
        extra.pop("tables", None)
        definition = json.loads(row["definition"] or "{}")
        return {
            "name": row["name"],
            "group": row["group_name"],
            "description": row["description"],
            "entity": row["entity"],
            "method": row["method"],
            "text": definition.get("text"),
            "definition": definition,
            "refresh": row["refresh"],
            "scenario": row["scenario"],
            "timezone": row["timezone"],
            "expires_at": row["expires_at"],
            "time_sensitive": row["time_sensitive"],
            "email": row["email"],
            "scope": row["scope"],
            "shared_with": list(row["shared_with"]),
            "owner": row["owner"],
            "status": effective_status(row, segment_today(self.ws, row)),
            "error": row["error"],
            "version": row["current_version"],
            "size": None if version is None else int(version["size"]),
            "as_of": None if version is None else version["as_of"],
            "refreshed_at": None if version is None else version["finished_at"],
            "due": _due(self.ws, row, version),
            "details": extra,
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def __repr__(self) -> str:
        try:
            d = self.to_dict()
        except SegmentNotFoundError:
            return f"<segnb.Segment {self.name!r} (deleted)>"
        size = "no members yet" if d["size"] is None else f"{d['size']:,} {d['entity']}"
        version = "" if d["version"] is None else f", version {d['version']} as of {d['as_of']}"
        error = f", error: {d['error']}" if d["error"] and d["status"] == "failed" else ""
        return (
            f"<segnb.Segment {d['name']!r} {d['status']}: {size}{version}; "
            f"{METHOD_LABELS.get(d['method'], d['method'])}, group {d['group']!r}{error}>"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segment) and other._id == self._id and other.ws is self.ws

    def __hash__(self) -> int:
        return hash((id(self.ws), self._id))


def _due(ws: Workspace, row: dict[str, Any], version: dict[str, Any] | None = None) -> bool:
    if row["refresh"] != "daily" or effective_status(row, segment_today(ws, row)) == "expired":
        return False
    if row["current_version"] is None:
        return True
    if version is None:
        version = ws.store.version_row(row["id"], row["current_version"])
    return version["as_of"] is None or version["as_of"] < segment_today(ws, row)


def check_expiry(ws: Workspace, row: dict[str, Any], expires: dt.date | None) -> None:
    """Refuse an expiry date before the end of an unfinished plan that uses the segment."""
    from segnb.engine.plans import unfinished_plans

    if expires is None:
        return
    for plan in unfinished_plans(ws, row["id"]):
        if plan["ends"] is not None and expires < plan["ends"]:
            raise SegmentStateError(
                f"segment {row['name']!r} cannot expire on {expires}: operation plan "
                f"{plan['name']!r} uses it until {plan['ends']}; pick {plan['ends']} or later"
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


def _not_found(ws: Workspace, name: str) -> str:
    from segnb.engine.catalog import closest

    names = [r["name"] for r in ws.store.segment_rows()]
    guess = closest(name, names)
    hint = f"; did you mean {guess!r}?" if guess else ""
    return f"no segment named {name!r}{hint} (ws.segments() lists them)"
