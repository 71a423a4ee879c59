"""The Workspace: the public face of a connected warehouse, its catalog and segment store.

It composes the engine's pieces (a :class:`~segnb.segments.context.Context`
holding the backend, the catalog, the store and the settings) and names
every operation SPEC §5 lists; each method is one call into
:mod:`segnb.segments`, :mod:`segnb.compile` or :mod:`segnb.analysis`. It
reads no configuration file: :func:`segnb.connect` and the faces pass
:class:`~segnb.settings.Settings` in.
"""

from __future__ import annotations

import warnings
from typing import Any

from segnb.catalog.layout import LayoutFinding, check_entity_ids, check_layout
from segnb.catalog.model import Catalog, Entity
from segnb.errors import RuleWarning
from segnb.lang.nodes import Node
from segnb.segments.builtin import is_sets
from segnb.segments.context import Context, StoreResolver
from segnb.segments.create import create_with
from segnb.segments.defs import Defs
from segnb.segments.groups import Groups
from segnb.segments.lifecycle import deleted_log, list_rows
from segnb.segments.plans import Plans
from segnb.segments.segment import Segment, SegmentList
from segnb.segments.sets import overlap, set_bitmap, set_size
from segnb.segments.warnings import rule_warnings
from segnb.settings import Settings
from segnb.store.backend import release
from segnb.times import as_date, check_zone, today

__all__ = ["Workspace", "as_date", "today"]  # as_date, today: kept for notebooks


