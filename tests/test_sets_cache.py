"""Set sizes reuse the store's rows between calls, and never serve a replaced version.

Beside a DuckDB warehouse the store is a file of its own that several
processes share; a set size reads it once and then answers from memory until
this or another process changes the store.
"""

from __future__ import annotations

import datetime
import time

import pytest
from store_tools import AS_OF, pg_url, run_child

from segnb.errors import SegmentStateError
from segnb.segments import status
from segnb.store import database
from segnb.store.cache import RACY_SECONDS

pytest_plugins = ("store_helpers",)  # the store_ws and ws_factory fixtures

CHILD = """
import segnb
ws = segnb.connect({url!r})
ws.open_store({schema!r}, owner="tester")
seg = ws.segment("a").redefine("not is_member", as_of={as_of!r})
print(seg.version, ws.set_size("a & b"), ws.set_size("a | b"))
"""


def _two(ws) -> None:
    ws.create_segment("a", rules="is_member", as_of=AS_OF)
    ws.create_segment("b", rules="channel = 'ads'", as_of=AS_OF)


def _settle() -> None:
    """Wait until the store file's last change is older than the file-time resolution guard."""
    time.sleep(RACY_SECONDS + 0.05)


def _attaches(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = database.attach

    def counting(raw, path, *args, **kwargs):
        calls.append(path)
        return real(raw, path, *args, **kwargs)

    monkeypatch.setattr(database, "attach", counting)
    return calls


def test_a_refresh_in_another_process_is_seen(store_ws):
    ws = store_ws
    _two(ws)
    _settle()
    before = ws.set_size("a & b"), ws.set_size("a | b")
    assert ws.set_size("a & b") == before[0]  # answered from memory
    target = str(ws.path) if ws.backend == "duckdb" else pg_url(ws.con)
    code = CHILD.format(url=target, schema=ws.schema, as_of=str(AS_OF))
    rc, out, err = run_child(code)
    assert rc == 0, out + err
    version, inter, union = (int(x) for x in out.split())
    assert version == 2 and (inter, union) != before
    # at once, and again once the store file has settled: the other process's version
    assert (ws.set_size("a & b"), ws.set_size("a | b")) == (inter, union)
    _settle()
    assert (ws.set_size("a & b"), ws.set_size("a | b")) == (inter, union)
    assert ws.segment("a").version == 2
    assert len(ws.set_bitmap("a & b")) == inter
    assert int(ws.overlap(["a", "b"]).at["a", "b"]) == inter


def test_a_redefinition_in_another_workspace_of_this_process_is_seen(ws_factory):
    first, second = ws_factory(), ws_factory()
    _two(first)
    _settle()
    before = second.set_size("a - b")
    first.segment("a").redefine("not is_member", as_of=AS_OF)
    after = first.set_size("a - b")
    assert after != before
    assert second.set_size("a - b") == after
    _settle()
    assert second.set_size("a - b") == after
    assert second.segment("a").version == 2


def test_set_sizes_on_a_settled_store_attach_nothing(store_ws, monkeypatch):
    ws = store_ws
    _two(ws)
    expected = ws.set_size("a & b")
    _settle()
    ws.set_size("a & b")  # reads the rows once more, now that the file has settled
    calls = _attaches(monkeypatch)
    for _ in range(5):
        assert ws.set_size("a & b") == expected
        ws.estimate("a | b")
        ws.overlap(["a", "b"])
        ws.set_bitmap("a - b")
    assert calls == []
    ws.segment("b").refresh(as_of=AS_OF)  # this process's own write: read afresh after it
    n = len(calls)
    assert ws.set_size("a & b") == expected
    assert len(calls) > n or ws.backend != "duckdb"


def test_a_segment_that_expires_while_kept_is_refused(store_ws, monkeypatch):
    ws = store_ws
    ws.create_segment("a", rules="is_member", as_of=AS_OF, expires="2999-01-01")
    ws.create_segment("b", rules="channel = 'ads'", as_of=AS_OF)
    _settle()
    size = ws.set_size("a & b")
    assert ws.set_size("a & b") == size  # kept
    monkeypatch.setattr(status, "today", lambda tz=None: datetime.date(2999, 1, 2))
    with pytest.raises(SegmentStateError, match="expired"):
        ws.set_size("a & b")
    with pytest.raises(SegmentStateError, match="expired"):
        ws.overlap(["b", "a"])
