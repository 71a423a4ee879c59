"""The catalog: which tables of the warehouse hold entities, tags and events.

A catalog is declared as a dict or a ``segnb.toml`` file (SPEC §1) and
resolved against the connected warehouse: every table and column is checked
to exist, and each column's type (enum, boolean, datetime, number) is
inferred from the schema unless overridden.

Examples
--------
>>> spec = {"entities": {"users": {"table": "customers", "id": "customer_id",
...          "tags": {"table": "customer_tags", "id": "customer_id", "date": "dt"}}}}
>>> catalog = Catalog.load(spec, con)          # doctest: +SKIP
>>> catalog.entity().tag("city").type          # doctest: +SKIP
'enum'
"""

from __future__ import annotations

import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from segnb.errors import CatalogError
from segnb.hints import closest

__all__ = [
    "CATALOG_TABLE",
    "CONFIG_FILE",
    "TYPES",
    "Catalog",
    "Entity",
    "EventSource",
    "Field",
    "TagSource",
    "closest",
]

TYPES = ("enum", "boolean", "datetime", "number")
CATALOG_TABLE = "segnb_catalog"
CONFIG_FILE = "segnb.toml"
ENUM_VALUE_LIMIT = 1000


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    guess = closest(name, candidates)
    return f"; did you mean {guess!r}?" if guess else ""


