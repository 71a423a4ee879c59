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
import os
from pathlib import Path
from typing import Any

from segnb.analysis.export import export_table, with_attributes
from segnb.analysis.insights import insights
from segnb.errors import (
    InvalidValueError,
    NotAvailableError,
    SegmentNotFoundError,
    SegmentStateError,
)
from segnb.segments.changes import CHANGE_KINDS, Changes, changes_of, history_frame
from segnb.segments.context import Context
from segnb.segments.create import redefine
from segnb.segments.lifecycle import delete_segment, refresh_segment
from segnb.segments.methods import evaluation
from segnb.segments.options import parse_expires
from segnb.segments.registry import members_of
from segnb.segments.status import (
    METHOD_LABELS,
    check_expiry,
    definition_of,
    effective_status,
    extra_of,
    is_due,
    segment_today,
)
from segnb.segments.verify import Verification, verify
from segnb.store.bitmaps import load_bitmap
from segnb.times import as_date, utcnow

__all__ = ["Segment", "SegmentList", "Verification"]


class Segment:
    """A stored segment. Get one from ``ws.segment(name)`` or any creation method.

    Examples
    --------
    >>> seg = ws.segment("active_buyers")             # doctest: +SKIP
    >>> seg.members().limit(5).to_pandas()            # doctest: +SKIP
    >>> seg.verify(42)                                # doctest: +SKIP
    <42 is in 'active_buyers' since version 2 (as of 2025-03-30, ...)>
    """

    def __init__(self, ctx: Context, name: str, row: dict[str, Any] | None = None) -> None:
        self.ctx = getattr(ctx, "ctx", ctx)  # a Workspace or its context
        self.name = name
        self._id = row["id"] if row else None
        if row is None:
            self._row()

    # -- reading the row ----------------------------------------------------------

    def _row(self) -> dict[str, Any]:
        """The segment's row, read afresh; every path of the handle passes here.

        A segment the workspace's owner may not see (expose scope) is not found.
        """
        store = self.ctx.store
        row = store.segment_row_by_id(self._id) if self._id is not None else None
        if row is None:
            row = store.segment_row(self.name)
            if row is None or (self._id is not None and row["id"] != self._id):
                if self._id is None:
                    raise SegmentNotFoundError(self.ctx.not_found(self.name))
                raise SegmentNotFoundError(
                    f"segment {self.name!r} no longer exists (deleted); ws.deleted() lists it"
                )
            self._id = row["id"]
        if not self.ctx.visible(row):
            raise SegmentNotFoundError(self.ctx.not_found(self.name))
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
        version = self.ctx.store.version_row(row["id"], row["current_version"])
        if check_fresh:
            self._check_fresh(row, version)
        return row, version

    def _check_fresh(self, row: dict[str, Any], version: dict[str, Any]) -> None:
        if not (row["time_sensitive"] and row["refresh"] == "daily"):
            return
        today = segment_today(self.ctx, row)
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
        return effective_status(row, segment_today(self.ctx, row))

    @property
    def error(self) -> str | None:
        return self._row()["error"]

    @property
    def size(self) -> int | None:
        """Members in the current version (None before the first version)."""
        row = self._row()
        if row["current_version"] is None:
            return None
        return int(self.ctx.store.version_row(row["id"], row["current_version"])["size"])

    @property
    def due(self) -> bool:
        """A daily segment whose newest version is older than today (in its time zone)."""
        return is_due(self.ctx, self._row())

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
        return definition_of(self._row())

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
        row = self._row()
        as_of = None
        if row["current_version"] is not None:
            as_of = self.ctx.store.version_row(row["id"], row["current_version"])["as_of"]
        day = as_of or segment_today(self.ctx, row)
        return self.ctx.sql(members_of(self.ctx, row, day, check=False), dialect)

    # -- members --------------------------------------------------------------------

    def members(self):
        """The ids of the current version as an Ibis table (one column, the entity id).

        Examples
        --------
        >>> seg.members().to_pandas()          # doctest: +SKIP
        """
        row, version = self._current()
        ent = self.ctx.catalog.entity(row["entity"])
        return self.ctx.store.ibis_table(version["member_table"]).select(ent.id)

    def scores(self):
        """Predicted segments: an Ibis table (id, score) of the current version."""
        row, version = self._current()
        if not version.get("scores_table"):
            raise NotAvailableError(
                f"segment {self.name!r} ({METHOD_LABELS.get(row['method'], row['method'])}) "
                "has no scores; only lookalike and AI prediction segments do"
            )
        return self.ctx.store.ibis_table(version["scores_table"])

    def evaluation(self) -> dict[str, Any]:
        """Lookalike and AI prediction segments: the held-out metrics of the model behind them.

        Predictions: accuracy, precision, recall, F1, ROC AUC, lift at 10/20%,
        PR and ROC curves, feature importances, sample counts and the chosen
        threshold (see :func:`segnb.models.predict`); lookalikes: counts and
        validation AUCs. JSON-ready; stored with the model.
        """
        return evaluation(self.ctx, self._row())

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
        extra = extra_of(version)
        if not extra.get("unmatched_table"):
            raise NotAvailableError(
                f"segment {self.name!r} ({METHOD_LABELS.get(row['method'], row['method'])}) "
                "has no unmatched ids; only uploads and SQL-table segments do"
            )
        return self.ctx.store.ibis_table(extra["unmatched_table"])

    @property
    def report(self) -> dict[str, Any]:
        """Upload/table counts of the current version (rows, malformed, matched, …)."""
        row = self._row()
        if row["current_version"] is None:
            return {}
        version = self.ctx.store.version_row(row["id"], row["current_version"])
        return dict(extra_of(version, strict=False).get("report", {}))

    def bitmap(self):
        """The current version's members as a roaring bitmap of dense ids."""
        row, version = self._current()
        return load_bitmap(self.ctx.store, row["id"], version["version"])

    # -- lifecycle ------------------------------------------------------------------

    def refresh(self, as_of: Any = None, *, retrain: bool = False) -> Segment:
        """Write a new version (as of ``as_of``, default today in the segment's time zone).

        Readers keep the previous version until the new one is complete; on
        failure the status becomes ``failed`` with the error, and the last
        good version is still served. Lookalike and AI prediction segments
        are re-scored with their stored model; ``retrain=True`` trains anew.
        """
        refresh_segment(self.ctx, self._row(), as_of, retrain=retrain)
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
        redefine(self.ctx, self._row(), rules, as_of, **options)
        return self

    def history(self):
        """Every version, indexed by version number (a pandas DataFrame).

        Columns: ``as_of``, ``size``, ``entered``/``left`` (against the version
        before), times, ``current``, and ``members`` (``"kept"`` or ``"pruned"``:
        see :func:`segnb.segments.changes.history_frame`).

        Examples
        --------
        >>> seg.history()[["as_of", "size", "entered", "left"]]     # doctest: +SKIP
        """
        return history_frame(self.ctx, self._row())

    def changes(self, since: Any = None, *, version: int | None = None) -> Changes:
        """Who entered and who left between version ``since`` and the current one.

        ``since`` is a version number or a date (the newest version as of that
        day or earlier); the default is the version before. The result has
        ``entered`` and ``left`` (Ibis tables of ids, computed in the engine)
        and ``entered_count``/``left_count`` (from the versions' bitmaps).
        Ids of a version whose members were pruned are refused with a message
        saying so; their counts remain. ``version`` compares an older version
        instead of the current one.

        Examples
        --------
        >>> ch = seg.changes(since="2025-03-25")          # doctest: +SKIP
        >>> ch.entered_count, ch.entered.to_pandas()      # doctest: +SKIP
        """
        row, _ = self._current(check_fresh=False)
        return changes_of(self.ctx, row, self.ctx.entity(row["entity"]), since, version)

    def runs(self):
        """Every create/refresh attempt with its status and error (a pandas DataFrame)."""
        import pandas as pd

        cols = ["id", "kind", "as_of", "started_at", "finished_at", "status", "version", "error"]
        rows = self.ctx.store.runs(self._row()["id"])
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
        DataFrame; see :mod:`segnb.analysis.insights`).

        Examples
        --------
        >>> seg.insights(["city", "member_level"])       # doctest: +SKIP
        """
        row, version = self._current(check_fresh=False)
        ent = self.ctx.entity(row["entity"])
        members = self.ctx.store.ibis_table(version["member_table"]).select(ent.id)
        day = as_date(as_of if as_of is not None else version.get("as_of"), row.get("timezone"))
        return insights(
            self.ctx.catalog, ent, members, day, row.get("timezone") or "UTC", fields=fields,
            bins=bins, top=top, attributes=attributes,
        )  # fmt: skip

    def verify(self, id: Any) -> Verification:
        """Whether ``id`` is in the current version, and since which version.

        Examples
        --------
        >>> bool(seg.verify(42))        # doctest: +SKIP
        True
        """
        row, version = self._current()
        return verify(self.ctx.store, self.ctx.entity(row["entity"]), self.name, row, version, id)

    def export(
        self,
        path: str | os.PathLike,
        columns: list[str] | None = None,
        *,
        raw: bool = False,
        changes: str | None = None,
        since: Any = None,
    ) -> Path:
        """Write the members (and chosen entity attributes) to CSV or Parquet.

        The engine writes the file (DuckDB's ``COPY``, Spark's ``DataFrame.write``,
        PostgreSQL's batches): the member set is never assembled in Python memory. In a
        CSV, text cells a spreadsheet would run as formulas (``=…``, ``+…``,
        ``-…``, ``@…``) get a leading ``'``; ``raw=True`` writes them as they are.
        ``changes="entered"`` (or ``"left"``) writes only the ids that entered
        (left) since version ``since`` (see :meth:`changes`; default the version before).

        Examples
        --------
        >>> seg.export("vip.parquet", columns=["device_id", "channel"])   # doctest: +SKIP
        >>> seg.export("newcomers.csv", changes="entered")                # doctest: +SKIP
        """
        row, _ = self._current()
        ent = self.ctx.catalog.entity(row["entity"])
        if changes is None:
            if since is not None:
                raise InvalidValueError("since= goes with changes='entered' or 'left'")
            expr = self.members()
        elif changes in CHANGE_KINDS:
            expr = getattr(self.changes(since), changes)
        else:
            raise InvalidValueError(
                f"changes={changes!r}; use one of {', '.join(map(repr, CHANGE_KINDS))} "
                "(or leave it out for every member)"
            )
        entities = self.ctx.catalog.table(ent.table)
        expr = with_attributes(expr, entities, ent.id, ent.table, columns)
        return export_table(self.ctx.con, expr.order_by(ent.id), path, raw=raw)

    def extend(self, expires: Any) -> Segment:
        """Move the expiry date (None: never expires); refused before a using plan's end."""
        row = self._row()
        new = parse_expires(expires, segment_today(self.ctx, row))
        check_expiry(self.ctx, row, new)
        self.ctx.store.update(
            "segments", {"id": row["id"]}, {"expires_at": new, "updated_at": utcnow()}
        )
        return self

    def delete(self) -> None:
        """Delete the segment; refused while an unfinished plan or another segment uses it."""
        delete_segment(self.ctx, self._row())

    # -- faces --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything a face shows, as plain data."""
        row = self._row()
        version = None
        if row["current_version"] is not None:
            version = self.ctx.store.version_row(row["id"], row["current_version"])
        extra = dict(extra_of(version, strict=False))
        extra.pop("tables", None)
        definition = definition_of(row, strict=False)
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
            "status": effective_status(row, segment_today(self.ctx, row)),
            "error": row["error"],
            "version": row["current_version"],
            "size": None if version is None else int(version["size"]),
            "as_of": None if version is None else version["as_of"],
            "refreshed_at": None if version is None else version["finished_at"],
            "due": is_due(self.ctx, row, version),
            "details": extra,
            "broken": getattr(row, "broken", None),
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
        return isinstance(other, Segment) and other._id == self._id and other.ctx is self.ctx

    def __hash__(self) -> int:
        return hash((id(self.ctx), self._id))


class SegmentList(list):
    """A list of Segments (``ws.segments()``); ``to_frame()`` for a table."""

    def to_frame(self):
        import pandas as pd

        cols = ["name", "group", "status", "method", "entity", "size", "version", "as_of",
                "refresh", "expires_at", "owner", "scope", "description"]  # fmt: skip
        return pd.DataFrame([{c: s.to_dict()[c] for c in cols} for s in self], columns=cols)

    def __repr__(self) -> str:
        if not self:
            return "<no segments>"
        return "\n".join(repr(s) for s in self)
