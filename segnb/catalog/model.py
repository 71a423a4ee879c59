"""The catalog model: entities with their typed tags, attributes and events.

A catalog is declared as a dict or a ``segnb.toml`` file (SPEC §1, read and
checked by :mod:`~segnb.catalog.spec`) and resolved against the connected
warehouse (:mod:`~segnb.catalog.resolve`): every table and column is checked
to exist, and each column's type (enum, boolean, datetime, number) is
inferred from the schema unless overridden. What comes out is this module's
frozen :class:`Field`, :class:`TagSource`, :class:`EventSource` and
:class:`Entity`, held by a :class:`Catalog`.

Examples
--------
>>> spec = {"entities": {"users": {"table": "customers", "id": "customer_id",
...          "tags": {"table": "customer_tags", "id": "customer_id", "date": "dt"}}}}
>>> catalog = Catalog.load(spec, con)          # doctest: +SKIP
>>> catalog.entity().tag("city").type          # doctest: +SKIP
'enum'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.datatypes as dt

from segnb.catalog.resolve import (
    Tables,
    check_time_column,
    column_type,
    column_types,
    distinct_values,
    frequent_values,
)
from segnb.catalog.spec import (
    CATALOG_TABLE,
    CONFIG_FILE,
    ENTITY_KEYS,
    EVENT_KEYS,
    TAG_KEYS,
    TYPES,
    as_list,
    check_keys,
    find_spec,
    label,
    read_toml,
    require,
    stored_spec,
)
from segnb.errors import CatalogError
from segnb.hints import closest, did_you_mean

__all__ = [
    "CATALOG_TABLE",
    "CONFIG_FILE",
    "ENUM_VALUE_LIMIT",
    "TYPES",
    "Catalog",
    "Entity",
    "EventSource",
    "Field",
    "TagSource",
    "closest",
    "read_toml",
    "stored_spec",
]

#: the most event names or enum values read from the data for one column
ENUM_VALUE_LIMIT = 1000


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
        """Whether this is an enum over numbers (``tier_code = 1, 2, 3``)."""
        return self.type == "enum" and self.dtype.is_numeric()


@dataclass(frozen=True)
class TagSource:
    """A table of daily tag snapshots: ``(id, date, tag1, tag2, …)``."""

    table: str
    id: str
    date: str
    fields: Mapping[str, Field]
    entity_ids: bool = False
    """Declared (``entity_ids = true``): every id in the table is an entity's."""


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
    entity_ids: bool = False
    """Declared (``entity_ids = true``): every id in the table is an entity's."""


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
        """Every tag of the entity, across its tags tables."""
        return [name for source in self.tags for name in source.fields]

    def tag(self, name: str) -> Field:
        """The tag called ``name`` (KeyError if none)."""
        return self.tag_source(name).fields[name]

    def tag_source(self, name: str) -> TagSource:
        """The tags table holding tag ``name`` (KeyError if none)."""
        for source in self.tags:
            if name in source.fields:
                return source
        raise KeyError(name)

    def has_tag(self, name: str) -> bool:
        """Whether the entity has a tag called ``name``."""
        return any(name in source.fields for source in self.tags)

    def attribute(self, name: str) -> Field:
        """The entity attribute (a column of its own table) called ``name`` (KeyError if none)."""
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
    _tables: dict[str, Any] = field(default_factory=dict, repr=False)

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
        """The catalog spec dict for ``source`` (see :meth:`load` and :func:`.spec.find_spec`)."""
        return find_spec(source, con)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], con: Any) -> Catalog:
        """Resolve a spec dict against ``con``: every table and column checked, types inferred.

        Parameters
        ----------
        spec
            A dict shaped like ``segnb.toml``.
        con
            The Ibis backend holding the tables.
        """
        entities_spec = spec.get("entities")
        if not isinstance(entities_spec, Mapping) or not entities_spec:
            raise CatalogError(
                "the catalog has no entities: add an [entities.users] section "
                "with table = ... and id = ..."
            )
        tables = Tables(con)
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
                f"{', '.join(self.entities)}{did_you_mean(name, self.entities)}"
            ) from None

    def table(self, name: str):
        """The Ibis table for a (possibly schema-qualified) table name.

        The catalog's own tables (entities, tag snapshots, events) are looked
        up once: their columns and types were read when it was resolved, so
        every rule compiled against it already assumes them. Other tables are
        looked up on each call.
        """
        table = self._tables.get(name)
        if table is None:
            table = Tables(self.con).table(name)
            if name in self._declared():
                self._tables[name] = table
        return table

    def _declared(self) -> set[str]:
        names = set()
        for ent in self.entities.values():
            names.add(ent.table)
            names.update(source.table for source in (*ent.tags, *ent.events))
        return names

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
            values = distinct_values(self.table(source.table), source.name, ENUM_VALUE_LIMIT)
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
        cached = self._values.get(key)
        # a cached answer serves when it holds every value, or at least as many as asked for
        if cached is not None and (not cached[1] or len(cached[0]) >= min(limit, ENUM_VALUE_LIMIT)):
            values, more = cached
            return values[:limit], more or len(values) > limit
        if ent.has_tag(name):
            source = ent.tag_source(name)
            t = self.table(source.table)
            t = t.filter(t[source.date] == t[source.date].max())
        elif name in ent.attributes:
            t = self.table(ent.table)
        else:
            raise CatalogError(f"{ent.name} has no tag or attribute {name!r}")
        values = frequent_values(t, name, limit + 1)
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
                        source.labels.get(event, label(event)),
                        source.descriptions.get(event, ""),
                        source.table,
                    )
                )
            for f in source.fields.values():
                rows.append(("event field", f.name, f.type, f.label, f.description, source.table))
        return pd.DataFrame(rows, columns=["kind", "name", "type", "label", "description", "table"])


