"""Settings shared by the magics, widgets and CLI: one traitlets Configurable.

In a notebook: ``%config SegNB.displaylimit = 50``. Values not set there
are read from ``segnb.toml`` in the working directory (``[settings]``).
"""

from __future__ import annotations

import getpass

from traitlets import Int, Unicode, default
from traitlets.config import Configurable

__all__ = ["SegNB"]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers)
        return "unknown"


class SegNB(Configurable):
    """segnb settings."""

    url = Unicode("", help="Default warehouse URL for magics, CLI and reports.").tag(config=True)
    displaylimit = Int(
        10, min=0, help="Rows shown of members and history tables (0: all)."
    ).tag(config=True)
    default_group = Unicode("Default Group", help="Group of new segments.").tag(config=True)
    owner = Unicode(help="Owner recorded on new segments (default: the OS user).").tag(config=True)
    timezone = Unicode(
        "", help="IANA time zone for 'today' and event windows (default: local time)."
    ).tag(config=True)

    @default("owner")
    def _owner_default(self) -> str:
        return _os_user()
