"""The catalog as written: a dict or a ``segnb.toml`` file, read and checked key by key.

A spec is plain data shaped like ``segnb.toml`` (SPEC §1)::

    [entities.users]
    table = "customers"
    id = "customer_id"
    tags = { table = "customer_tags", id = "customer_id", date = "dt" }

This module reads it (from a dict, a file, or the ``segnb_catalog`` table a
warehouse may carry) and checks its settings by name; whether the tables and
columns exist is :mod:`segnb.catalog.resolve`'s question.

Examples
--------
>>> find_spec({"entities": {"users": {"table": "customers", "id": "customer_id"}}}, None)
{'entities': {'users': {'table': 'customers', 'id': 'customer_id'}}}
"""

from __future__ import annotations

import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segnb.errors import CatalogError
from segnb.hints import did_you_mean

__all__ = [
    "CATALOG_TABLE",
    "CONFIG_FILE",
    "ENTITY_KEYS",
    "EVENT_KEYS",
    "TAG_KEYS",
    "TYPES",
    "as_list",
    "check_keys",
    "find_spec",
    "label",
    "read_toml",
    "require",
    "stored_spec",
]

#: the types a tag, attribute or event field can have
TYPES = ("enum", "boolean", "datetime", "number")
#: the warehouse table holding a catalog as TOML (``segnb demo`` writes one)
CATALOG_TABLE = "segnb_catalog"
#: the settings file of a working directory
CONFIG_FILE = "segnb.toml"

#: the settings of an ``[entities.<name>]`` section
ENTITY_KEYS = frozenset(
    {"table", "id", "ids", "tags", "events", "types", "labels", "descriptions", "exclude",
     "label", "description"}
)  # fmt: skip
#: the settings of a tags table
TAG_KEYS = frozenset(
    {"table", "id", "date", "types", "labels", "descriptions", "exclude", "entity_ids"}
)
#: the settings of an events table
EVENT_KEYS = frozenset(
    {"table", "id", "time", "name", "event", "names", "types", "labels", "descriptions",
     "event_labels", "event_descriptions", "exclude", "entity_ids"}
)  # fmt: skip

_KEY_HELP = {
    "table": "table name",
    "id": "column holding the entity id",
    "date": "column holding the snapshot date",
    "time": "column holding the event time",
}


# -- reading ------------------------------------------------------------------------


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``segnb.toml`` file, with errors that name the file and line.

    Parameters
    ----------
    path
        The file to read.

    Returns
    -------
    dict
        The parsed TOML.

    Raises
    ------
    CatalogError
        When the file is missing or is not valid TOML.
    """
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise CatalogError(f"catalog file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: {exc}") from None


def stored_spec(con: Any) -> dict[str, Any] | None:
    """The catalog a warehouse carries in its ``segnb_catalog`` table, if any.

    Parameters
    ----------
    con
        A connected Ibis backend.

    Returns
    -------
    dict or None
        The parsed spec; None when the warehouse has no (or an empty) catalog table.
    """
    try:
        if CATALOG_TABLE not in con.list_tables():
            return None
        rows = con.table(CATALOG_TABLE).to_pyarrow().column("toml").to_pylist()
    except Exception:
        return None
    if not rows:
        return None
    try:
        return tomllib.loads(rows[0])
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"the warehouse's {CATALOG_TABLE} table holds bad TOML: {exc}") from None


def find_spec(source: Any, con: Any) -> dict[str, Any]:
    """The catalog spec dict for ``source``.

    Parameters
    ----------
    source
        A dict shaped like ``segnb.toml``, a path to such a file, or None: the
        catalog stored in the warehouse's ``segnb_catalog`` table.
    con
        The Ibis backend to look in when ``source`` is None.

    Returns
    -------
    dict
        The spec, not yet checked against the warehouse.
    """
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, (str, os.PathLike)):
        return read_toml(Path(source))
    if source is not None:
        raise CatalogError(
            f"catalog= takes a dict, a path to segnb.toml or a Catalog, not {type(source).__name__}"
        )
    stored = stored_spec(con)
    if stored is not None:
        return stored
    raise CatalogError(
        "no catalog: pass catalog= (a dict or a path to segnb.toml), or put a segnb.toml "
        "with [entities.<name>] sections in the working directory"
    )


# -- checking settings by name ----------------------------------------------------------


def check_keys(body: Any, allowed: frozenset[str], where: str) -> None:
    """Refuse a section that is not a table, or that has a setting not in ``allowed``.

    Parameters
    ----------
    body
        The section's settings.
    allowed
        The setting names it may have (:data:`ENTITY_KEYS`, :data:`TAG_KEYS`, :data:`EVENT_KEYS`).
    where
        The section, as the error names it (``"[entities.users]"``).
    """
    if not isinstance(body, Mapping):
        raise CatalogError(f"{where} must be a table of settings, not {type(body).__name__}")
    for key in body:
        if key not in allowed:
            raise CatalogError(
                f"{where} has an unknown setting {key!r}{did_you_mean(key, sorted(allowed))}"
            )


def require(body: Mapping[str, Any], key: str, where: str) -> str:
    """The non-empty string setting ``key`` of a section, or an error saying what it holds.

    Parameters
    ----------
    body
        The section's settings.
    key
        The required setting.
    where
        The section, as the error names it.
    """
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CatalogError(f'{where} needs {key} = "..." (a {_KEY_HELP.get(key, key)})')
    return value


def as_list(value: Any) -> list[Mapping[str, Any]]:
    """``tags =`` and ``events =`` as a list of sections: one table, a list of them, or none.

    Parameters
    ----------
    value
        The setting as written.
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return value
    raise CatalogError(f"tags and events take a table of settings or a list of them, not {value!r}")


def label(name: str) -> str:
    """The default label of a column or entity: ``last_seen`` -> ``Last seen``.

    Examples
    --------
    >>> label("last_seen")
    'Last seen'
    """
    return name.replace("_", " ").strip().capitalize() or name
