"""Metadata read once and reused while the segment store is unchanged.

Beside a DuckDB warehouse the store is a DuckDB file of its own, attached
only for the span of one operation so that several processes can share it;
each read of the segment rows would attach it (some 15 ms). A
:class:`StoreCache` keeps what was read under a key that changes whenever
the store may have changed:

* a count of this process's own writes to the store (:func:`bump`), and
* the :func:`file_stamp` of the store file and its write-ahead log (inode,
  size, modification and change times): a commit by any process appends to
  the log, and the checkpoint that follows rewrites the file and removes it.

A file changed less than :data:`RACY_SECONDS` ago could change again within
the resolution of file times and keep its stamp, so it gets no stamp and
what is read then is not kept (git's "racily clean" rule). Reusing a kept
value costs two ``stat`` calls: no attach, no SQL.

Examples
--------
>>> cache = StoreCache(lambda: 1)
>>> cache.get("n", lambda: 41), cache.get("n", lambda: 42)
(41, 41)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["RACY_SECONDS", "StoreCache", "bump", "file_stamp", "generation"]

#: a file changed this recently may change again without its stamp changing
RACY_SECONDS = 0.25

T = TypeVar("T")

#: store (file + schema) -> count of this process's writes to it
_GENERATIONS: dict[Hashable, int] = {}


def bump(store: Hashable) -> None:
    """Note a write of this process to ``store``: what was read from it before is stale."""
    _GENERATIONS[store] = _GENERATIONS.get(store, 0) + 1


def generation(store: Hashable) -> int:
    """How many writes this process has made to ``store``."""
    return _GENERATIONS.get(store, 0)


def file_stamp(path: str) -> tuple | None:
    """What changes when a process commits to the DuckDB file ``path``; None while too recent."""
    stamp: list[Any] = []
    newest = 0
    for name in (path, path + ".wal"):
        try:
            st = os.stat(name)
        except FileNotFoundError:
            stamp.append(None)
            continue
        stamp.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        newest = max(newest, st.st_mtime_ns, st.st_ctime_ns)
    if time.time_ns() - newest < RACY_SECONDS * 1e9:
        return None
    return tuple(stamp)


class StoreCache:
    """Values read from a store, reused while ``key()`` stays the same.

    ``key()`` returns None when nothing may be kept (inside a transaction, a
    store file changed a moment ago); the value is then read every time.
    A value is kept only when the key is the same after reading it as
    before; a new key forgets every kept value. At most ``size`` are kept.
    """

    def __init__(self, key: Callable[[], Hashable | None], size: int = 256) -> None:
        self._key = key
        self._size = size
        self._current: Hashable | None = None
        self._values: dict[Hashable, Any] = {}

    def get(
        self, name: Hashable, read: Callable[[], T], uncached: Callable[[], T] | None = None
    ) -> T:
        """The kept value ``name``, or ``read()`` (kept when the store did not change meanwhile).

        When nothing may be kept, ``uncached()`` (default ``read``) answers instead.
        """
        key = self._key()
        if key is None:
            return (uncached or read)()
        if key != self._current:
            self._values.clear()
            self._current = key
        elif name in self._values:
            return self._values[name]
        value = read()
        if self._key() == key and self._current == key:
            if len(self._values) >= self._size:
                self._values.pop(next(iter(self._values)))
            self._values[name] = value
        return value

    def clear(self) -> None:
        """Forget every kept value."""
        self._values.clear()
        self._current = None
