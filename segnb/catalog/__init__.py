"""The catalog: which tables hold entities, tags and events, and their types.

``spec`` reads and checks the catalog as written (a dict or ``segnb.toml``),
``resolve`` looks its tables and columns up in the warehouse and types them,
``model`` holds the result (:class:`Catalog`, :class:`Entity`, …).
"""

from __future__ import annotations

from segnb.catalog.model import Catalog, Entity, EventSource, Field, TagSource
from segnb.catalog.spec import CONFIG_FILE, read_toml, stored_spec

__all__ = [
    "CONFIG_FILE",
    "Catalog",
    "Entity",
    "EventSource",
    "Field",
    "TagSource",
    "read_toml",
    "stored_spec",
]
