"""Notification e-mails through a real SMTP server: a local aiosmtpd on 127.0.0.1.

The SMTP settings come from ``segnb.toml`` ``[settings]`` as a user would
write them; refresh results, failures and expiry warnings arrive as e-mails.
"""

from __future__ import annotations

import datetime
import email
import email.policy

import pytest
from store_tools import AS_OF

from segnb import cli
from segnb.config import SegNB
from segnb.refresh.due import refresh_segments
from segnb.refresh.notify import Mailer, NotificationError, notices, warn_expiring
from segnb.reports.render import free_port

pytest_plugins = ("store_helpers",)
aiosmtpd = pytest.importorskip("aiosmtpd.controller")

BEFORE = AS_OF - datetime.timedelta(days=1)


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.hostname, controller.port, inbox
    controller.stop()


@pytest.fixture
def backend(duckdb_backend):
    """DuckDB only: what the e-mails say does not depend on the backend (test_refresh_due.py
    checks notifications on every backend)."""
    return duckdb_backend


@pytest.fixture
def duck_ws(ws_factory):
    return ws_factory()


def test_mailer_sends_plain_text(smtp):
    host, port, inbox = smtp
    Mailer(host, port, tls="none", sender="segnb@example.com").send(
        ["a@example.com", "b@example.com"], "hello", "line one\nline two"
    )
    (message,) = inbox.messages
    assert message["Subject"] == "hello" and message["From"] == "segnb@example.com"
    assert message["X-Envelope-To"] == "a@example.com, b@example.com"
    assert message.get_content().splitlines() == ["line one", "line two"]


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(NotificationError, match=r"could not send mail through 127.0.0.1:\d+"):
        Mailer("127.0.0.1", free_port(), tls="none", timeout=5).send("a@example.com", "s", "b")
    with pytest.raises(NotificationError, match="tls='tls'"):
        Mailer("localhost", tls="tls")


def test_settings_come_from_segnb_toml(tmp_path, monkeypatch):
    (tmp_path / "segnb.toml").write_text(
        '[settings]\nsmtp_host = "mail.example.com"\nsmtp_port = 2525\nsmtp_tls = "none"\n'
        'smtp_user = "bot"\nsmtp_sender = "segnb@example.com"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGNB_SMTP_PASSWORD", "s3cret")
    mailer = Mailer.from_config()
    assert mailer == Mailer("mail.example.com", 2525, "none", "bot", "s3cret", "segnb@example.com")
    assert "s3cret" not in repr(mailer)
    assert Mailer.from_config(SegNB(smtp_host="")) is None


def test_refresh_results_and_failures_arrive_by_mail(duck_ws, smtp):
    ws = duck_ws
    host, port, inbox = smtp
    ws.con.create_table("crm_src", schema={"uid": "int64"}, temp=True)  # the file is only read
    ws.con.insert("crm_src", [{"uid": 1}, {"uid": 2}])
    ws.create_segment("buyers", "count(purchase, T-6..T) >= 1", as_of=BEFORE, refresh="daily",
                      email="growth@example.com")  # fmt: skip
    ws.from_table("crm", table="crm_src", id_column="uid", as_of=BEFORE, refresh="daily",
                  email="crm@example.com")  # fmt: skip
    ws.create_segment("quiet", "is_member", as_of=BEFORE, refresh="daily")  # no address
    before = ws.segment("buyers").size
    ws.con.drop_table("crm_src")
    mailer = Mailer(host, port, tls="none", sender="segnb@example.com")
    report = refresh_segments(ws, due=True, as_of=AS_OF, mailer=mailer, warn=False)
    assert {o.name: o.status for o in report.outcomes} == {
        "buyers": "refreshed",
        "crm": "failed",
        "quiet": "refreshed",
    }
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"growth@example.com", "crm@example.com"}
    done = by_to["growth@example.com"]
    size = ws.segment("buyers").size
    assert done["Subject"] == f"[segnb] buyers refreshed: {size:,} users as of {AS_OF}"
    assert f"({size - before:+,} since the last version)" in done.get_content()
    failed = by_to["crm@example.com"]
    assert failed["Subject"] == f"[segnb] crm: refresh as of {AS_OF} failed"
    assert "crm_src" in failed.get_content() and "still serves version 1" in failed.get_content()
    log = notices(ws)
    assert list(log["status"]) == ["sent", "sent"] and set(log["kind"]) == {"refreshed", "failed"}


def test_expiry_warnings_once_per_date(duck_ws, smtp):
    ws = duck_ws
    host, port, inbox = smtp
    today = datetime.date(2030, 1, 10)
    ws.create_segment("lapsing", "is_member", as_of=AS_OF, expires="2030-01-12",
                      email="owner@example.com")  # fmt: skip
    ws.create_segment("later", "is_member", as_of=AS_OF, expires="2030-03-01",
                      email="owner@example.com")  # fmt: skip
    mailer = Mailer(host, port, tls="none")
    assert warn_expiring(ws, mailer, days=3, today=today) == ["lapsing"]
    assert warn_expiring(ws, mailer, days=3, today=today) == []  # once per expiry date
    assert inbox.subjects() == ["[segnb] lapsing expires in 2 days (2030-01-12)"]
    assert "extend" in inbox.messages[0].get_content()
    ws.segment("lapsing").extend("2030-01-13")
    assert warn_expiring(ws, mailer, days=3, today=today) == ["lapsing"]  # a new date
    assert warn_expiring(ws, mailer, days=0, today=today) == []


def test_without_a_server_notices_are_logged_as_skipped(duck_ws):
    ws = duck_ws
    ws.create_segment("buyers", "is_member", as_of=BEFORE, refresh="daily",
                      email="growth@example.com")  # fmt: skip
    report = refresh_segments(ws, due=True, as_of=AS_OF, mailer=None, warn=False)
    assert report["buyers"].notified == "skipped"
    assert notices(ws, "buyers")["error"].iloc[0].startswith("no SMTP server configured")


def test_cli_refresh_mails_through_the_configured_server(ws_factory, smtp, monkeypatch):
    """`segnb refresh --due` as cron runs it: SMTP settings and the warehouse from segnb.toml."""
    host, port, inbox = smtp
    ws = ws_factory()
    ws.create_segment("buyers", "is_member", as_of=BEFORE, refresh="daily",
                      email="growth@example.com")  # fmt: skip
    path = ws.path
    ws.con.disconnect()  # the command opens the file itself
    work = path.parent
    (work / "segnb.toml").write_text(
        f'url = "duckdb:///{path.name}"\n[settings]\nsmtp_host = "{host}"\nsmtp_port = {port}\n'
        'smtp_tls = "none"\nowner = "tester"\n'
    )
    monkeypatch.chdir(work)
    assert cli.main(["refresh", "--due", "--as-of", str(AS_OF), "--quiet"]) == 0
    assert inbox.subjects()[0].startswith("[segnb] buyers refreshed:")