# -- building the model from a spec -------------------------------------------------


def _fields(schema, skip: set[str], body: Mapping[str, Any], table: str, where: str):
    labels = body.get("labels", {}) or {}
    descriptions = body.get("descriptions", {}) or {}
    return {
        name: Field(
            name=name,
            type=kind,
            dtype=dtype,
            label=str(labels.get(name, label(name))),
            description=str(descriptions.get(name, "")),
        )
        for name, (kind, dtype) in column_types(schema, skip, body, table, where).items()
    }


def _entity(name: str, body: Mapping[str, Any], tables: Tables) -> Entity:
    where = f"[entities.{name}]"
    check_keys(body, ENTITY_KEYS, where)
    table = require(body, "table", where)
    id_col = require(body, "id", where)
    schema = tables.table(table, where).schema()
    id_dtype = column_type(schema, id_col, table, where)
    alternates = body.get("ids", []) or []
    if not isinstance(alternates, list) or not all(isinstance(a, str) for a in alternates):
        raise CatalogError(f'{where}.ids lists other id columns, e.g. ids = ["device_id"]')
    id_columns = {id_col: id_dtype}
    for column in alternates:
        id_columns[column] = column_type(schema, column, table, f"{where}.ids")
    # alternate ids identify entities (uploads map through them); they are not enum tags
    attributes = _fields(schema, set(id_columns), body, table, where)
    tags = tuple(
        _tag_source(part, tables, f"{where[:-1]}.tags]") for part in as_list(body.get("tags"))
    )
    events = tuple(
        _event_source(part, tables, f"{where[:-1]}.events]") for part in as_list(body.get("events"))
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
        label=str(body.get("label", label(name))),
        description=str(body.get("description", "")),
        id_columns=id_columns,
    )


def _tag_source(body: Mapping[str, Any], tables: Tables, where: str) -> TagSource:
    check_keys(body, TAG_KEYS, where)
    table = require(body, "table", where)
    schema = tables.table(table, where).schema()
    id_col = require(body, "id", where)
    column_type(schema, id_col, table, where)
    date = require(body, "date", where)
    check_time_column(schema, date, table, where, "snapshot column", "a date")
    fields = _fields(schema, {id_col, date}, body, table, where)
    return TagSource(
        table=table, id=id_col, date=date, fields=fields, entity_ids=_flag(body, where)
    )


def _event_source(body: Mapping[str, Any], tables: Tables, where: str) -> EventSource:
    check_keys(body, EVENT_KEYS, where)
    table = require(body, "table", where)
    schema = tables.table(table, where).schema()
    id_col = require(body, "id", where)
    column_type(schema, id_col, table, where)
    time = require(body, "time", where)
    time_dtype = check_time_column(schema, time, table, where, "event time column", "a time")
    name, event = body.get("name"), body.get("event")
    if (name is None) == (event is None):
        raise CatalogError(
            f'{where} needs either name = "<column holding the event name>" '
            'or event = "<the one event every row is>"'
        )
    if name is not None:
        column_type(schema, name, table, where)
    fields = _fields(schema, {id_col, time} | ({name} if name else set()), body, table, where)
    return EventSource(
        table=table,
        id=id_col,
        time=time,
        name=name,
        event=event,
        fields=fields,
        declared=tuple(body.get("names", []) or []),
        labels=dict(body.get("event_labels", {}) or {}),
        descriptions=dict(body.get("event_descriptions", {}) or {}),
        time_dtype=time_dtype,
        entity_ids=_flag(body, where),
    )


def _flag(body: Mapping[str, Any], where: str) -> bool:
    value = body.get("entity_ids", False)
    if not isinstance(value, bool):
        raise CatalogError(
            f"{where} entity_ids must be true or false (whether every id of the table is an "
            f"entity's), not {value!r}"
        )
    return value