class Workspace:
    """A warehouse connection with its catalog and segment store.

    Build it with :func:`segnb.connect`. Every method that evaluates rules
    takes ``as_of=`` (a date, default today in the workspace's time zone) and
    ``entity=`` (the target object, default the first in the catalog).

    Examples
    --------
    >>> ws = segnb.connect("duckdb:///warehouse.duckdb")            # doctest: +SKIP
    >>> ws.estimate("count(purchase, T-6..T) >= 2")                  # doctest: +SKIP
    10234
    """

    def __init__(
        self,
        con: Any,
        catalog: Catalog,
        *,
        tz: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.ctx = Context(con, catalog, settings, tz=check_zone(tz))

    def __repr__(self) -> str:
        entities = ", ".join(self.catalog.entities)
        return f"<segnb.Workspace {self.con.name} entities=[{entities}]>"

    def close(self) -> None:
        """Close what :func:`segnb.connect` opened; a backend or Spark session passed in stays open.

        On Spark the session's own time zone is set back (Ibis's PySpark
        backend sets UTC while connected).
        """
        release(self.con)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the pieces -----------------------------------------------------------

    @property
    def con(self) -> Any:
        """The Ibis backend."""
        return self.ctx.con

    @property
    def catalog(self) -> Catalog:
        return self.ctx.catalog

    @property
    def tz(self) -> str | None:
        """Time zone (IANA name) for "today" and event windows; local time when None."""
        return self.ctx.tz

    @tz.setter
    def tz(self, value: str | None) -> None:
        self.ctx.tz = check_zone(value)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def store_settings(self) -> dict[str, Any]:
        """Owner and default group recorded on new segments."""
        return {"owner": self.settings.owner, "default_group": self.settings.default_group}

    @property
    def store(self):
        """The segment store (``segnb`` schema unless :meth:`open_store` chose another)."""
        return self.ctx.store

    def open_store(
        self,
        schema: str | None = None,
        *,
        owner: str | None = None,
        default_group: str | None = None,
        keep_versions: int | None = None,
        lock_wait: float | None = None,
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
        return self.ctx.open_store(
            schema, owner=owner, default_group=default_group, keep_versions=keep_versions,
            lock_wait=lock_wait,
        )  # fmt: skip

    # -- rules ----------------------------------------------------------------

    def entity(self, entity: str | Entity | None = None) -> Entity:
        """The target object ``entity`` (default: the first in the catalog)."""
        return self.ctx.entity(entity)

    def parse(self, rule: str | Node, entity: str | Entity | None = None) -> Node:
        """Parse and type-check a rule against the catalog; trees are checked too.

        Segment names in ``in_segment()`` and ``score()`` are checked against
        the store (with "did you mean") when the rule uses them.
        """
        return self.ctx.parse(rule, entity)

    def members(self, rule: str | Node, as_of: Any = None, entity: str | Entity | None = None):
        """The ids matching ``rule`` as an Ibis table (nothing is pulled into Python).

        Examples
        --------
        >>> ws.members("city = 'Shenzhen'").limit(5).to_pandas()   # doctest: +SKIP
        """
        return self.ctx.members(rule, as_of, entity)

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
        if is_sets(rule):
            return self.set_size(rule)
        return self.ctx.count(rule, as_of, entity)

    def warnings(self, rule: str | Node, entity: str | Entity | None = None) -> list[str]:
        """What looks mistyped in a valid rule: enum values no entity has, with "did you mean".

        Examples
        --------
        >>> ws.warnings('city = "Shenzen"')        # doctest: +SKIP
        ["city: no users have the value 'Shenzen'; did you mean 'Shenzhen'?"]
        """
        return rule_warnings(self.ctx, rule, entity)

    def doctor(self) -> list[LayoutFinding]:
        """How much a one-day scan of each tags and events table reads, and whether the
        tables that declare ``entity_ids`` hold entity ids only; with what to do.

        Examples
        --------
        >>> [str(f) for f in ws.doctor() if not f.ok]          # doctest: +SKIP
        """
        return check_layout(self.catalog, self.con) + check_entity_ids(self.catalog, self.con)

    def sql(
        self,
        rule: str | Node,
        as_of: Any = None,
        dialect: str | None = None,
        entity: str | Entity | None = None,
    ) -> str:
        """Readable SQL of ``rule`` for the connected backend or a named dialect."""
        return self.ctx.sql(self.members(rule, as_of, entity), dialect)

    # -- creating segments ----------------------------------------------------

    def _segment(self, row: dict[str, Any]) -> Segment:
        return Segment(self.ctx, row["name"], row)

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
        if isinstance(rules, (str, Node)) and not is_sets(rules):
            for warning in self.warnings(rules, entity):
                warnings.warn(warning, RuleWarning, stacklevel=2)
        return self._segment(
            create_with(self.ctx, "rules", name, as_of=as_of, entity=entity, rules=rules, **options)
        )

    def combine(self, name: str, expression: Any, *, as_of: Any = None, **options: Any):
        """Save a segment-sets segment: ``&`` ``|`` ``-`` over active, unexpired segments."""
        return self._segment(
            create_with(self.ctx, "sets", name, as_of=as_of, expression=expression, **options)
        )

    def upload(self, name: str, path: Any, id_type: str | None = None, **options: Any):
        """Save a custom-list segment from a CSV/TSV/Excel file of ids (``id_type``: user_id, device_id, …)."""
        return self._segment(
            create_with(self.ctx, "upload", name, path=path, id_type=id_type, **options)
        )

    def from_table(
        self, name: str, table: str | None = None, id_column: str | None = None, **options: Any
    ):
        """Save a segment from a warehouse table or ``query=`` and the column holding the id."""
        return self._segment(
            create_with(self.ctx, "table", name, table=table, id_column=id_column, **options)
        )

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
        return self._segment(create_with(
            self.ctx, "lookalike", name, as_of=as_of, entity=entity, seed=seed, size=size,
            audience=audience, **options,
        ))  # fmt: skip

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
        return self._segment(create_with(
            self.ctx, "prediction", name, as_of=as_of, entity=entity, audience=audience,
            positive=positive, negative=negative, tendency=tendency, model=model,
            exclude=exclude, **options,
        ))  # fmt: skip

    # -- stored segments ------------------------------------------------------

    def segment(self, name: str) -> Segment:
        """The stored segment ``name`` (a :class:`segnb.Segment`)."""
        return self._segment(self.ctx.find_row(name))

    def segments(
        self,
        group: str | None = None,
        search: str | None = None,
        status: str | None = None,
        method: str | None = None,
        entity: str | None = None,
    ) -> SegmentList:
        """Visible segments, filtered; a list of Segments with ``.to_frame()``."""
        rows = list_rows(self.ctx, group, search, status, method, entity)
        return SegmentList(self._segment(row) for row in rows)

    def deleted(self):
        """The deleted-records log (a pandas DataFrame)."""
        return deleted_log(self.ctx)

    @property
    def groups(self) -> Groups:
        """Groups of segments: ``ws.groups.create/rename/delete/list``."""
        return Groups(self.ctx)

    @property
    def defs(self) -> Defs:
        """Segments as code: ``ws.defs.export(dir)``, ``ws.defs.apply(dir, dry_run=, prune=)``."""
        return Defs(self.ctx)

    @property
    def plans(self) -> Plans:
        """Operation plans: ``ws.plans.create/list/finish/delete/export``."""
        return Plans(self.ctx)

    def segment_names(self, entity: Any = None) -> list[str]:
        """Names of the stored segments visible here (of one target object when given)."""
        return self.ctx.segment_names(None if entity is None else self.entity(entity).name)

    def score_names(self, entity: Any = None) -> list[str]:
        """Names of the AI prediction segments visible here: what ``score(name)`` takes."""
        return self.ctx.score_names(None if entity is None else self.entity(entity).name)

    def segment_resolver(self, entity: Any = None) -> StoreResolver:
        """What ``compile_rule(resolver=…)`` needs for ``in_segment()``/``score()``: the store."""
        return StoreResolver(self.ctx, entity)

    # -- sets -----------------------------------------------------------------

    def set_size(self, expression: Any) -> int:
        """Size of a set expression over segments (``vip & active - churned``), from bitmaps.

        Examples
        --------
        >>> ws.set_size("vip & active - churned")      # doctest: +SKIP
        10234
        """
        return set_size(self.ctx, expression)

    def set_bitmap(self, expression: Any):
        """A set expression's members as a roaring bitmap of dense ids (nothing saved)."""
        return set_bitmap(self.ctx, expression)

    def overlap(self, names: list[str]):
        """Pairwise overlaps of segments: sizes on the diagonal (a pandas DataFrame)."""
        return overlap(self.ctx, names)
