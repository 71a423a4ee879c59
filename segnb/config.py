"""Settings shared by the magics, widgets and CLI: one traitlets Configurable.

In a notebook: ``%config SegNB.displaylimit = 50`` (``%config SegNB`` lists
them all). A setting not given there, nor in an IPython profile
(``c.SegNB.owner = "alice"``), is read from the ``[settings]`` table of
``segnb.toml`` in the working directory; ``url`` may also stand at the top
of that file, where the catalog's default connection lives (SPEC §1):

.. code-block:: toml

    url = "duckdb:///warehouse.duckdb"
    [settings]
    displaylimit = 20
    default_group = "Growth"
    owner = "alice"
    timezone = "Asia/Shanghai"

Examples
--------
>>> from segnb.config import SegNB
>>> SegNB(displaylimit=5).displaylimit
5
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from traitlets import Bool, CaselessStrEnum, Float, Int, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from segnb.catalog.model import CONFIG_FILE, read_toml
from segnb.errors import SegnbError
from segnb.settings import os_user
from segnb.times import today

__all__ = ["SETTINGS_TABLE", "SegNB", "file_settings"]

SETTINGS_TABLE = "settings"


def file_settings(directory: str | Path | None = None) -> dict[str, Any]:
    """The ``[settings]`` of ``segnb.toml`` in ``directory`` (default: the working directory).

    A top-level ``url`` counts as the ``url`` setting unless ``[settings]``
    names one. A missing file gives ``{}``; an unreadable one a warning and ``{}``.
    """

    path = Path(directory or Path.cwd()) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        spec = read_toml(path)
    except SegnbError as exc:
        warnings.warn(f"segnb settings: {exc}", stacklevel=2)
        return {}
    table = spec.get(SETTINGS_TABLE) or {}
    if not isinstance(table, dict):
        warnings.warn(f"segnb settings: [{SETTINGS_TABLE}] in {path} is not a table", stacklevel=2)
        table = {}
    out = dict(table)
    if "url" not in out and isinstance(spec.get("url"), str):
        out["url"] = spec["url"]
    return out


class SegNB(Configurable):
    """segnb settings (``%config SegNB.<name> = value`` in a notebook)."""

    url = Unicode(
        help="Default warehouse URL for magics, CLI and reports ('%segnb connect' with no URL)."
    ).tag(config=True)
    displaylimit = Int(
        help="Rows of members and history tables returned by the magics (0: all)."
    ).tag(config=True)
    default_group = Unicode(help="Group of new segments.").tag(config=True)
    owner = Unicode(help="Owner recorded on new segments (default: the OS user).").tag(config=True)
    timezone = Unicode(
        help="IANA time zone for 'today' and event windows (default: local time)."
    ).tag(config=True)
    store_schema = Unicode(
        help="Schema of the warehouse holding the segment store (default 'segnb')."
    ).tag(config=True)
    store = Unicode(
        help="On Spark: where the segment store's metadata lives, a DuckDB file or a "
        "postgres:// URL (default: store.duckdb beside the Spark warehouse folder)."
    ).tag(config=True)
    lock_timeout = Float(
        help="Seconds a write waits while another process holds the segment store (DuckDB) "
        "or the same segment (PostgreSQL), before failing with a message naming it."
    ).tag(config=True)
    feedback = Bool(
        help="Print short notes (connections, truncated tables) besides the results."
    ).tag(config=True)
    # notification e-mails of refreshes (segnb.refresh.notify)
    smtp_host = Unicode(
        help="SMTP server for notification e-mails of refreshes (empty: no e-mails are sent)."
    ).tag(config=True)
    smtp_port = Int(help="SMTP port (0: 587 with starttls, 465 with ssl, 25 without TLS).").tag(
        config=True
    )
    smtp_tls = CaselessStrEnum(
        ["starttls", "ssl", "none"],
        default_value="starttls",
        help="TLS to the SMTP server: 'starttls', 'ssl' (implicit TLS) or 'none'.",
    ).tag(config=True)
    smtp_user = Unicode(help="SMTP login (empty: no login).").tag(config=True)
    smtp_password = Unicode(
        help="SMTP password (default: the SEGNB_SMTP_PASSWORD environment variable)."
    ).tag(config=True)
    smtp_sender = Unicode(help="From address of notification e-mails (segnb@<host>).").tag(
        config=True
    )
    expiry_warning_days = Int(
        help="Days before a segment expires that its notification address is warned (0: never)."
    ).tag(config=True)

    _BUILTIN = {
        "url": "",
        "displaylimit": 10,
        "default_group": "Default Group",
        "timezone": "",
        "store_schema": "segnb",
        "lock_timeout": 30.0,
        "store": "",
        "feedback": True,
        "smtp_host": "",
        "smtp_port": 0,
        "smtp_tls": "starttls",
        "smtp_user": "",
        "expiry_warning_days": 3,
    }

    def _from_file(self, name: str) -> Any:
        cached = self.__dict__.get("_file_settings")
        if cached is None:
            cached = file_settings()
            unknown = sorted(set(cached) - set(self.trait_names(config=True)))
            if unknown:
                warnings.warn(
                    f"segnb.toml [{SETTINGS_TABLE}]: unknown setting(s) {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(self.trait_names(config=True)))}",
                    stacklevel=3,
                )
            self.__dict__["_file_settings"] = cached
        return cached.get(name)

    def _file_or(self, name: str, fallback: Any) -> Any:
        value = self._from_file(name)
        return fallback if value is None else value

    @default("url")
    def _url_default(self) -> str:
        return self._file_or("url", self._BUILTIN["url"])

    @default("displaylimit")
    def _displaylimit_default(self) -> int:
        return self._file_or("displaylimit", self._BUILTIN["displaylimit"])

    @default("default_group")
    def _default_group_default(self) -> str:
        return self._file_or("default_group", self._BUILTIN["default_group"])

    @default("owner")
    def _owner_default(self) -> str:
        return self._file_or("owner", None) or os_user()

    @default("timezone")
    def _timezone_default(self) -> str:
        return self._file_or("timezone", self._BUILTIN["timezone"])

    @default("store_schema")
    def _store_schema_default(self) -> str:
        return self._file_or("store_schema", self._BUILTIN["store_schema"])

    @default("store")
    def _store_default(self) -> str:
        return str(self._file_or("store", self._BUILTIN["store"]))

    @default("lock_timeout")
    def _lock_timeout_default(self) -> float:
        return float(self._file_or("lock_timeout", self._BUILTIN["lock_timeout"]))

    @validate("lock_timeout")
    def _check_lock_timeout(self, proposal: Any) -> float:
        if proposal["value"] < 0:
            raise TraitError(f"SegNB.lock_timeout must be 0 s or more, not {proposal['value']}")
        return proposal["value"]

    @default("feedback")
    def _feedback_default(self) -> bool:
        return self._file_or("feedback", self._BUILTIN["feedback"])

    @default("smtp_host")
    def _smtp_host_default(self) -> str:
        return self._file_or("smtp_host", self._BUILTIN["smtp_host"])

    @default("smtp_port")
    def _smtp_port_default(self) -> int:
        return self._file_or("smtp_port", self._BUILTIN["smtp_port"])

    @default("smtp_tls")
    def _smtp_tls_default(self) -> str:
        return self._file_or("smtp_tls", self._BUILTIN["smtp_tls"])

    @default("smtp_user")
    def _smtp_user_default(self) -> str:
        return self._file_or("smtp_user", self._BUILTIN["smtp_user"])

    @default("smtp_password")
    def _smtp_password_default(self) -> str:
        import os

        return self._file_or("smtp_password", None) or os.environ.get("SEGNB_SMTP_PASSWORD", "")

    @default("smtp_sender")
    def _smtp_sender_default(self) -> str:
        import socket

        return self._file_or("smtp_sender", None) or f"segnb@{socket.gethostname()}"

    @default("expiry_warning_days")
    def _expiry_warning_days_default(self) -> int:
        return self._file_or("expiry_warning_days", self._BUILTIN["expiry_warning_days"])

    @validate("smtp_port", "expiry_warning_days")
    def _check_not_negative(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            raise TraitError(f"SegNB.{proposal['trait'].name} cannot be negative")
        return proposal["value"]

    @validate("displaylimit")
    def _check_displaylimit(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            raise TraitError(
                f"SegNB.displaylimit must be 0 (all rows) or more, not {proposal['value']}"
            )
        return proposal["value"]

    @validate("timezone")
    def _check_timezone(self, proposal: Any) -> str:
        value = proposal["value"].strip()
        if value:
            try:
                today(value)
            except SegnbError as exc:
                raise TraitError(f"SegNB.timezone: {exc}") from None
        return value

    @validate("default_group", "owner")
    def _check_name(self, proposal: Any) -> str:
        value = proposal["value"]
        if not value.strip():
            raise TraitError(f"SegNB.{proposal['trait'].name} cannot be empty")
        return value

    @validate("store_schema")
    def _check_schema(self, proposal: Any) -> str:
        import re

        value = proposal["value"]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", value):
            raise TraitError(
                f"SegNB.store_schema {value!r} is not a plain name; use letters, digits and _"
            )
        return value
