"""Waiting for a DuckDB file that another process holds, and naming that process.

DuckDB admits one process writing a file or several reading it, never both;
a second process (or a second database of this process) that opens or
attaches the file gets an error naming the holder's PID. :func:`attach`
retries with backoff for a bounded time, then fails with a message that
names the holder (PID and program) and what to do.

Examples
--------
>>> holder_of('Conflicting lock is held in /usr/bin/python3 (PID 4242). See also …')
4242
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from segnb.errors import StoreBusyError, first_line

__all__ = ["attach", "describe", "holder_of", "is_lock_error"]

_PID = re.compile(r"\(PID (\d+)\)")
_FIRST_PAUSE = 0.01
_LONGEST_PAUSE = 0.5


def is_lock_error(text: str) -> bool:
    """Whether a DuckDB error says the file is held by another process or database."""
    low = text.lower()
    return "could not set lock" in low or "conflicting lock" in low or "file handle conflict" in low


def holder_of(text: str) -> int | None:
    """The PID a DuckDB lock error names (None when it names none: this process)."""
    found = _PID.search(text)
    return int(found.group(1)) if found else None


def describe(pid: int | None) -> str:
    """'PID 4242 (segnb refresh --all)': the holder as a user recognises it."""
    if pid is None or pid == os.getpid():
        return f"another workspace of this process (PID {os.getpid()})"
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"PID {pid}"
    words = [w for w in raw.decode("utf-8", "replace").split("\0") if w]
    if words and Path(words[0]).name.startswith("python"):
        words = words[1:]
        if words[:1] == ["-m"]:
            words = words[1:]
    program = " ".join(Path(w).name if i == 0 else w for i, w in enumerate(words))
    program = " ".join(program.split())
    return f"PID {pid} ({program[:80]})" if program else f"PID {pid}"


def attach(
    raw: Any, path: str, alias: str, *, read_only: bool, wait: float, what: str, advice: str
) -> None:
    """``ATTACH path AS alias``, waiting up to ``wait`` seconds while another holds the file.

    ``what`` names the file for the user ("the segment store"); ``advice``
    says what to do when the wait runs out.
    """
    mode = " (READ_ONLY)" if read_only else ""
    literal = "'" + path.replace("'", "''") + "'"
    ident = '"' + alias.replace('"', '""') + '"'
    deadline = time.monotonic() + max(0.0, wait)
    pause = _FIRST_PAUSE
    while True:
        try:
            raw.execute(f"ATTACH {literal} AS {ident}{mode}")
            return
        except Exception as exc:
            text = first_line(exc)
            if not is_lock_error(text):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreBusyError(
                    f"{what} {path!r} is in use by {describe(holder_of(text))}, which has kept "
                    f"it for more than the {wait:g}s waited; {advice}"
                ) from exc
            time.sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE)
