"""What the engine is told by its caller: owner, default group, store schema, lock wait.

The engine reads no configuration file. The faces (magics, CLI, reports,
refresh) and :func:`segnb.connect` read ``segnb.toml`` and the ``SegNB``
traitlets settings, and pass a :class:`Settings` in.
"""

from __future__ import annotations

import dataclasses
import getpass

__all__ = ["Settings", "os_user"]


def os_user() -> str:
    """The operating-system user ("unknown" where there is no user database)."""
    try:
        return getpass.getuser()
    except Exception:  # no user database (containers)
        return "unknown"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Engine settings; ``replace(owner="alice")`` gives a changed copy.

    Examples
    --------
    >>> Settings(owner="alice").default_group
    'Default Group'
    """

    owner: str = dataclasses.field(default_factory=os_user)
    default_group: str = "Default Group"
    store_schema: str = "segnb"
    keep_versions: int = 3
    lock_wait: float = 30.0
    read_only: bool = False
    #: on Spark, where the store's metadata lives (a DuckDB file or postgres:// URL); None: beside
    store_location: str | None = None

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
