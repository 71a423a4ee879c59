"""SegmentWizard: the tag-filtering builder (rule groups, live estimate, rule text both ways)."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.errors import SegnbError
from segnb.widgets._base import GOOD, MUTED, WARN, App, AppState, message_html
from segnb.widgets._form import MAX_CONDITIONS, default_spec, spec_text, tree_groups
from segnb.widgets.conditions import KINDS, Condition, ConditionRow
from segnb.widgets.estimates import LiveCount
from segnb.widgets.hints import rule_warnings

__all__ = ["SegmentWizard", "SegmentWizardState"]

COMBINE = (("no combination", ""), ("intersection (&)", "&"), ("union (|)", "|"),
           ("difference (-)", "-"))  # fmt: skip
_WORDS = {"&": "and", "|": "or", "-": "minus"}


class SegmentWizardState(AppState):
    """State of :class:`SegmentWizard` (SPEC §4.1).

    ``rule`` is the text the form stands for: setting it fills the form,
    editing the form rewrites it. ``estimate`` is the live size (None while
    the rule is empty or wrong), ``share`` its part of the population, ``sql``
    the generated query and ``warnings`` what looks mistyped.
    """

    rule = t.Unicode("")
    estimate = t.Int(None, allow_none=True)
    population = t.Int(None, allow_none=True)
    share = t.Float(None, allow_none=True)
    sql = t.Unicode("")
    warnings = t.List(t.Unicode())
    entity = t.Unicode(None, allow_none=True)
    combine_op = t.Unicode("")
    combine_with = t.Unicode("")
    combine_name = t.Unicode("")


class SegmentWizard(App):
    """Build a rules segment without writing a rule.

    Conditions are AND-ed inside a group and groups are OR-ed. The estimate
    follows the form (debounced); the rule text and the form track each other.

    Parameters
    ----------
    ws
        A connected :class:`segnb.Workspace`.
    entity
        The target object (default: the catalog's first).

    Examples
    --------
    >>> app = SegmentWizard(ws)                            # doctest: +SKIP
    >>> app.state.rule = 'city = "Shenzhen" and trade_cnt_7d >= 2'
    >>> app.wait().state.estimate                          # doctest: +SKIP
    412
    >>> app.state.name = "sz_buyers"; seg = app.create()    # doctest: +SKIP
    """

    state_class = SegmentWizardState

    def __init__(self, ws: Any, entity: str | None = None, **kwargs: Any) -> None:
        super().__init__(ws, **kwargs)
        self.add_class("segnb-wizard")
        self.entity = ws.entity(entity)
        self.state.entity = self.entity.name
        self.groups: list[list[Condition]] = [[]]
        self._rows: list[ConditionRow] = []
        self._syncing = False
        self._incomplete: list[str] = []
        self._live = LiveCount(ws, self.entity)  # conditions' ids, kept while the form is edited
        self._estimator = self.debounced(self._estimate)
        self._details = self.debounced(self._explain)  # after the estimate, off its path
        self.choices = self._choices()
        self._groups_box = w.VBox()
        self._groups_box.add_class("segnb-groups")
        add_group = w.Button(description="+ group (or)", layout=w.Layout(width="140px"))
        add_group.add_class("segnb-add-group")
        add_group.on_click(lambda _: self.add_group())
        self.add_group_button = add_group
        self._estimate_html = w.HTML(message_html("Estimate: add a condition", MUTED))
        self._estimate_html.add_class("segnb-estimate")
        self._warnings = w.HTML()
        self._warnings.add_class("segnb-warnings")
        rule = w.Textarea(placeholder="the rule the form stands for; edit it to fill the form",
                          continuous_update=False, layout=w.Layout(width="98%", height="64px"))  # fmt: skip
        rule.add_class("segnb-rule")
        w.link((self.state, "rule"), (rule, "value"))
        self.rule_text = rule
        sql = w.HTML()
        self.state.observe(lambda ch: setattr(sql, "value", _pre(ch["new"])), "sql")
        sql_panel = w.Accordion(children=[sql], titles=("Generated SQL",), selected_index=None)
        sql_panel.add_class("segnb-sql")
        self.create_button = w.Button(description="Create segment", button_style="primary",
                                      icon="check")  # fmt: skip
        self.create_button.add_class("segnb-create")
        self.create_button.on_click(lambda _: self.create())
        self.state.observe(lambda ch: setattr(self.create_button, "disabled", ch["new"]), "busy")
        start = w.Dropdown(options=[("start from a saved segment…", "")] + [(n, n) for n in self._rules_segments()],
                           layout=w.Layout(width="300px"))  # fmt: skip
        start.observe(lambda ch: ch["new"] and self.load(ch["new"]), "value")
        details = w.Accordion(children=[self.metadata_form()], titles=("Segment details",),
                              selected_index=0)  # fmt: skip
        combine = w.Accordion(children=[self._combine_form()], titles=("Combine with a segment (optional)",),
                              selected_index=None)  # fmt: skip
        self.children = [
            w.HTML(f"<h3 style='margin:4px 0'>New segment of {html.escape(self.entity.name)}</h3>"),
            start,
            self._groups_box,
            add_group,
            self._estimate_html,
            self._warnings,
            w.HTML("<b>Rule</b>"),
            rule,
            sql_panel,
            details,
            combine,
            w.HBox([self.create_button, self._status]),
            self._message,
        ]
        self.state.observe(self._rule_changed, "rule")
        self.state.observe(lambda _: self._estimator.call(), "as_of")
        self.state.observe(self._show_estimate, names=["estimate", "share"])
        self.state.observe(self._show_warnings, "warnings")
        self._render()

    # -- what the pickers offer ------------------------------------------------------

    def _choices(self) -> dict[str, Any]:
        ent, catalog = self.entity, self.ws.catalog
        tags = {name: ent.tag(name) for name in ent.tag_names}
        event_fields: dict[str, Any] = {}
        for source in ent.events:
            event_fields.update(source.fields)

        def values(kind: str, name: str) -> tuple[list[Any], bool]:
            if kind == "event":
                return [], True
            try:
                with self._lock:
                    return catalog.values(ent, name)
            except (SegnbError, ValueError):
                return [], True

        labels = {}
        for source in ent.events:
            labels.update(source.labels)
        events = {e: labels.get(e, e) for e in catalog.event_names(ent)}
        return {"tags": tags, "attributes": dict(ent.attributes), "events": events,
                "event_fields": event_fields, "values": values,
                "segments": self._names(self.ws.segment_names), "scores": self._names(self.ws.score_names)}  # fmt: skip

    def _names(self, fn: Any) -> list[str]:
        try:
            return list(fn(self.entity.name))
        except SegnbError:
            return []

    def _rules_segments(self) -> list[str]:
        try:
            return [s.name for s in self.ws.segments(method="rules", entity=self.entity.name)]
        except SegnbError:
            return []

    # -- the form ---------------------------------------------------------------------

    def conditions(self) -> int:
        return sum(len(g) for g in self.groups)

    def add_group(self) -> list[Condition]:
        """Add an empty group (OR-ed with the others)."""
        self.groups.append([])
        self._render()
        return self.groups[-1]

    def remove_group(self, index: int) -> None:
        del self.groups[index]
        if not self.groups:
            self.groups = [[]]
        self._form_changed()

    def add_condition(self, kind: str = "tag", group: int = -1, **spec: Any) -> Condition:
        """Add a condition of ``kind`` (SPEC kinds: tag, event, attribute, segment, score, text)."""
        if self.conditions() >= MAX_CONDITIONS:
            self.state.error = f"a segment takes at most {MAX_CONDITIONS} conditions"
            raise SegnbError(self.state.error)
        cond = Condition.from_spec({**default_spec(kind), **spec, "kind": kind})
        self.groups[group].append(cond)
        cond.observe(self._form_changed)
        self._render()
        if any(v is not None for k, v in spec.items() if k not in ("kind",)):
            self._form_changed()
        return cond

    def remove_condition(self, cond: Condition) -> None:
        for group in self.groups:
            if cond in group:
                group.remove(cond)
        self._form_changed()

    def _render(self) -> None:
        for row in self._rows:
            row.detach()
        self._rows = []
        boxes = []
        for index, group in enumerate(self.groups):
            if index:
                boxes.append(w.HTML(f"<div style='color:{MUTED};margin:2px 0'>— or —</div>"))
            rows = [
                ConditionRow(c, self.choices, lambda row: self.remove_condition(row.cond))
                for c in group
            ]
            self._rows += rows
            kind = w.Dropdown(
                options=[(v, k) for k, v in KINDS.items()], layout=w.Layout(width="160px")
            )
            add = w.Button(description="+ condition (and)", layout=w.Layout(width="auto"))
            add.add_class("segnb-add-condition")
            add.on_click(lambda _, i=index, k=kind: self.add_condition(k.value, i))
            drop = w.Button(description="remove group", layout=w.Layout(width="auto"))
            drop.on_click(lambda _, i=index: self.remove_group(i))
            head = w.HTML(
                f"<b>Group {index + 1}</b> <span style='color:{MUTED}'>(all of these)</span>"
            )
            box = w.VBox([head, *rows, w.HBox([kind, add, drop])],
                         layout=w.Layout(border="1px solid var(--jp-border-color2, #ccc)",
                                         padding="4px", margin="2px 0"))  # fmt: skip
            box.add_class("segnb-group")
            boxes.append(box)
        self._groups_box.children = boxes

    def _form_changed(self, change: Any = None) -> None:
        if self._syncing:
            return
        parts, incomplete = [], []
        for gi, group in enumerate(self.groups):
            texts = []
            for ci, cond in enumerate(group):
                try:
                    texts.append(cond.rule())
                except ValueError as err:
                    incomplete.append(f"Group {gi + 1}, condition {ci + 1}: {err}")
            if texts:
                parts.append(" and ".join(texts))
        self._incomplete = incomplete
        self._syncing = True
        try:
            self.state.rule = " or ".join(parts)
        finally:
            self._syncing = False
        if change is None:
            self._render()
        self._estimator.call()

    def _rule_changed(self, change: Any) -> None:
        self.state.estimate = None
        if self._syncing:
            return
        text = change["new"].strip()
        self._incomplete = []
        if not text:
            self._fill([[]])
            self.state.error = ""
            self._estimator.call()
            return
        try:
            with self._lock:
                tree = self.ws.parse(text, self.entity)
        except (SegnbError, ValueError) as err:
            self.state.error = str(err)
            return
        self.state.error = ""
        self._fill(tree_groups(self.ws, self.entity, tree))
        self._estimator.call()

    def _fill(self, groups: list[list[dict[str, Any]]]) -> None:
        self._syncing = True
        try:
            self.groups = [[Condition.from_spec(s) for s in g] for g in groups] or [[]]
            for group in self.groups:
                for cond in group:
                    cond.observe(self._form_changed)
            self._render()
        finally:
            self._syncing = False

    def load(self, name: str) -> None:
        """Fill the form from the saved rules segment ``name`` (its rule and metadata)."""
        try:
            with self._lock:
                info = self.ws.segment(name).to_dict()
        except SegnbError as err:
            self.state.error = str(err)
            return
        if info.get("method") != "rules" or not info.get("text"):
            self.state.error = (
                f"{name!r} is a {info.get('method')} segment; only rules segments fill the form"
            )
            return
        s = self.state
        s.rule = info["text"]
        s.group, s.description, s.refresh = (
            info["group"] or "",
            info["description"] or "",
            info["refresh"],
        )
        s.scenario, s.email = info["scenario"] or "", info["email"] or ""
        s.name = ""

    # -- the live estimate --------------------------------------------------------------

    def _estimate(self) -> None:
        """The live count: the only query between a change and the new estimate.

        The rule's warnings and SQL (:meth:`_explain`) follow once it is shown.
        """
        rule, as_of = self.state.rule.strip(), self.state.as_of
        if not rule:
            self.state.estimate, self.state.share, self.state.sql, self.state.warnings = (
                None,
                None,
                "",
                [],
            )
            return
        try:
            size = self._live.count(rule, as_of)
        except (SegnbError, ValueError) as err:
            if self.state.rule.strip() == rule:
                self.state.error = str(err)
            return
        if self.state.rule.strip() != rule:
            return  # a newer rule is on its way
        if self.state.population is None:
            self.state.population = self._population()
        pop = self.state.population
        self.state.share = (size / pop) if pop else None
        self.state.estimate = size
        if self.state.error and not self._incomplete:
            self.state.error = ""
        self._details.call()

    def _explain(self) -> None:
        """Warnings and generated SQL of the estimated rule, unless a newer change waits."""
        rule, as_of = self.state.rule.strip(), self.state.as_of
        if not rule or self._estimator.pending:
            return
        try:
            self._live.keep_new(lambda: self._estimator.pending)  # the next change reuses them
        except Exception:  # pragma: no cover - the estimate did not need them
            self._live.enabled = False
        if self._estimator.pending:
            return
        self.state.warnings = rule_warnings(self.ws, rule, self.entity)
        if self._estimator.pending or self.state.rule.strip() != rule:
            return
        try:
            self.state.sql = self.ws.sql(rule, as_of=as_of, entity=self.entity)
        except (SegnbError, ValueError) as err:  # pragma: no cover - estimate passed
            self.state.sql = f"-- {err}"

    def _population(self) -> int | None:
        try:
            return int(self.ws.catalog.table(self.entity.table).count().execute())
        except (SegnbError, ValueError, RuntimeError):  # the share is optional
            return None

    def _show_estimate(self, change: Any = None) -> None:
        size, share = self.state.estimate, self.state.share
        if size is None:
            self._estimate_html.value = message_html("Estimate: …", MUTED)
            return
        part = (
            f" ({share:.1%} of {self.state.population:,} {self.entity.name})"
            if share is not None
            else ""
        )
        self._estimate_html.value = (
            f'<div class="segnb-estimate-value" data-estimate="{size}"'
            f' data-rule="{html.escape(self.state.rule.strip())}" style="font-size:1.2em;'
            f'color:{GOOD}">Estimate: <b>{size:,}</b>{html.escape(part)}</div>'
        )

    def _show_warnings(self, change: Any) -> None:
        self._warnings.value = message_html("\n".join(f"⚠ {m}" for m in change["new"]), WARN)

    # -- the combination step -----------------------------------------------------------

    def _combine_form(self) -> w.Widget:
        s = self.state
        op = w.Dropdown(options=COMBINE, description="Combine", layout=w.Layout(width="300px"))
        w.link((s, "combine_op"), (op, "value"))
        other = w.Combobox(options=self.choices["segments"], placeholder="an existing segment",
                           description="with", ensure_option=False)  # fmt: skip
        w.link((s, "combine_with"), (other, "value"))
        name = w.Text(description="Name", placeholder="name of the combined segment")
        w.link((s, "combine_name"), (name, "value"))
        copy = w.Button(description="copy from above fields", layout=w.Layout(width="auto"))
        copy.on_click(lambda _: self.copy_fields())
        return w.VBox([op, other, w.HBox([name, copy])])

    def copy_fields(self) -> None:
        """Name the combined segment after the one above (its other fields are shared)."""
        s = self.state
        if s.name.strip() and s.combine_op and s.combine_with:
            s.combine_name = f"{s.name.strip()}_{_WORDS[s.combine_op]}_{s.combine_with}"

    # -- creating -------------------------------------------------------------------------

    def check(self) -> list[str]:
        out = self.check_metadata()
        if not self.state.rule.strip():
            out.append("Rule: add at least one condition")
        out += self._incomplete
        try:
            if self.state.rule.strip():
                self.ws.parse(self.state.rule, self.entity)
        except (SegnbError, ValueError) as err:
            out.append(f"Rule: {err}")
        s = self.state
        if s.combine_op:
            if not s.combine_with:
                out.append("Combine: pick the segment to combine with")
            elif (
                s.combine_with not in self.choices["segments"]
                and s.combine_with not in self.ws.segment_names()
            ):
                out.append(f"Combine: there is no segment {s.combine_with!r}")
            if not s.combine_name.strip():
                out.append("Combine: name the combined segment (or use 'copy from above fields')")
            elif s.combine_name.strip() in (s.name.strip(), *self.ws.segment_names()):
                out.append(f"Combine: the name {s.combine_name.strip()!r} is taken")
        return out

    def _create(self):
        s = self.state
        seg = self.ws.create_segment(s.name.strip(), s.rule, as_of=s.as_of, entity=self.entity.name,
                                     **self.options())  # fmt: skip
        if s.combine_op:
            expression = f"{_quote(seg.name)} {s.combine_op} {_quote(s.combine_with)}"
            combined = self.ws.combine(
                s.combine_name.strip(), expression, as_of=s.as_of, **self.options()
            )
            self.combined = combined
        return seg

    def created(self, seg: Any) -> None:
        self.choices["segments"] = self._names(self.ws.segment_names)


def _quote(name: str) -> str:
    return spec_text({"kind": "segment", "name": name})[len("in_segment(") : -1]


def _pre(sql: str) -> str:
    return f'<pre class="segnb-sql-text" style="white-space:pre-wrap;font-size:12px">{html.escape(sql)}</pre>'