def _label(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


@dataclass(frozen=True)
class Field:
    """A typed column: a tag, an entity attribute or an event field."""

    name: str
    type: str
    dtype: dt.DataType
    label: str
    description: str = ""

    @property
    def is_numeric_enum(self) -> bool:
        return self.type == "enum" and self.dtype.is_numeric()


@dataclass(frozen=True)
class TagSource:
    """A table of daily tag snapshots: ``(id, date, tag1, tag2, …)``."""

    table: str
    id: str
    date: str
    fields: Mapping[str, Field]


@dataclass(frozen=True)
class EventSource:
    """A table of behaviour events: ``(id, time, [name], attr1, …)``.

    Either ``name`` is the column holding each row's event name, or ``event``
    is the one event every row is (an ``orders`` table is all ``purchase``).
    """

    table: str
    id: str
    time: str
    name: str | None
    event: str | None
    fields: Mapping[str, Field]
    declared: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    time_dtype: dt.DataType = dt.timestamp


@dataclass(frozen=True)
class Entity:
    """A target object (users, merchants, …): one row per id plus its tags and events."""

    name: str
    table: str
    id: str
    id_dtype: dt.DataType
    attributes: Mapping[str, Field]
    tags: tuple[TagSource, ...] = ()
    events: tuple[EventSource, ...] = ()
    label: str = ""
    description: str = ""
    id_columns: Mapping[str, dt.DataType] = field(default_factory=dict)
    """Every column that identifies an entity (the id, then ``ids = [...]``), with its type."""

    # -- names ----------------------------------------------------------------

    @property
    def tag_names(self) -> list[str]:
        return [name for source in self.tags for name in source.fields]

    def tag(self, name: str) -> Field:
        """The tag called ``name`` (KeyError if none)."""
        return self.tag_source(name).fields[name]

    def tag_source(self, name: str) -> TagSource:
        for source in self.tags:
            if name in source.fields:
                return source
        raise KeyError(name)

    def has_tag(self, name: str) -> bool:
        return any(name in source.fields for source in self.tags)

    def attribute(self, name: str) -> Field:
        return self.attributes[name]


@dataclass
class Catalog:
    """The resolved catalog of one warehouse: entities with typed tags and events.

    Build it with :meth:`Catalog.load`. Event names and enum values are read
    from the warehouse on first use and cached.
    """

    entities: dict[str, Entity]
    con: Any = field(default=None, repr=False)
    spec: dict[str, Any] = field(default_factory=dict, repr=False)
    _event_names: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _values: dict[tuple[str, str], tuple[list[Any], bool]] = field(default_factory=dict, repr=False)

    # -- loading --------------------------------------------------------------

    @classmethod
    def load(cls, source: Any, con: Any) -> Catalog:
        """Resolve a catalog against a connected Ibis backend.

        Parameters
        ----------
        source
            A dict shaped like ``segnb.toml``, a path to such a file, an
            existing :class:`Catalog`, or None: the catalog stored in the
            warehouse's ``segnb_catalog`` table (``segnb demo`` writes one).
            (:func:`segnb.connect` passes ``segnb.toml`` of the working
            directory when it has ``[entities]``.)
        con
            The Ibis backend holding the tables.
        """
        if isinstance(source, Catalog):
            return source
        spec = cls.find_spec(source, con)
        return cls.from_spec(spec, con)

    @staticmethod
    def find_spec(source: Any, con: Any) -> dict[str, Any]:
        """The catalog spec dict for ``source`` (see :meth:`load`)."""
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

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], con: Any) -> Catalog:
        entities_spec = spec.get("entities")
        if not isinstance(entities_spec, Mapping) or not entities_spec:
            raise CatalogError(
                "the catalog has no entities: add an [entities.users] section "
                "with table = ... and id = ..."
            )
        tables = _TableLookup(con)
        entities = {name: _entity(name, body, tables) for name, body in entities_spec.items()}
        return cls(entities=entities, con=con, spec=dict(spec))

    # -- queries --------------------------------------------------------------

    def entity(self, name: str | None = None) -> Entity:
        """The target object called ``name``; the first declared when None."""
        if name is None:
            return next(iter(self.entities.values()))
        try:
            return self.entities[name]
        except KeyError:
            raise CatalogError(
                f"unknown target object {name!r}; the catalog declares "
                f"{', '.join(self.entities)}{_did_you_mean(name, self.entities)}"
            ) from None

    def table(self, name: str):
        """The Ibis table for a (possibly schema-qualified) table name."""
        return _TableLookup(self.con).table(name)

    def event_names(self, entity: Entity | str | None = None) -> list[str]:
        """Every event name of an entity, from declarations or the data."""
        ent = entity if isinstance(entity, Entity) else self.entity(entity)
        names: list[str] = []
        for index, source in enumerate(ent.events):
            for event in self._source_events(ent, index, source):
                if event not in names:
                    names.append(event)
        return names

    def event_source(self, entity: Entity, event: str) -> EventSource | None:
        """The events table holding ``event`` for ``entity``, or None."""
        for index, source in enumerate(entity.events):
            if event in self._source_events(entity, index, source):
                return source
        return None

    def _source_events(self, entity: Entity, index: int, source: EventSource) -> tuple[str, ...]:
        if source.event is not None:
            return (source.event,)
        if source.declared:
            return source.declared
        key = (entity.name, index)
        if key not in self._event_names:
            t = self.table(source.table)
            col = t[source.name]
            rows = t.filter(col.notnull()).select(col.name("event")).distinct()
            rows = rows.order_by("event").limit(ENUM_VALUE_LIMIT)
            values = rows.to_pyarrow().column("event").to_pylist()
            self._event_names[key] = tuple(str(v) for v in values)
        return self._event_names[key]

    def values(
        self, entity: Entity | str | None, name: str, limit: int = ENUM_VALUE_LIMIT
    ) -> tuple[list[Any], bool]:
        """Distinct values of an enum tag or attribute, most frequent first.

        Returns the values (at most ``limit``) and whether there are more.
        Tag values come from the newest snapshot.
        """
        ent = entity if isinstance(entity, Entity) else self.entity(entity)
        key = (ent.name, name)
        if key in self._values and len(self._values[key][0]) >= min(limit, ENUM_VALUE_LIMIT):
            values, more = self._values[key]
            return values[:limit], more or len(values) > limit
        if ent.has_tag(name):
            source = ent.tag_source(name)
            t = self.table(source.table)
            t = t.filter(t[source.date] == t[source.date].max())
        elif name in ent.attributes:
            t = self.table(ent.table)
        else:
            raise CatalogError(f"{ent.name} has no tag or attribute {name!r}")
        col = t[name]
        counts = (
            t.filter(col.notnull())
            .group_by(col.name("value"))
            .aggregate(n=ibis._.count())
            .order_by([ibis.desc("n"), "value"])
            .limit(limit + 1)
        )
        values = counts.to_pyarrow().column("value").to_pylist()
        result = (values[:limit], len(values) > limit)
        self._values[key] = result
        return result

    def describe(self, entity: Entity | str | None = None):
        """A pandas DataFrame of every tag, attribute, event and event field."""
        import pandas as pd

        ent = entity if isinstance(entity, Entity) else self.entity(entity)
        rows = []
        for source in ent.tags:
            for f in source.fields.values():
                rows.append(("tag", f.name, f.type, f.label, f.description, source.table))
        for f in ent.attributes.values():
            rows.append(("attribute", f.name, f.type, f.label, f.description, ent.table))
        for index, source in enumerate(ent.events):
            for event in self._source_events(ent, index, source):
                rows.append(
                    (
                        "event",
                        event,
                        "event",
                        source.labels.get(event, _label(event)),
                        source.descriptions.get(event, ""),
                        source.table,
                    )
                )
            for f in source.fields.values():
                rows.append(("event field", f.name, f.type, f.label, f.description, source.table))
        return pd.DataFrame(rows, columns=["kind", "name", "type", "label", "description", "table"])


