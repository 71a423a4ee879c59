"""Writing membership versions: runs, the transaction that makes a version current, pruning.

Each version is a table ``segnb_m_<segment>_<version>`` made by ``CREATE
TABLE … AS SELECT`` from the compiled query, holding the entity id and its
dense integer (:mod:`segnb.store.bitmaps`). A version becomes current by
updating one metadata row in the same transaction that wrote it; readers keep
the previous version until then, and a failed or killed refresh leaves
nothing behind but a failed run (and the segment marked failed).

:class:`Versions` is the half of :class:`segnb.store.store.Store` that does
this; it uses the store's tables through the store's own methods.

Examples
--------
>>> store.write_version(record, build, as_of=day, kind="refresh")   # doctest: +SKIP
VersionRecord(segment_id=1, version=2, ...)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from segnb.errors import SegmentBusyError, SegnbError, StoreError
from segnb.store.bitmaps import (
    bitmap_of_table,
    ensure_dense_ids,
    extend_dense_ids,
    member_select,
)
from segnb.store.database import first_line, utcnow
from segnb.store.records import VersionRecord

#: (DuckDB file, schema) -> the lock its version writes take in this process
_WRITERS: dict[Any, threading.Lock] = {}
_GUARD = threading.Lock()

__all__ = ["NOTEBOOK_RUN_ENV", "Versions", "checkpoint"]

#: environment variable naming the notebook run (``segnb run``) a kernel works for;
#: segment runs written by that kernel record it, so the run knows what it touched
NOTEBOOK_RUN_ENV = "SEGNB_NOTEBOOK_RUN"


#: checkpoints a test may replace (``segnb.store.versions.checkpoint``) to stop a
#: write at a known spot
def checkpoint(stage: str) -> None:
    """Called at fixed stages of a write ("members_written"); a no-op unless patched."""


class Versions:
    """Runs and membership versions of the store's segments (mixed into ``Store``)."""

    # provided by Store
    db: Any
    data: Any
    keep_versions: int
    lock_wait: float

    @contextlib.contextmanager
    def _one_writer(self, name: str):
        """DuckDB: one version write at a time per store file in this process.

        Workspaces of one process (threads) share DuckDB's database, whose
        optimistic transactions would otherwise both fail on a write-write
        conflict. Here the second waits (up to ``lock_wait``) and then writes
        its own version; past the wait it is told the segment is busy.
        """
        key = getattr(self, "_cache_key", None)
        if self.db.dialect != "duckdb" or key is None:
            yield
            return
        with _GUARD:
            lock = _WRITERS.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=self.lock_wait):
            raise SegmentBusyError(
                f"segment {name!r}: another workspace of this process has been writing to the "
                f"store for over {self.lock_wait:g}s; try again when it has finished"
            )
        try:
            yield
        finally:
            lock.release()

    def lock_segment(self, segment_id: int, name: str) -> None:
        """Hold the segment's row until the transaction ends (PostgreSQL; DuckDB has one writer)."""
        if self.db.dialect != "postgres":
            return
        self.db.execute(f"SET LOCAL lock_timeout = '{int(self.lock_wait * 1000)}ms'")
        try:
            self.db.execute(
                f"SELECT id FROM {self.t('segments')} WHERE id = ? FOR UPDATE", (segment_id,)
            )
        except StoreError as exc:
            raise SegmentBusyError(
                f"segment {name!r} is being written by another session; waited "
                f"{self.lock_wait:g}s. Try again when it has finished (seg.history() shows "
                "the versions; nothing was changed)"
            ) from exc
        self.db.execute("SET LOCAL lock_timeout = 0")

    def start_run(self, row: Mapping[str, Any], kind: str, as_of: dt.date | None) -> int:
        """Record a run as running (committed at once, so other sessions see it)."""
        run_id = self.next_id("runs")
        self.insert(
            "runs",
            {
                "id": run_id, "segment_id": row["id"], "segment": row["name"],
                "kind": kind, "as_of": as_of, "started_at": utcnow(),
                "status": "running", "host": socket.gethostname(), "pid": os.getpid(),
                "notebook_run": _notebook_run(),
            },
        )  # fmt: skip
        return run_id

    def write_version(
        self,
        row: Mapping[str, Any],
        build: Callable[[], Any],
        *,
        as_of: dt.date | None,
        kind: str,
        extra: Callable[[int, str], dict[str, Any]] | None = None,
        changes: dict[str, Any] | None = None,
    ) -> VersionRecord:
        """Materialise a new membership version of ``row`` and make it current.

        ``row`` is the segment (a :class:`SegmentRecord`, or a mapping with
        its ``id``, ``name`` and ``entity``). ``build()`` returns the Ibis
        table of member ids (one column named as the entity id); it runs
        inside the transaction, so it sees the store as of the start of the
        write. ``extra(version, member_table)`` may write side tables (an
        upload's unmatched ids) in the same transaction and returns JSON-ready
        details kept with the version. ``changes`` (e.g. a new definition)
        update the segment row in the same transaction. On failure the
        segment's status becomes ``failed`` with the error, and the current
        version is unchanged.
        """
        with self.db.session():
            return self._write_version(row, build, as_of=as_of, kind=kind, extra=extra,
                                       changes=changes)  # fmt: skip

    def _write_version(self, row, build, *, as_of, kind, extra, changes) -> VersionRecord:
        seg_id, name, entity = row["id"], row["name"], row["entity"]
        run_id = self.start_run(row, kind, as_of)
        started = utcnow()
        try:
            ids_table = ensure_dense_ids(self, entity)
            with self._one_writer(name), self.db.transaction():
                self.lock_segment(seg_id, name)
                if self.segment_row_by_id(seg_id) is None:
                    raise StoreError(f"segment {name!r} was deleted by another session")
                self.db.execute(
                    f"UPDATE {self.t('runs')} SET status = 'interrupted', finished_at = ? "
                    "WHERE segment_id = ? AND status = 'running' AND id < ?",
                    (utcnow(), seg_id, run_id),
                )
                version = int(
                    self.db.scalar(
                        f"SELECT coalesce(max(version), 0) + 1 FROM {self.t('versions')} "
                        "WHERE segment_id = ?",
                        (seg_id,),
                    )
                )
                table = f"segnb_m_{seg_id}_{version}"
                self.data.create(table, member_select(self, build(), entity, ids_table))
                if self.data.count(table, "dense IS NULL"):
                    extend_dense_ids(self, entity, table)
                checkpoint("members_written")
                size = self.data.count(table)
                bitmap = bitmap_of_table(self, table)
                details = extra(version, table) if extra is not None else {}
                finished = utcnow()
                self.insert(
                    "versions",
                    {
                        "segment_id": seg_id, "version": version, "as_of": as_of,
                        "started_at": started, "finished_at": finished, "size": size,
                        "member_table": table, "bitmap": bitmap,
                        "scores_table": details.pop("scores_table", None),
                        "extra": json.dumps(details, default=str), "dropped": False,
                    },
                )  # fmt: skip
                self.update(
                    "segments",
                    {"id": seg_id},
                    {"current_version": version, "status": "active", "error": None,
                     "updated_at": finished, **(changes or {})},
                )  # fmt: skip
                self.update(
                    "runs",
                    {"id": run_id},
                    {"status": "succeeded", "finished_at": finished, "version": version},
                )
                checkpoint("before_commit")
        except BaseException as exc:
            self._record_failure(seg_id, run_id, exc)
            raise
        self._drop_old_versions(seg_id)
        return self.version_row(seg_id, version)

    def _record_failure(self, segment_id: int, run_id: int, exc: BaseException) -> None:
        message = first_line(exc) if isinstance(exc, Exception) else type(exc).__name__
        with contextlib.suppress(Exception):
            busy = isinstance(exc, SegmentBusyError)  # the other session's write stands
            if not busy and self.segment_row_by_id(segment_id) is not None:
                self.update(
                    "segments",
                    {"id": segment_id},
                    {"status": "failed", "error": message, "updated_at": utcnow()},
                )
            self.update(
                "runs",
                {"id": run_id},
                {"status": "failed", "error": message, "finished_at": utcnow()},
            )

    def _drop_old_versions(self, segment_id: int) -> None:
        """Drop member tables beyond ``keep_versions`` (their metadata and bitmaps stay)."""
        kept = [v for v in self.version_rows(segment_id) if not v.dropped]
        for v in kept[: max(0, len(kept) - self.keep_versions)]:
            with contextlib.suppress(SegnbError), self.db.transaction():
                self.drop_version_tables(v)
                self.update(
                    "versions",
                    {"segment_id": segment_id, "version": v.version},
                    {"dropped": True},
                )

    def drop_version_tables(self, version: VersionRecord | Mapping[str, Any]) -> None:
        """Drop the member, scores and side tables of a version (its row stays)."""
        if not isinstance(version, VersionRecord):
            version = VersionRecord.from_row(version)
        if version.extra is None:  # broken details: drop what the columns name
            tables = (t for t in (version.member_table, version.scores_table) if t)
        else:
            tables = version.tables
        for table in tables:
            self.drop_table(table)

    def runs(self, segment_id: int | None = None) -> list[dict[str, Any]]:
        """Every run (of one segment when given), oldest first, as dicts."""
        where = {"segment_id": segment_id} if segment_id is not None else None
        return self.select("runs", where, order="id")


def _notebook_run() -> int | None:
    value = os.environ.get(NOTEBOOK_RUN_ENV, "").strip()
    return int(value) if value.isdigit() else None
