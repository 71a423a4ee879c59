"""``segnb refresh``: which daily segments are due (time zones), in dependency order, isolated.

Run on every backend: one failing segment in the middle of a batch leaves the
others refreshed, keeps serving its last good version, is recorded and
notified, and the segment built on it is skipped.
"""

from __future__ import annotations

import datetime

import pandas as pd
import pytest
from store_tools import AS_OF

from segnb import cli
from segnb.errors import InvalidValueError
from segnb.refresh.due import RefreshReport, due_segments, refresh_segments
from segnb.segments.graph import Graph

pytest_plugins = ("store_helpers",)

BEFORE = AS_OF - datetime.timedelta(days=1)
BUYERS = "count(purchase, T-6..T) >= 1"


class Recorder:
    """A mailer that keeps what it would send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to, subject, body) -> None:
        self.sent.append((to, subject, body))


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc)


def test_due_depends_on_each_segments_time_zone(store_ws):
    ws = store_ws
    ws.create_segment("east", BUYERS, as_of=AS_OF, refresh="daily", tz="Asia/Shanghai")
    ws.create_segment("west", BUYERS, as_of=AS_OF, refresh="daily", tz="America/Los_Angeles")
    ws.create_segment("utc", BUYERS, as_of=AS_OF, refresh="daily")
    ws.create_segment("once", BUYERS, as_of=BEFORE)  # never due: refresh once
    # 2025-03-31 17:00 UTC: already April 1st in Shanghai, still the 31st in LA and UTC
    assert due_segments(ws, now=utc(2025, 3, 31, 17)) == ["east"]
    # 2025-04-01 05:00 UTC: the 1st in UTC too, still the 31st (22:00) in LA
    assert due_segments(ws, now=utc(2025, 4, 1, 5)) == ["east", "utc"]
    assert due_segments(ws, now=utc(2025, 4, 1, 9)) == ["east", "utc", "west"]
    assert due_segments(ws, now=utc(2025, 3, 31, 12)) == []
    assert due_segments(ws, as_of=AS_OF) == []  # every version is as of that day
    assert due_segments(ws, as_of=AS_OF + datetime.timedelta(days=1)) == ["east", "utc", "west"]
    report = refresh_segments(ws, due=True, now=utc(2025, 3, 31, 17), mailer=None)
    assert [(o.name, o.status, o.as_of) for o in report.outcomes] == [
        ("east", "refreshed", datetime.date(2025, 4, 1))
    ]
    assert due_segments(ws, now=utc(2025, 3, 31, 17)) == []
    with pytest.raises(InvalidValueError, match="aware"):
        due_segments(ws, now=datetime.datetime(2025, 3, 31, 17))


def test_expired_and_private_segments_are_not_due(ws_factory):
    ws = ws_factory()
    soon = datetime.date.today() + datetime.timedelta(days=2)
    ws.create_segment("lapsing", BUYERS, as_of=BEFORE, refresh="daily", expires=soon)
    ws_factory(owner="other").create_segment(
        "theirs", BUYERS, as_of=BEFORE, refresh="daily", scope="private"
    )
    assert due_segments(ws) == ["lapsing"]
    later = datetime.datetime.combine(soon + datetime.timedelta(days=1), datetime.time(12))
    assert due_segments(ws, now=later.replace(tzinfo=datetime.timezone.utc)) == []


def _batch(ws, tmp_table: str):
    """Daily segments, created as of the day before: names sort against dependency order."""
    frame = pd.DataFrame({"uid": [1, 2, 3, 5, 8, 13, 21, 34]})
    ws.con.create_table(tmp_table, frame, temp=ws.con.name == "duckdb")  # the file is only read
    opts = {"as_of": BEFORE, "refresh": "daily"}
    ws.create_segment("z_buyers", BUYERS, **opts)
    ws.create_segment("y_members", "is_member", **opts)
    ws.from_table("x_crm", table=tmp_table, id_column="uid", email="crm@example.com", **opts)
    ws.create_segment("c_loyal", "z_buyers & y_members", **opts)  # sets
    ws.create_segment("b_crm_buyers", "x_crm & z_buyers", email="crm@example.com", **opts)
    ws.create_segment("a_vip", "in_segment(c_loyal) and not is_black_list", **opts)
    ws.create_segment("weekly", BUYERS, as_of=BEFORE)  # once: not due


def test_dependency_order(store_ws):
    ws = store_ws
    _batch(ws, f"crm_{ws.schema}_order")
    order = due_segments(ws, as_of=AS_OF)
    assert set(order) == {"z_buyers", "y_members", "x_crm", "c_loyal", "b_crm_buyers", "a_vip"}
    graph = Graph.of(ws.ctx)
    for use in graph.edges:
        if use.user in order:
            assert order.index(use.used) < order.index(use.user), use
    assert {u.used for u in graph.used_by("a_vip")} == {"c_loyal"}
    assert {u.used for u in graph.used_by("c_loyal")} == {"z_buyers", "y_members"}


def test_a_failure_in_the_middle_leaves_the_others_done(store_ws):
    ws = store_ws
    table = f"crm_{ws.schema}_fail"
    _batch(ws, table)
    old = {s.name: (s.version, s.size) for s in ws.segments()}
    crm_members = set(ws.segment("x_crm").members().to_pyarrow().column(0).to_pylist())
    ws.con.drop_table(table)  # the CRM export vanished: x_crm cannot be rebuilt
    mailer = Recorder()
    report = refresh_segments(ws, due=True, as_of=AS_OF, mailer=mailer)
    status = {o.name: o.status for o in report.outcomes}
    assert status == {
        "z_buyers": "refreshed", "y_members": "refreshed", "x_crm": "failed",
        "c_loyal": "refreshed", "b_crm_buyers": "skipped", "a_vip": "refreshed",
    }  # fmt: skip
    assert report.exit_code == 1 and [o.name for o in report.failed] == ["x_crm"]
    for name in ("z_buyers", "y_members", "c_loyal", "a_vip"):
        seg = ws.segment(name)
        assert seg.version == old[name][0] + 1 and seg.history()["as_of"].iloc[-1] == AS_OF
        assert seg.status == "active"
    crm = ws.segment("x_crm")
    assert crm.status == "failed" and table in crm.error
    assert crm.version == old["x_crm"][0] and crm.size == old["x_crm"][1]
    assert set(crm.members().to_pyarrow().column(0).to_pylist()) == crm_members  # still served
    assert list(crm.runs()["status"]) == ["succeeded", "failed"]
    skipped = ws.segment("b_crm_buyers")
    assert skipped.status == "active" and skipped.version == old["b_crm_buyers"][0]
    last = skipped.runs().iloc[-1]
    assert last["status"] == "skipped" and "x_crm" in last["error"]
    # the failure was e-mailed to the segment's address; the skip was not an e-mail
    assert [(to, subject) for to, subject, _ in mailer.sent] == [
        ("crm@example.com", f"[segnb] x_crm: refresh as of {AS_OF} failed")
    ]
    body = mailer.sent[0][2]
    assert table in body and f"still serves version {old['x_crm'][0]}" in body
    assert report["x_crm"].notified == "sent" and report["z_buyers"].notified is None
    text = str(report)
    assert text.startswith("refreshed 4 of 6 segments, 1 failed, 1 skipped")
    assert "x_crm" in text and "skipped" in text
    assert due_segments(ws, as_of=AS_OF) == ["x_crm", "b_crm_buyers"]  # retried next time


def test_named_and_all(store_ws):
    ws = store_ws
    ws.create_segment("z_buyers", BUYERS, as_of=BEFORE, refresh="daily")
    ws.create_segment("combo", "z_buyers & z_buyers", as_of=BEFORE)
    report = refresh_segments(ws, ["combo", "z_buyers"], as_of=AS_OF, mailer=None, warn=False)
    assert [o.name for o in report.outcomes] == ["z_buyers", "combo"]  # dependency order
    frame = report.to_frame()
    assert list(frame["status"]) == ["refreshed"] * 2 and (frame["as_of"] == AS_OF).all()
    everything = refresh_segments(ws, all=True, as_of=AS_OF, mailer=None, warn=False)
    assert len(everything.outcomes) == 2 and everything.exit_code == 0
    assert str(refresh_segments(ws, due=True, as_of=AS_OF, mailer=None)) == "nothing to refresh"
    with pytest.raises(InvalidValueError, match="one of them"):
        refresh_segments(ws, ["combo"], due=True)


def test_cli_refresh_calls_refresh_segments(monkeypatch, tmp_path):
    seen = {}

    class FakeWs:
        pass

    def fake_refresh(ws, names, **kwargs):
        seen["call"] = (names, kwargs)
        return RefreshReport()

    import contextlib

    @contextlib.contextmanager
    def fake_workspace(target):
        seen["target"] = target
        yield FakeWs()

    monkeypatch.setattr("segnb.refresh.due.refresh_segments", fake_refresh)
    monkeypatch.setattr("segnb.refresh.session.workspace", fake_workspace)
    url = f"duckdb:///{tmp_path}/w.duckdb"
    assert cli.main(["refresh", "--due", "--as-of", "2025-04-01", "--url", url, "--quiet"]) == 0
    names, kwargs = seen["call"]
    assert names is None and kwargs == {
        "due": True,
        "all": False,
        "as_of": datetime.date(2025, 4, 1),
        "progress": False,
    }
    assert seen["target"].url == url
    assert cli.main(["refresh", "a", "b", "--url", url]) == 0
    assert seen["call"][0] == ["a", "b"]
    assert cli.main(["refresh", "--url", url]) == 2  # nothing named
    # --only-at outside its time: nothing runs
    seen.clear()
    assert cli.main(["refresh", "--due", "--url", url, "--only-at", _not_now(), "--tz", "UTC"]) == 0
    assert "call" not in seen


def _not_now() -> str:
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3)
    return f"{now:%H}:00"