# -- resolving a spec against the warehouse -----------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    """Read a ``segnb.toml`` file, with errors that name the file and line."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise CatalogError(f"catalog file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: {exc}") from None


def stored_spec(con: Any) -> dict[str, Any] | None:
    """The catalog a warehouse carries in its ``segnb_catalog`` table, if any."""
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


class _TableLookup:
    def __init__(self, con: Any) -> None:
        self.con = con

    def table(self, name: str, where: str = ""):
        parts = name.split(".")
        database: Any = None
        if len(parts) == 2:
            database = parts[0]
        elif len(parts) >= 3:
            database = (".".join(parts[:-2]), parts[-2])
        try:
            return self.con.table(parts[-1], database=database)
        except Exception as exc:
            try:
                known = (
                    self.con.list_tables(database=database) if database else self.con.list_tables()
                )
            except Exception:
                known = []
            hint = _did_you_mean(parts[-1], known)
            place = f" ({where})" if where else ""
            raise CatalogError(f"table {name!r}{place} is not in the warehouse{hint}") from exc


def _require(body: Mapping[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CatalogError(f'{where} needs {key} = "..." (a {_KEY_HELP.get(key, key)})')
    return value


_KEY_HELP = {
    "table": "table name",
    "id": "column holding the entity id",
    "date": "column holding the snapshot date",
    "time": "column holding the event time",
}

_ENTITY_KEYS = {
    "table",
    "id",
    "ids",
    "tags",
    "events",
    "types",
    "labels",
    "descriptions",
    "exclude",
    "label",
    "description",
}
_TAG_KEYS = {"table", "id", "date", "types", "labels", "descriptions", "exclude"}
_EVENT_KEYS = {
    "table",
    "id",
    "time",
    "name",
    "event",
    "names",
    "types",
    "labels",
    "descriptions",
    "event_labels",
    "event_descriptions",
    "exclude",
}


def _check_keys(body: Mapping[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(body, Mapping):
        raise CatalogError(f"{where} must be a table of settings, not {type(body).__name__}")
    for key in body:
        if key not in allowed:
            raise CatalogError(
                f"{where} has an unknown setting {key!r}{_did_you_mean(key, allowed)}"
            )


def _column(schema, name: str, table: str, where: str) -> dt.DataType:
    if name not in schema:
        raise CatalogError(
            f"{where}: table {table!r} has no column {name!r}{_did_you_mean(name, schema.names)}"
        )
    return schema[name]


def _infer(dtype: dt.DataType) -> str | None:
    if dtype.is_boolean():
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal() and (dtype.is_date() or dtype.is_timestamp()):
        return "datetime"
    if dtype.is_string():
        return "enum"
    return None


def _fits(kind: str, dtype: dt.DataType) -> bool:
    if kind == "enum":
        return dtype.is_string() or dtype.is_integer() or dtype.is_boolean()
    if kind == "number":
        return dtype.is_numeric()
    if kind == "boolean":
        return dtype.is_boolean()
    return dtype.is_date() or dtype.is_timestamp()


def _fields(
    schema, skip: set[str], body: Mapping[str, Any], table: str, where: str
) -> dict[str, Field]:
    types = body.get("types", {}) or {}
    labels = body.get("labels", {}) or {}
    descriptions = body.get("descriptions", {}) or {}
    exclude = set(body.get("exclude", []) or [])
    for key, mapping in (("types", types), ("labels", labels), ("descriptions", descriptions)):
        if not isinstance(mapping, Mapping):
            raise CatalogError(f"{where}.{key} must map column names to values")
        for column in mapping:
            if column not in schema:
                raise CatalogError(
                    f"{where}.{key}: table {table!r} has no column {column!r}"
                    f"{_did_you_mean(column, schema.names)}"
                )
    out: dict[str, Field] = {}
    for name, dtype in schema.items():
        if name in skip or name in exclude:
            continue
        kind = types.get(name)
        if kind is None:
            kind = _infer(dtype)
            if kind is None:
                continue  # arrays, structs, …: not usable in rules
        elif kind not in TYPES:
            raise CatalogError(
                f"{where}.types.{name} = {kind!r} is not a tag type; use one of {', '.join(TYPES)}"
            )
        elif not _fits(kind, dtype):
            raise CatalogError(
                f"{where}.types.{name} = {kind!r} does not fit column type {dtype} of {table!r}"
            )
        out[name] = Field(
            name=name,
            type=kind,
            dtype=dtype,
            label=str(labels.get(name, _label(name))),
            description=str(descriptions.get(name, "")),
        )
    return out


def _entity(name: str, body: Mapping[str, Any], tables: _TableLookup) -> Entity:
    where = f"[entities.{name}]"
    _check_keys(body, _ENTITY_KEYS, where)
    table = _require(body, "table", where)
    id_col = _require(body, "id", where)
    schema = tables.table(table, where).schema()
    id_dtype = _column(schema, id_col, table, where)
    alternates = body.get("ids", []) or []
    if not isinstance(alternates, list) or not all(isinstance(a, str) for a in alternates):
        raise CatalogError(f'{where}.ids lists other id columns, e.g. ids = ["device_id"]')
    id_columns = {id_col: id_dtype}
    for column in alternates:
        id_columns[column] = _column(schema, column, table, f"{where}.ids")
    # alternate ids identify entities (uploads map through them); they are not enum tags
    attributes = _fields(schema, set(id_columns), body, table, where)
    tags = tuple(
        _tag_source(part, tables, f"{where[:-1]}.tags]") for part in _as_list(body.get("tags"))
    )
    events = tuple(
        _event_source(part, tables, f"{where[:-1]}.events]")
        for part in _as_list(body.get("events"))
    )
    seen: dict[str, str] = {}
    for source in tags:
        for tag in source.fields:
            if tag in seen:
                raise CatalogError(
                    f"{where}: tag {tag!r} is in both {seen[tag]!r} and {source.table!r}; "
                    "exclude it from one of them"
                )
            seen[tag] = source.table
    return Entity(
        name=name,
        table=table,
        id=id_col,
        id_dtype=id_dtype,
        attributes=attributes,
        tags=tags,
        events=events,
        label=str(body.get("label", _label(name))),
        description=str(body.get("description", "")),
        id_columns=id_columns,
    )


def _as_list(value: Any) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return value
    raise CatalogError(f"tags and events take a table of settings or a list of them, not {value!r}")


def _tag_source(body: Mapping[str, Any], tables: _TableLookup, where: str) -> TagSource:
    _check_keys(body, _TAG_KEYS, where)
    table = _require(body, "table", where)
    schema = tables.table(table, where).schema()
    id_col = _column(schema, _require(body, "id", where), table, where)
    del id_col
    date = _require(body, "date", where)
    date_dtype = _column(schema, date, table, where)
    if not (date_dtype.is_date() or date_dtype.is_timestamp()):
        raise CatalogError(f"{where}: snapshot column {date!r} is {date_dtype}, not a date")
    fields = _fields(schema, {body["id"], date}, body, table, where)
    return TagSource(table=table, id=body["id"], date=date, fields=fields)


def _event_source(body: Mapping[str, Any], tables: _TableLookup, where: str) -> EventSource:
    _check_keys(body, _EVENT_KEYS, where)
    table = _require(body, "table", where)
    schema = tables.table(table, where).schema()
    id_col = _require(body, "id", where)
    _column(schema, id_col, table, where)
    time = _require(body, "time", where)
    time_dtype = _column(schema, time, table, where)
    if not (time_dtype.is_date() or time_dtype.is_timestamp()):
        raise CatalogError(f"{where}: event time column {time!r} is {time_dtype}, not a time")
    name, event = body.get("name"), body.get("event")
    if (name is None) == (event is None):
        raise CatalogError(
            f'{where} needs either name = "<column holding the event name>" '
            'or event = "<the one event every row is>"'
        )
    if name is not None:
        _column(schema, name, table, where)
    declared = tuple(body.get("names", []) or [])
    fields = _fields(schema, {id_col, time} | ({name} if name else set()), body, table, where)
    return EventSource(
        table=table,
        id=id_col,
        time=time,
        name=name,
        event=event,
        fields=fields,
        declared=declared,
        labels=dict(body.get("event_labels", {}) or {}),
        descriptions=dict(body.get("event_descriptions", {}) or {}),
        time_dtype=time_dtype,
    )
