"""SetWizard: intersection, union and difference of active segments, sized live."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.errors import SegnbError
from segnb.widgets._base import GOOD, MUTED, App, AppState, message_html
from segnb.widgets._form import name_text

__all__ = ["SetWizard", "SetWizardState"]

OPS = (("and (&, in both)", "&"), ("or (|, in either)", "|"), ("minus (-, not in)", "-"))


class SetWizardState(AppState):
    """State of :class:`SetWizard`: ``expression`` (``"a & b - c"``) and its live ``estimate``."""

    expression = t.Unicode("")
    estimate = t.Int(None, allow_none=True)


class SetWizard(App):
    """Combine active, unexpired segments into a segment-sets segment.

    Pick segments and an operator to append them, or type the expression
    (``&`` intersection, ``|`` union, ``-`` difference, parentheses).

    Examples
    --------
    >>> app = SetWizard(ws); app.state.expression = "vip & active - churned"   # doctest: +SKIP
    >>> app.wait().state.estimate; app.state.name = "combo"; app.create()      # doctest: +SKIP
    """

    state_class = SetWizardState

    def __init__(self, ws: Any, **kwargs: Any) -> None:
        super().__init__(ws, **kwargs)
        self.add_class("segnb-set-wizard")
        s = self.state
        self._sizer = self.debounced(self._estimate)
        active = [seg.name for seg in self._active()]
        self.segment_box = w.Dropdown(
            options=active, description="Segment", layout=w.Layout(width="320px")
        )
        self.op_box = w.Dropdown(options=OPS, layout=w.Layout(width="180px"))
        self.append_button = w.Button(
            description="add to expression", icon="plus", layout=w.Layout(width="auto")
        )
        self.append_button.on_click(
            lambda _: self.append(self.segment_box.value, self.op_box.value)
        )
        expr = w.Text(description="Expression", placeholder="vip & active - churned",
                      layout=w.Layout(width="520px"))  # fmt: skip
        expr.add_class("segnb-expression")
        w.link((s, "expression"), (expr, "value"))
        self._estimate_html = w.HTML(message_html("Estimate: pick segments", MUTED))
        self._estimate_html.add_class("segnb-estimate")
        self.create_button = w.Button(
            description="Create segment", button_style="primary", icon="check"
        )
        self.create_button.add_class("segnb-create")
        self.create_button.on_click(lambda _: self.create())
        self.children = [
            w.HTML("<h3 style='margin:4px 0'>Combine segments</h3>"),
            w.HBox([self.segment_box, self.op_box, self.append_button]),
            expr,
            self._estimate_html,
            w.Accordion(
                children=[self.metadata_form()], titles=("Segment details",), selected_index=0
            ),
            w.HBox([self.create_button, self._status]),
            self._message,
        ]
        s.observe(lambda _: self._sizer.call(), "expression")
        s.observe(self._show, "estimate")

    def _active(self):
        try:
            return self.ws.segments(status="active")
        except SegnbError:
            return []

    def append(self, name: str | None, op: str = "&") -> None:
        """Append ``op name`` to the expression (just ``name`` when it is empty)."""
        if not name:
            return
        expr = self.state.expression.strip()
        self.state.expression = f"{expr} {op} {name_text(name)}" if expr else name_text(name)

    def _estimate(self) -> None:
        expr = self.state.expression.strip()
        if not expr:
            self.state.estimate = None
            return
        try:
            size = self.ws.estimate(expr)
        except (SegnbError, ValueError) as err:
            if self.state.expression.strip() == expr:
                self.state.error, self.state.estimate = str(err), None
            return
        if self.state.expression.strip() == expr:
            self.state.error = ""
            self.state.estimate = size

    def _show(self, change: Any) -> None:
        size = change["new"]
        self._estimate_html.value = (
            message_html("Estimate: …", MUTED) if size is None else
            f'<div class="segnb-estimate-value" data-estimate="{size}" style="color:{GOOD}">'
            f"Estimate: <b>{size:,}</b> {html.escape('members')}</div>"
        )  # fmt: skip

    def check(self) -> list[str]:
        out = self.check_metadata()
        if not self.state.expression.strip():
            out.append("Expression: pick at least two segments")
        return out

    def _create(self):
        s = self.state
        return self.ws.combine(
            s.name.strip(), s.expression.strip(), as_of=s.as_of, **self.options()
        )
