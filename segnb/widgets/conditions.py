"""One condition of the segment wizard: its state (:class:`Condition`) and its row of widgets.

A row kind per kind of condition: profile tag (latest, on a date, or change
between two dates), behaviour (count/sum/did, avg/min/max/distinct of a field
and active days, over a fixed or dynamic window, with an attribute filter;
first/last, days_since and sequences are rule-text rows), entity attribute,
existing segment and predicted score. The operators and value widgets follow the field's type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.widgets._form import COMPARE, EVENT_OPS, FIELD_MEASURES, default_spec, spec_text

__all__ = ["KINDS", "Condition", "ConditionRow"]

KINDS = {
    "tag": "Profile tag",
    "event": "Behaviour",
    "attribute": "Entity attribute",
    "segment": "Existing segment",
    "score": "Predicted score",
    "text": "Rule text",
}
OPS = {
    "enum": ("in", "not in", "=", "!=", "is null", "is not null"),
    "boolean": ("=", "is null", "is not null"),
    "datetime": (">=", ">", "<=", "<", "=", "!=", "between", "is null", "is not null"),
    "number": (">=", ">", "<=", "<", "=", "!=", "between", "is null", "is not null"),
}
#: what the behaviour row measures
MEASURE_OPTIONS = [("count", "count"), ("sum", "sum"), ("did", "did"), ("avg", "avg"),
                   ("min", "min"), ("max", "max"), ("distinct", "distinct"),
                   ("active days", "active_days")]  # fmt: skip
MODES = (("latest", "latest"), ("on a date", "on"), ("change between", "change"))
WINDOWS = (("last N days", "last"), ("fixed dates", "fixed"))
_FIELDS = ("kind", "name", "type", "numeric", "mode", "date", "start", "end", "op", "value",
           "value2", "values", "measure", "field", "window", "days", "where_field", "where_op",
           "where_value", "where_type", "where_numeric", "negate", "text")  # fmt: skip
#: traits whose change rebuilds a row's widgets
_SHAPE = ("kind", "name", "mode", "op", "measure", "window", "where_field")


class Condition(t.HasTraits):
    """The state of one condition: the fields of its spec as traits.

    ``spec`` is the plain-data form (see :mod:`segnb.widgets._form`) and
    ``text`` of :meth:`rule` its rule text.
    """

    kind = t.Unicode("tag")
    name = t.Unicode(None, allow_none=True)
    type = t.Unicode("enum")
    numeric = t.Bool(False)
    mode = t.Unicode("latest")
    date = t.Unicode("T-1")
    start = t.Unicode("T-7")
    end = t.Unicode("T-1")
    op = t.Unicode(None, allow_none=True)
    value = t.Any(None, allow_none=True)
    value2 = t.Any(None, allow_none=True)
    values = t.List()
    measure = t.Unicode("count")
    field = t.Unicode(None, allow_none=True)
    window = t.Unicode("last")
    days = t.Int(7)
    where_field = t.Unicode(None, allow_none=True)
    where_op = t.Unicode("=")
    where_value = t.Any(None, allow_none=True)
    where_type = t.Unicode("enum")
    where_numeric = t.Bool(False)
    negate = t.Bool(False)
    text = t.Unicode("")

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Condition:
        merged = {**default_spec(spec.get("kind", "tag")), **spec}
        cond = cls()
        for key in _FIELDS:
            if key not in merged:
                continue
            value = merged[key]
            if key in ("date", "start", "end") and value is not None:
                value = str(value)
            if key == "values":
                value = list(value or [])
            try:
                setattr(cond, key, value)
            except t.TraitError:
                continue
        return cond

    @property
    def spec(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _FIELDS}

    def rule(self) -> str:
        """This condition as rule text (ValueError when something is missing)."""
        return spec_text(self.spec)


class ConditionRow(w.HBox):
    """The widgets of one :class:`Condition`, linked both ways; rebuilt when the field changes.

    Parameters
    ----------
    cond
        The condition's state.
    choices
        What the pickers offer: ``tags``, ``attributes`` (name → Field),
        ``events`` (names), ``event_fields`` (name → Field), ``segments``,
        ``scores`` (names), and ``values(kind, name)`` for enum values.
    on_remove
        Called with this row when its remove button is clicked.
    """

    def __init__(self, cond: Condition, choices: dict[str, Any], on_remove: Callable) -> None:
        self.cond = cond
        self.choices = choices
        self.on_remove = on_remove
        self._links: list[Any] = []
        self._handlers: list[tuple[Callable, str]] = []
        super().__init__(layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.add_class("segnb-condition")
        self.remove = w.Button(icon="times", tooltip="remove this condition",
                               layout=w.Layout(width="32px"))  # fmt: skip
        self.remove.add_class("segnb-remove-condition")
        self.remove.on_click(lambda _: self.on_remove(self))
        cond.observe(self._rebuild, names=list(_SHAPE))
        self._rebuild()

    def detach(self) -> None:
        """Stop following the condition (the row is being replaced)."""
        self.cond.unobserve(self._rebuild, names=list(_SHAPE))
        self._unlink()

    def _unlink(self) -> None:
        for link in self._links:
            link.unlink()
        for handler, name in self._handlers:
            self.cond.unobserve(handler, name)
        self._links, self._handlers = [], []

    # -- building ------------------------------------------------------------------

    def _link(self, trait: str, widget: w.Widget, attr: str = "value") -> w.Widget:
        self._links.append(w.link((self.cond, trait), (widget, attr)))
        return widget

    def _rebuild(self, change: Any = None) -> None:
        if change is not None and change["name"] == "name":
            self._typed()
        self._unlink()
        c = self.cond
        label = w.HTML(f"<b>{KINDS.get(c.kind, c.kind)}</b>", layout=w.Layout(width="120px"))
        parts: list[w.Widget] = [label]
        parts += getattr(self, f"_build_{c.kind}")()
        self.children = [*parts, self.remove]

    def _typed(self) -> None:
        """Take the picked field's type and reset the operator to one that fits it."""
        c = self.cond
        fields = self.choices.get("tags" if c.kind == "tag" else "attributes", {})
        field = fields.get(c.name) if c.kind in ("tag", "attribute") else None
        if field is not None:
            with c.hold_trait_notifications():
                c.type, c.numeric = field.type, bool(field.is_numeric_enum)
                if c.op not in OPS.get(c.type, ()):
                    c.op = OPS[c.type][0]
                if c.type == "boolean":
                    c.value = True
                elif c.type in ("number", "datetime") and not isinstance(
                    c.value, (int, float, str)
                ):
                    c.value = None
                c.values = []

    def _picker(self, names: dict[str, str], placeholder: str) -> w.Combobox:
        """A searchable picker showing labels, holding names."""
        shown = {f"{label} ({name})" if label and label != name else name: name
                 for name, label in names.items()}  # fmt: skip
        back = {name: text for text, name in shown.items()}
        box = w.Combobox(options=list(shown), placeholder=placeholder, ensure_option=False,
                         layout=w.Layout(width="320px"))  # fmt: skip
        box.add_class("segnb-picker")
        box.value = back.get(self.cond.name or "", "")

        def picked(change: Any) -> None:
            name = shown.get(change["new"]) or (change["new"] if change["new"] in names else None)
            if name and name != self.cond.name:
                self.cond.name = name

        box.observe(picked, "value")
        return box

    def _ops(self, ops: tuple[str, ...], trait: str = "op") -> w.Dropdown:
        current = getattr(self.cond, trait)
        if current not in ops:
            setattr(self.cond, trait, ops[0])
        box = w.Dropdown(options=list(ops), layout=w.Layout(width="105px"))
        box.add_class("segnb-op")
        return self._link(trait, box)

    def _date_input(self, trait: str, label: str) -> w.Widget:
        text = self._link(trait, w.Text(placeholder="T-1 or 2025-03-01", description=label,
                                        style={"description_width": "initial"},
                                        layout=w.Layout(width="150px")))  # fmt: skip
        text.add_class("segnb-date")
        picker = w.DatePicker(layout=w.Layout(width="140px"))

        def chosen(change: Any) -> None:
            if change["new"] is not None:
                setattr(self.cond, trait, change["new"].isoformat())

        picker.observe(chosen, "value")
        return w.HBox([text, picker])

    def _value_widgets(self, type_: str, kind: str, name: str | None) -> list[w.Widget]:
        c = self.cond
        op = c.op
        if op in ("is null", "is not null"):
            return []
        if type_ == "boolean":
            box = w.ToggleButtons(
                options=[("yes", True), ("no", False)], style={"button_width": "50px"}
            )
            if not isinstance(c.value, bool):
                c.value = True
            return [self._link("value", box)]
        if type_ == "enum" and op in ("in", "not in"):
            values, more = self.choices["values"](kind, name) if name else ([], False)
            tags = w.TagsInput(allowed_tags=[] if more else [str(v) for v in values],
                               placeholder="search values", layout=w.Layout(min_width="240px"))  # fmt: skip
            tags.add_class("segnb-values")
            tags.value = [str(v) for v in c.values]

            def typed(change: Any) -> None:
                lookup = {str(v): v for v in values}
                c.values = [lookup.get(v, v) for v in change["new"]]

            tags.observe(typed, "value")

            def shown(ch: Any) -> None:
                tags.value = [str(v) for v in ch["new"]]

            c.observe(shown, "values")
            self._handlers.append((shown, "values"))
            return [tags]
        if type_ == "enum":
            values, _ = self.choices["values"](kind, name) if name else ([], False)
            box = w.Combobox(options=[str(v) for v in values], placeholder="value",
                             ensure_option=False, layout=w.Layout(width="180px"))  # fmt: skip
            box.add_class("segnb-value")
            if c.value is None:
                c.value = ""
            c.value = str(c.value)
            return [self._link("value", box)]
        if type_ == "datetime":
            if not isinstance(c.value, str):
                c.value = "T-30"
            widgets = [self._date_input("value", "")]
            if op == "between":
                if not isinstance(c.value2, str):
                    c.value2 = "T"
                widgets += [w.HTML("and"), self._date_input("value2", "")]
            return widgets
        # numbers
        if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
            c.value = 0.0
        box = self._link("value", w.FloatText(layout=w.Layout(width="100px")))
        box.add_class("segnb-value")
        widgets = [box]
        if op == "between":
            if not isinstance(c.value2, (int, float)) or isinstance(c.value2, bool):
                c.value2 = c.value
            widgets += [
                w.HTML("and"),
                self._link("value2", w.FloatText(layout=w.Layout(width="100px"))),
            ]
        return widgets

    def _build_tag(self) -> list[w.Widget]:
        c = self.cond
        tags = self.choices.get("tags", {})
        parts: list[w.Widget] = [self._picker({n: f.label for n, f in tags.items()}, "search tags")]
        mode = self._link("mode", w.Dropdown(options=MODES, layout=w.Layout(width="140px")))
        parts.append(mode)
        if c.mode == "on":
            parts.append(self._date_input("date", "on"))
        elif c.mode == "change":
            parts += [self._date_input("start", "from"), self._date_input("end", "to")]
        type_ = "number" if c.mode == "change" else c.type
        ops = (
            tuple(o for o in OPS["number"] if "null" not in o) if c.mode == "change" else OPS[type_]
        )
        parts.append(self._ops(ops))
        return parts + self._value_widgets(type_, "tag", c.name)

    def _build_attribute(self) -> list[w.Widget]:
        c = self.cond
        fields = self.choices.get("attributes", {})
        parts: list[w.Widget] = [
            self._picker({n: f.label for n, f in fields.items()}, "search attributes")
        ]
        parts.append(self._ops(OPS[c.type]))
        return parts + self._value_widgets(c.type, "attribute", c.name)

    def _build_event(self) -> list[w.Widget]:
        c = self.cond
        events = self.choices.get("events", {})
        parts: list[w.Widget] = [
            self._link(
                "measure",
                w.Dropdown(
                    options=MEASURE_OPTIONS,
                    layout=w.Layout(width="80px"),
                ),
            ),
            self._picker(events, "search events"),
        ]
        fields = self.choices.get("event_fields", {})
        if c.measure in FIELD_MEASURES:
            # distinct counts values of any field; the others need numbers
            numbers = [
                n for n, f in fields.items() if f.type == "number" or c.measure == "distinct"
            ]
            if c.field not in numbers:
                c.field = numbers[0] if numbers else None
            parts.append(
                self._link("field", w.Dropdown(options=numbers, layout=w.Layout(width="120px")))
            )
        parts.append(
            self._link("window", w.Dropdown(options=WINDOWS, layout=w.Layout(width="130px")))
        )
        if c.window == "fixed":
            parts += [self._date_input("start", "from"), self._date_input("end", "to")]
        else:
            days = self._link(
                "days", w.BoundedIntText(min=1, max=3650, layout=w.Layout(width="80px"))
            )
            parts += [days, w.HTML("days")]
        if c.measure == "did":
            parts.append(self._link("negate", w.ToggleButtons(options=[("did", False), ("did not", True)],
                                                              style={"button_width": "64px"})))  # fmt: skip
        else:
            parts.append(self._ops(EVENT_OPS))
            if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
                c.value = 1.0
            parts.append(self._link("value", w.FloatText(layout=w.Layout(width="90px"))))
        names = ["", *fields]
        if c.where_field not in names:
            c.where_field = None
        where = w.Dropdown(options=[("no filter", "")] + [(f"where {n}", n) for n in fields],
                           value=c.where_field or "", layout=w.Layout(width="150px"))  # fmt: skip
        where.observe(lambda ch: setattr(c, "where_field", ch["new"] or None), "value")
        parts.append(where)
        if c.where_field:
            field = fields[c.where_field]
            c.where_type = "number" if field.type == "number" else "enum"
            c.where_numeric = field.type == "number" or bool(field.is_numeric_enum)
            ops = ("=", "!=") + (("<", "<=", ">", ">=") if c.where_numeric else ())
            parts.append(self._ops(ops, "where_op"))
            values, _ = self.choices["values"]("event", c.where_field)
            box = w.Combobox(options=[str(v) for v in values], placeholder="value",
                             ensure_option=False, layout=w.Layout(width="170px"))  # fmt: skip
            if c.where_value is not None:
                box.value = str(c.where_value)
            box.observe(lambda ch: setattr(c, "where_value", ch["new"]), "value")
            parts.append(box)
        return parts

    def _build_segment(self) -> list[w.Widget]:
        names = {n: n for n in self.choices.get("segments", [])}
        negate = self._link("negate", w.ToggleButtons(options=[("in", False), ("not in", True)],
                                                      style={"button_width": "60px"}))  # fmt: skip
        return [negate, self._picker(names, "search segments")]

    def _build_score(self) -> list[w.Widget]:
        c = self.cond
        names = {n: n for n in self.choices.get("scores", [])}
        if not isinstance(c.value, (int, float)) or isinstance(c.value, bool):
            c.value = 0.5
        value = self._link(
            "value", w.BoundedFloatText(min=0, max=1, step=0.05, layout=w.Layout(width="90px"))
        )
        return [
            self._picker(names, "search predictions"),
            self._ops(COMPARE[2:] + COMPARE[:2]),
            value,
        ]

    def _build_text(self) -> list[w.Widget]:
        box = w.Text(placeholder='e.g. count(purchase, T-6..T) >= 2', continuous_update=False,
                     layout=w.Layout(width="520px"))  # fmt: skip
        return [self._link("text", box)]
