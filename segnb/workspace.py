"""The Workspace: a connected warehouse plus its catalog; what every face calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from segnb.catalog.model import Catalog, Entity
from segnb.errors import RuleError, SegnbError
from segnb.lang.nodes import InSegment, Node, Score, SegmentRef, SetOp, walk
from segnb.store.backend import open_backend

__all__ = ["Workspace", "as_date", "connect", "today"]


def today(tz: str | None = None) -> dt.date:
    """Today's date in ``tz`` (an IANA name), or in local time when None."""
    if not tz:
        return dt.date.today()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SegnbError(
            f"unknown time zone {tz!r}; use an IANA name like 'Asia/Shanghai'"
        ) from None
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
        """Parse and type-check a rule against the catalog; trees are checked too.

        Segment names in ``in_segment()`` and ``score()`` are checked against
        the store (with "did you mean") when the rule uses them.
        """
        from segnb.lang.check import check
        from segnb.lang.parse import parse_rule

        ent = self.entity(entity)
        if isinstance(rule, Node):
            if isinstance(rule, (SegmentRef, SetOp)):
                raise RuleError("a set expression is not a rule; use ws.combine() for segment sets")
            names = self.segment_names(ent) if _uses_segments(rule) else None
            scores = self.score_names(ent) if _uses_segments(rule) else None
            check(rule, self.catalog, ent, segments=names, scores=scores)
            return rule
        if not isinstance(rule, str):
            raise RuleError(f"a rule is text or a rule tree, not {type(rule).__name__}")
        tree = parse_rule(rule, self.catalog, ent)
        if _uses_segments(tree):
            tree = parse_rule(
                rule, self.catalog, ent, segments=self.segment_names(ent),
                scores=self.score_names(ent),
            )  # fmt: skip
        return tree

    def members(self, rule: str | Node, as_of: Any = None, entity: str | Entity | None = None):
        """The ids matching ``rule`` as an Ibis table (nothing is pulled into Python).

        Examples
        --------
        >>> ws.members("city = 'Shenzhen'").limit(5).to_pandas()   # doctest: +SKIP
        """
        from segnb.compile.rules import compile_rule

        ent = self.entity(entity)
        tree = self.parse(rule, ent)
        resolver = self.segment_resolver(ent) if _uses_segments(tree) else None
        return compile_rule(
            tree,
            self.catalog,
            ent,
            as_of=as_date(as_of, self.tz),
            tz=self.tz or "UTC",
            resolver=resolver,
        )

    def estimate(
        self, rule: str | Node, as_of: Any = None, entity: str | Entity | None = None
    ) -> int:
        """How many entities match ``rule`` (nothing is saved).

        A set-only body (``vip & active - churned``) is sized from the stored
        segments' bitmaps.

        Examples
        --------
        >>> ws.estimate("city = 'Shenzhen'", as_of="2026-11-21")  # doctest: +SKIP
        3412
        """
        from segnb.lang.parse import is_set_expression

        if isinstance(rule, (SegmentRef, SetOp)) or (
            isinstance(rule, str) and is_set_expression(rule)
        ):
            return self.set_size(rule)
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

    # -- the segment store (segnb.store.store, segments, create, sets, upload, plans) --

    @property
    def store_settings(self) -> dict[str, Any]:
        """Owner and default group recorded on new segments (from ``SegNB`` config)."""
        settings = self.__dict__.get("_store_settings")
        if settings is None:
            from segnb.config import SegNB

            config = SegNB()
            settings = {"owner": config.owner, "default_group": config.default_group}
            self.__dict__["_store_settings"] = settings
        return settings

    def open_store(
        self,
        schema: str | None = None,
        *,
        owner: str | None = None,
        default_group: str | None = None,
        keep_versions: int = 3,
        lock_wait: float = 30.0,
    ):
        """Use the segment store in ``schema`` of this warehouse (created when missing).

        ``schema`` defaults to ``SegNB.store_schema`` ('segnb').
        Called implicitly with the defaults by the first segment method.
        ``owner`` (default: ``SegNB.owner``, the OS user) is recorded on new
        segments and decides what private segments are visible.

        Examples
        --------
        >>> ws.open_store("segnb_team", owner="alice")     # doctest: +SKIP
        <segnb.Store duckdb schema='segnb_team'>
        """
        from segnb.store.store import Store

        if schema is None:
            from segnb.config import SegNB

            schema = getattr(SegNB(), "store_schema", "") or "segnb"
        settings = dict(self.store_settings)
        if owner is not None:
            settings["owner"] = str(owner)
        if default_group is not None:
            settings["default_group"] = str(default_group)
        store = Store(
            self.con, self.catalog, schema, keep_versions=keep_versions, lock_wait=lock_wait
        )
        self.__dict__["_store_settings"] = settings
        self.__dict__["_store"] = store
        return store

    @property
    def store(self):
        """The segment store (``segnb`` schema unless :meth:`open_store` chose another)."""
        store = self.__dict__.get("_store")
        return store if store is not None else self.open_store()

    def create_segment(
        self, name: str, rules: Any, *, as_of: Any = None, entity: Any = None, **options: Any
    ):
        """Save a rules segment and write its first version.

        ``rules`` is rule text (or a tree); a set-only body (``vip & active``)
        makes a segment-sets segment. Options (SPEC §2): ``group``,
        ``description``, ``refresh`` ('once' | 'daily'), ``scenario``
        ('insight', 'delivery', 'reward', 'leads'), ``tz``, ``expires``,
        ``time_sensitive``, ``email``, ``scope`` ('public', 'private',
        'shared'), ``shared_with``.

        Examples
        --------
        >>> seg = ws.create_segment("active_buyers", rules="count(purchase, T-6..T) >= 2",
        ...                         group="Q4", refresh="daily")     # doctest: +SKIP
        """
        from segnb.segments.create import create_segment

        return create_segment(self, name, rules, as_of=as_of, entity=entity, **options)

    def combine(self, name: str, expression: Any, *, as_of: Any = None, **options: Any):
        """Save a segment-sets segment: ``&`` ``|`` ``-`` over active, unexpired segments."""
        from segnb.segments.create import combine

        return combine(self, name, expression, as_of=as_of, **options)

    def upload(self, name: str, path: Any, id_type: str | None = None, **options: Any):
        """Save a custom-list segment from a CSV/TSV/Excel file of ids (``id_type``: user_id, device_id, …)."""
        from segnb.segments.upload import upload

        return upload(self, name, path, id_type, **options)

    def from_table(
        self, name: str, table: str | None = None, id_column: str | None = None, **options: Any
    ):
        """Save a segment from a warehouse table or ``query=`` and the column holding the id."""
        from segnb.segments.create import from_table

        return from_table(self, name, table, id_column, **options)

    def lookalike(
        self,
        name: str,
        seed: str,
        size: int,
        *,
        audience: str | None = None,
        as_of: Any = None,
        entity: Any = None,
        **options: Any,
    ):
        """Save a lookalike segment: the ``size`` non-seed entities most like the seeds.

        ``seed`` and ``audience`` (where to look; default every entity) are
        names of active, unexpired segments (an uploaded list works as a
        seed). A positive-unlabelled model is trained on catalog features
        (the seed's own rule fields are left out) and stored; refreshes
        re-score with it (``seg.refresh(retrain=True)`` trains anew).
        Options: the segment options of :meth:`create_segment`, and training
        settings passed to :func:`segnb.models.lookalike` (``method``,
        ``exclude``, ``random_state``, ``n_jobs``, ``progress``, …).
        Needs ``pip install 'segnb[models]'``.

        Examples
        --------
        >>> seg = ws.lookalike("lal", seed="vip", size=50_000)      # doctest: +SKIP
        >>> seg.scores().order_by(ibis.desc("score")).limit(5).to_pandas()  # doctest: +SKIP
        """
        from segnb.segments.methods import create_with

        return create_with(
            self, "lookalike", name, as_of=as_of, entity=entity, seed=seed, size=size,
            audience=audience, **options,
        )  # fmt: skip

    def predict(
        self,
        name: str,
        audience: str,
        positive: str,
        negative: str | None = None,
        *,
        tendency: str = "high_recall",
        model: str = "auto",
        exclude: Any = (),
        as_of: Any = None,
        entity: Any = None,
        **options: Any,
    ):
        """Save an AI prediction segment: train, evaluate on held-out data, score the audience.

        ``audience`` (>= 1,000 entities), ``positive`` (>= 500) and
        ``negative`` (>= 500, optional: without it the rest of the audience is
        unlabelled) are names of active, unexpired segments. ``tendency``
        (``high_recall`` | ``high_precision``) picks the threshold on
        validation data; ``model`` is ``auto`` (best validation ROC AUC),
        ``logistic``, ``random_forest`` or ``gradient_boosting``. Members are
        the audience with ``score >= threshold``; ``seg.scores()`` holds every
        audience entity's score, ``score(name)`` uses it in rules, and
        ``seg.evaluation()`` the held-out metrics. Options as in
        :meth:`lookalike` (training settings go to :func:`segnb.models.predict`).

        Examples
        --------
        >>> seg = ws.predict("will_buy", audience="active_30d", positive="bought_last_week",
        ...                  tendency="high_precision")              # doctest: +SKIP
        >>> seg.evaluation()["roc_auc"]                              # doctest: +SKIP
        """
        from segnb.segments.methods import create_with

        return create_with(
            self, "prediction", name, as_of=as_of, entity=entity, audience=audience,
            positive=positive, negative=negative, tendency=tendency, model=model,
            exclude=exclude, **options,
        )  # fmt: skip

    def segment(self, name: str):
        """The stored segment ``name`` (a :class:`segnb.segments.segment.Segment`)."""
        from segnb.segments.manage import find_row
        from segnb.segments.segment import Segment

        return Segment(self, name, find_row(self, name))

    def segments(
        self,
        group: str | None = None,
        search: str | None = None,
        status: str | None = None,
        method: str | None = None,
        entity: str | None = None,
    ):
        """Visible segments, filtered; a list of Segments with ``.to_frame()``."""
        from segnb.segments.manage import list_segments

        return list_segments(self, group, search, status, method, entity)

    def deleted(self):
        """The deleted-records log (a pandas DataFrame)."""
        from segnb.segments.manage import deleted_log

        return deleted_log(self)

    @property
    def groups(self):
        """Groups of segments: ``ws.groups.create/rename/delete/list``."""
        from segnb.segments.plans import Groups

        return Groups(self)

    @property
    def plans(self):
        """Operation plans: ``ws.plans.create/list/finish/delete/export``."""
        from segnb.segments.plans import Plans

        return Plans(self)

    def segment_names(self, entity: Any = None) -> list[str]:
        """Names of the stored segments visible here (of one target object when given)."""
        from segnb.segments.manage import segment_names

        return segment_names(self, None if entity is None else self.entity(entity).name)

    def score_names(self, entity: Any = None) -> list[str]:
        """Names of the AI prediction segments visible here: what ``score(name)`` takes."""
        from segnb.segments.manage import score_names

        return score_names(self, None if entity is None else self.entity(entity).name)

    def segment_resolver(self, entity: Any = None):
        """What ``compile_rule(resolver=…)`` needs for ``in_segment()``/``score()``: the store."""
        from segnb.segments.manage import StoreResolver

        return StoreResolver(self, entity)

    def _set_bitmaps(self, names: list[str], rows: dict[str, Any] | None = None):
        """Bitmaps of the current versions of ``names`` (one metadata query, cached bitmaps)."""
        from segnb.segments.manage import find_row, visible
        from segnb.segments.segment import usable_row
        from segnb.store.bitmaps import load_bitmap

        if rows is None:
            rows = {r["name"]: r for r in self.store.segment_rows() if visible(self, r)}
        out, entity = {}, None
        for name in names:
            row = rows.get(name) or find_row(self, name)
            usable_row(self, row, "in segment sets")
            if entity is not None and row["entity"] != entity:
                raise SegnbError(
                    f"segment {name!r} holds {row['entity']}, the others {entity}; "
                    "sets combine segments of one target object"
                )
            entity = row["entity"]
            out[name] = load_bitmap(self.store, row["id"], row["current_version"])
        return out

    def set_size(self, expression: Any) -> int:
        """Size of a set expression over segments (``vip & active - churned``), from bitmaps.

        Examples
        --------
        >>> ws.set_size("vip & active - churned")      # doctest: +SKIP
        10234
        """
        return len(self.set_bitmap(expression))

    def set_bitmap(self, expression: Any):
        """A set expression's members as a roaring bitmap of dense ids (nothing saved)."""
        from segnb.lang.nodes import SegmentRef, walk
        from segnb.lang.parse import parse_sets
        from segnb.segments.manage import visible
        from segnb.store.bitmaps import set_bitmap

        tree = parse_sets(expression) if isinstance(expression, str) else expression
        names = sorted({n.name for n in walk(tree) if isinstance(n, SegmentRef)})
        rows = {r["name"]: r for r in self.store.segment_rows(names) if visible(self, r)}
        if len(rows) < len(names) and isinstance(expression, str):
            visible_names = [r["name"] for r in self.store.segment_rows() if visible(self, r)]
            parse_sets(expression, visible_names)  # raises, pointing at the unknown name
        bitmaps = self._set_bitmaps(names, rows)
        return set_bitmap(tree, bitmaps.__getitem__)

    def overlap(self, names: list[str]):
        """Pairwise overlaps of segments: sizes on the diagonal (a pandas DataFrame)."""
        from segnb.segments.manage import visible
        from segnb.store.bitmaps import overlap_matrix

        names = list(names)
        rows = {r["name"]: r for r in self.store.segment_rows(names) if visible(self, r)}
        bitmaps = self._set_bitmaps(names, rows)
        return overlap_matrix(names, [bitmaps[n] for n in names])


def _uses_segments(tree: Node) -> bool:
    return any(isinstance(node, (InSegment, Score)) for node in walk(tree))


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
