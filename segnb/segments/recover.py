"""Recovering from killed processes: stale runs, and segments whose creation never finished.

A process killed while it writes leaves its run ``running`` and, when it was
creating a segment, the segment ``generating`` with no version. Each time a
store is opened, runs of processes of this host that are gone are marked
``interrupted``, and such segments ``failed``. A segment that failed before
its first version holds no members, so a new creation under its name
replaces it (:func:`reclaim`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from typing import Any

from segnb.segments.status import definition_of
from segnb.times import utcnow

__all__ = ["STALE_AFTER", "reclaim", "sweep"]

#: a segment left generating with no run at all is stale after this long
STALE_AFTER = dt.timedelta(minutes=30)


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def sweep(store: Any) -> dict[str, list]:
    """Mark runs of dead processes of this host interrupted, their creations failed, remove their files."""
    host = socket.gethostname()
    running = store.select("runs", {"status": "running"})
    dead = [r for r in running if r["host"] == host and not _alive(r["pid"])]
    now = utcnow()
    for run in dead:
        store.update(
            "runs", {"id": run["id"]},
            {"status": "interrupted", "finished_at": now,
             "error": f"the process running it (pid {run['pid']}) stopped"},
        )  # fmt: skip
    live = {r["segment_id"] for r in running if r not in dead}
    killed = {r["segment_id"] for r in dead}
    failed = []
    for row in store.segment_rows():
        if row["status"] != "generating" or row["current_version"] is not None:
            continue
        orphan = (
            row["id"] not in live
            and row["id"] not in killed
            and (row["created_at"] is None or now - row["created_at"] > STALE_AFTER)
        )
        if (row["id"] in killed and row["id"] not in live) or orphan:
            store.update(
                "segments", {"id": row["id"]},
                {"status": "failed", "updated_at": now,
                 "error": "interrupted: the process creating it stopped before its first version"},
            )  # fmt: skip
            failed.append(row["name"])
    removed = store.remove_orphans() if not store.read_only else []
    return {"interrupted": [r["id"] for r in dead], "failed": failed, "removed": removed}


def reclaim(ctx: Any, row: dict[str, Any], discard=None) -> bool:
    """Remove a segment that failed before its first version, so its name can be used again.

    ``discard(definition)`` undoes what its method wrote (an upload's id list).
    False, and nothing removed, when the segment has members or is not failed.
    """
    if row["current_version"] is not None or row["status"] != "failed" or not ctx.visible(row):
        return False
    store = ctx.store
    with store.db.transaction():
        store.lock_segment(row["id"], row["name"])
        store.db.execute(f"DELETE FROM {store.t('runs')} WHERE segment_id = ?", (row["id"],))
        store.db.execute(f"DELETE FROM {store.t('segments')} WHERE id = ?", (row["id"],))
    if discard is not None:
        with contextlib.suppress(Exception):  # a broken definition: nothing of it to undo
            discard(definition_of(row, strict=False))
    return True
