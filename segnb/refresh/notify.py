"""Notification e-mails: a refresh finished or failed, a segment expires soon.

A segment with a notification address (``email=`` at creation) gets an
e-mail when a scheduled refresh or notebook run writes a new version of it
or fails to, and a warning ``SegNB.expiry_warning_days`` days before it
expires (once per expiry date). Mail goes through the SMTP server of the
``SegNB.smtp_*`` settings; every attempt is logged in the store's
``segnb_notices`` table (sent, failed, or skipped when no server is set),
and a mail error never stops a refresh.

Examples
--------
>>> mailer = Mailer("smtp.example.com", 587, tls="starttls", user="bot")   # doctest: +SKIP
>>> mailer.send("team@example.com", "hello", "body")                        # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from segnb.config import SegNB
from segnb.errors import SegnbError
from segnb.segments.status import segment_today
from segnb.times import utcnow

if TYPE_CHECKING:
    from segnb.workspace import Workspace

__all__ = [
    "Mailer",
    "NotificationError",
    "notices",
    "notify",
    "notify_failed",
    "notify_refreshed",
    "warn_expiring",
]

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class NotificationError(SegnbError, RuntimeError):
    """An e-mail could not be sent (server unreachable, login refused, …)."""


@dataclass(frozen=True)
class Mailer:
    """An SMTP server to send notification e-mails through.

    Parameters
    ----------
    host, port
        The server; port 0 means 587 (starttls), 465 (ssl) or 25 (none).
    tls
        ``"starttls"``, ``"ssl"`` (implicit TLS) or ``"none"``.
    user, password
        Login, when the server wants one.
    sender
        The From address.
    """

    host: str
    port: int = 0
    tls: str = "starttls"
    user: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.tls not in DEFAULT_PORTS:
            raise NotificationError(f"SMTP tls={self.tls!r}; use one of {', '.join(DEFAULT_PORTS)}")

    @classmethod
    def from_config(cls, config: Any = None) -> Mailer | None:
        """The mailer of the ``SegNB.smtp_*`` settings; None when no host is set."""
        if config is None:
            config = SegNB()
        if not config.smtp_host:
            return None
        return cls(
            host=config.smtp_host,
            port=config.smtp_port,
            tls=config.smtp_tls.lower(),
            user=config.smtp_user,
            password=config.smtp_password,
            sender=config.smtp_sender,
        )

    def __repr__(self) -> str:
        login = f" user={self.user!r}" if self.user else ""
        return (
            f"<segnb.Mailer {self.host}:{self.port or DEFAULT_PORTS[self.tls]} {self.tls}{login}>"
        )

    def send(self, to: str | list[str], subject: str, body: str) -> None:
        """Send one plain-text e-mail; :class:`NotificationError` when it cannot."""
        recipients = [to] if isinstance(to, str) else list(to)
        message = EmailMessage()
        message["From"] = self.sender or f"segnb@{socket.gethostname()}"
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message.set_content(body)
        port = self.port or DEFAULT_PORTS[self.tls]
        try:
            if self.tls == "ssl":
                client = smtplib.SMTP_SSL(
                    self.host, port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, port, timeout=self.timeout)
            with client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password)
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(
                f"could not send mail through {self.host}:{port} ({self.tls}): "
                f"{str(exc).strip() or type(exc).__name__}"
            ) from exc


# -- the notices log --------------------------------------------------------------


def notify(
    ws: Workspace,
    row: dict[str, Any],
    kind: str,
    subject: str,
    body: str,
    mailer: Mailer | None,
    *,
    key: str | None = None,
) -> str | None:
    """E-mail the segment's notification address and log it; the logged status.

    None when the segment has no address. ``sent``, ``failed`` (the error is
    logged, not raised) or ``skipped`` (no SMTP server configured).
    """
    recipient = row.get("email")
    if not recipient:
        return None
    status, error = "sent", None
    if mailer is None:
        status, error = "skipped", "no SMTP server configured (SegNB.smtp_host)"
    else:
        try:
            mailer.send(recipient, subject, body)
        except NotificationError as exc:
            status, error = "failed", str(exc)
    store = ws.store
    store.insert(
        "notices",
        {
            "id": store.next_id("notices"), "segment_id": row["id"], "segment": row["name"],
            "kind": kind, "key": key, "recipient": recipient, "subject": subject,
            "sent_at": utcnow(), "status": status, "error": error,
        },
    )  # fmt: skip
    return status


def notices(ws: Workspace, segment: str | None = None):
    """The notification log (a pandas DataFrame), oldest first."""
    import pandas as pd

    where = {"segment": segment} if segment else None
    rows = ws.store.select("notices", where, order="id")
    cols = ["segment", "kind", "recipient", "subject", "sent_at", "status", "error"]
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)


def _size(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def notify_refreshed(
    ws: Workspace, row: dict[str, Any], version: dict[str, Any], previous: int | None, mailer
) -> str | None:
    """The e-mail of a new version: size, change, as-of date."""
    size = int(version["size"])
    change = "" if previous is None else f" ({size - previous:+,} since the last version)"
    subject = f"[segnb] {row['name']} refreshed: {size:,} {row['entity']} as of {version['as_of']}"
    body = (
        f"Segment {row['name']!r} has a new version.\n\n"
        f"  version     {version['version']}\n"
        f"  as of       {version['as_of']}\n"
        f"  size        {size:,} {row['entity']}{change}\n"
        f"  written     {version['finished_at']:%Y-%m-%d %H:%M} UTC\n\n"
        f"Report: segnb report {row['name']}\n"
    )
    return notify(ws, row, "refreshed", subject, body, mailer)


def notify_failed(ws: Workspace, row: dict[str, Any], error: str, as_of: Any, mailer) -> str | None:
    """The e-mail of a failed refresh: the error and the version still served."""
    current = None
    if row.get("current_version") is not None:
        current = ws.store.version_row(row["id"], row["current_version"])
    served = (
        "It has no version yet."
        if current is None
        else f"It still serves version {current['version']} (as of {current['as_of']}, "
        f"{_size(current['size'])} {row['entity']})."
    )
    subject = f"[segnb] {row['name']}: refresh as of {as_of} failed"
    body = (
        f"The refresh of segment {row['name']!r} as of {as_of} failed:\n\n"
        f"  {error}\n\n{served}\n\n"
        f"Retry: segnb refresh {row['name']}\n"
    )
    return notify(ws, row, "failed", subject, body, mailer)


def warn_expiring(
    ws: Workspace,
    mailer: Mailer | None,
    *,
    days: int | None = None,
    today: dt.date | None = None,
) -> list[str]:
    """Warn segments expiring within ``days`` (once per expiry date); their names.

    ``days`` defaults to ``SegNB.expiry_warning_days``; ``today`` to today
    in each segment's time zone.
    """

    if days is None:
        days = SegNB().expiry_warning_days
    if not days:
        return []
    warned = []
    store = ws.store
    sent = {
        (r["segment_id"], r["key"])
        for r in store.select("notices", {"kind": "expiring"})
        if r["status"] == "sent"
    }
    for row in store.segment_rows():
        expires = row.get("expires_at")
        if not row.get("email") or expires is None or not ws.ctx.visible(row):
            continue
        day = today or segment_today(ws, row)
        left = (expires - day).days
        key = f"expires:{expires}"
        if not 0 <= left <= days or (row["id"], key) in sent:
            continue
        when = "today" if left == 0 else "tomorrow" if left == 1 else f"in {left} days"
        subject = f"[segnb] {row['name']} expires {when} ({expires})"
        body = (
            f"Segment {row['name']!r} expires on {expires} ({when}). After that it cannot "
            "feed segment sets, operation plans or lookalike seeds.\n\n"
            f"Extend it: segnb's ws.segment({row['name']!r}).extend(expires=...) or "
            f"%segment extend {row['name']} YYYY-MM-DD\n"
        )
        if notify(ws, row, "expiring", subject, body, mailer, key=key) == "sent":
            warned.append(row["name"])
    return warned
