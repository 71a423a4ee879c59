"""The Workspace: a connected warehouse plus its catalog; what every face calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from segnb.engine.catalog import Catalog, Entity
from segnb.engine.connect import open_backend
from segnb.engine.rules import Node, SegmentRef, SetOp
from segnb.errors import RuleError, SegnbError

__all__ = ["Workspace", "connect", "today", "as_date"]


def today(tz: str | None = None) -> dt.date:
    """Today's date in ``tz`` (an IANA name), or in local time when None."""
    if not tz:
        return dt.date.today()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SegnbError(f"unknown time zone {tz!r}; use an IANA name like 'Asia/Shanghai'") from None
    return dt.datetime.now(zone).date()


def as_date(value: Any, tz: str | None = None) -> dt.date:
    """A date from None (today in ``tz``), a date, a datetime or an ISO string."""
    if value is None:
        return today(tz)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise RuleError(f"as_of={value!r} is not a date; write it as YYYY-MM-DD") from None
    raise RuleError(f"as_of takes a date or 'YYYY-MM-DD', not {type(value).__name__}")


class Workspace:
    """A warehouse connection with its catalog.

    Build it with :func:`segnb.connect`. Every method that evaluates rules
    takes ``as_of=`` (a date, default today in the workspace's time zone) and
    ``entity=`` (the target object, default the first in the catalog).

    Examples
    --------
    >>> ws = segnb.connect("duckdb:///warehouse.duckdb")            # doctest: +SKIP
    >>> ws.estimate("count(purchase, T-6..T) >= 2")                  # doctest: +SKIP
    10234
    """

    def __init__(self, con: Any, catalog: Catalog, *, tz: str | None = None) -> None:
        self.con = con
        self.catalog = catalog
        self.tz = tz

    def __repr__(self) -> str:
        entities = ", ".join(self.catalog.entities)
        return f"<segnb.Workspace {self.con.name} entities=[{entities}]>"

    # -- rules ----------------------------------------------------------------

    def entity(self, entity: str | Entity | None = None) -> Entity:
        """The target object ``entity`` (default: the first in the catalog)."""
        return entity if isinstance(entity, Entity) else self.catalog.entity(entity)

    def parse(self, rule: str | Node, entity: str | Entity | None = None) -> Node:
        """Parse and type-check a rule against the catalog; trees are checked too."""
        from segnb.engine.check import check
        from segnb.engine.parse import parse_rule

        ent = self.entity(entity)
        if isinstance(rule, Node):
            if isinstance(rule, (SegmentRef, SetOp)):
                raise RuleError("a set expression is not a rule; use ws.combine() for segment sets")
            check(rule, self.catalog, ent)
            return rule
        if not isinstance(rule, str):
            raise RuleError(f"a rule is text or a rule tree, not {type(rule).__name__}")
        return parse_rule(rule, self.catalog, ent)

    def members(self, rule: str | Node, as_of: Any = None, entity: str | Entity | None = None):
        """The ids matching ``rule`` as an Ibis table (nothing is pulled into Python).

        Examples
        --------
        >>> ws.members("city = 'Shenzhen'").limit(5).to_pandas()   # doctest: +SKIP
        """
        from segnb.engine.compile import compile_rule

        ent = self.entity(entity)
        tree = self.parse(rule, ent)
        return compile_rule(tree, self.catalog, ent, as_of=as_date(as_of, self.tz), tz=self.tz or "UTC")

    def estimate(self, rule: str | Node, as_of: Any = None, entity: str | Entity | None = None) -> int:
        """How many entities match ``rule`` (nothing is saved).

        Examples
        --------
        >>> ws.estimate("city = 'Shenzhen'", as_of="2026-11-21")  # doctest: +SKIP
        3412
        """
        return int(self.members(rule, as_of, entity).count().execute())

    def sql(
        self,
        rule: str | Node,
        as_of: Any = None,
        dialect: str | None = None,
        entity: str | Entity | None = None,
    ) -> str:
        """Readable SQL of ``rule`` for the connected backend or a named dialect."""
        import ibis

        expr = self.members(rule, as_of, entity)
        return str(ibis.to_sql(expr, dialect=dialect or self.con.name))


def connect(
    target: Any = None,
    catalog: Any = None,
    *,
    tz: str | None = None,
    read_only: bool = False,
) -> Workspace:
    """Connect to a warehouse and load its catalog.

    Parameters
    ----------
    target
        A URL (``duckdb:///warehouse.duckdb``, ``postgres://user@host/db``,
        any URL ``ibis.connect`` takes), a ``.duckdb`` path, or a connected
        Ibis backend. None: ``url`` of ``segnb.toml`` in the working directory.
    catalog
        A dict or path in the shape of ``segnb.toml`` (SPEC §1); None finds
        ``segnb.toml`` in the working directory, else the catalog stored in
        the warehouse (``segnb demo`` stores one).
    tz
        Time zone (IANA name) for "today" and event windows; local time when None.

    Examples
    --------
    >>> import segnb
    >>> ws = segnb.connect("duckdb:///warehouse.duckdb")                     # doctest: +SKIP
    >>> ws = segnb.connect(ibis.postgres.connect(...), catalog="segnb.toml")  # doctest: +SKIP
    """
    if tz is not None:
        today(tz)  # validate early
    con = open_backend(target, read_only=read_only)
    return Workspace(con, Catalog.load(catalog, con), tz=tz)
