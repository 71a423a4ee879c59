"""SegmentBrowser: find segments by group, name, method and status; act on one.

Cards or a list; per segment: details (metadata, rule, SQL, size history,
insights), refresh, export (the file is written and linked), verify an id,
extend validity, delete (with a confirmation naming the id and the name) and
create an operation plan. Groups are added, renamed and deleted (with a
confirmation) from the same bar.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.errors import SegnbError
from segnb.widgets._base import GOOD, MUTED, App, AppState, group_names, message_html
from segnb.widgets.charts import history_points, sparkline
from segnb.widgets.details import details_widgets

__all__ = ["SegmentBrowser", "SegmentBrowserState"]

METHODS = ("", "rules", "sets", "upload", "table", "lookalike", "prediction")
STATUSES = ("", "active", "generating", "failed", "expired")


class SegmentBrowserState(AppState):
    """State of :class:`SegmentBrowser` (SPEC §4.1).

    ``search``, ``group``, ``method`` and ``status`` filter (empty: all);
    ``view`` is ``"card"`` or ``"list"``; ``names`` the segments shown, in
    order; ``selected`` the one the actions apply to; ``confirm`` the question
    awaiting an answer (delete); ``result`` the last action's outcome.
    """

    search = t.Unicode("")
    method = t.Unicode("")
    status = t.Unicode("")
    view = t.Enum(("card", "list"), default_value="card")
    names = t.List(t.Unicode())
    selected = t.Unicode(None, allow_none=True)
    confirm = t.Unicode("")
    result = t.Unicode("")
    export_format = t.Enum(("csv", "parquet"), default_value="csv")
    export_dir = t.Unicode("exports")
    verify_id = t.Unicode("")
    extend_to = t.Any(None, allow_none=True)
    plan_name = t.Unicode("")
    plan_channel = t.Unicode("sms")
    plan_starts = t.Any(None, allow_none=True)
    plan_ends = t.Any(None, allow_none=True)
    group_name = t.Unicode("")  # the name for "add group" and "rename group"


class SegmentBrowser(App):
    """Browse and manage the stored segments.

    Examples
    --------
    >>> app = SegmentBrowser(ws)                    # doctest: +SKIP
    >>> app.state.search = "buy"; app.state.names    # doctest: +SKIP
    ['active_buyers']
    >>> app.state.selected = "active_buyers"; app.refresh_button.click()   # doctest: +SKIP
    """

    state_class = SegmentBrowserState

    def __init__(self, ws: Any, **kwargs: Any) -> None:
        super().__init__(ws, **kwargs)
        self.add_class("segnb-browser")
        s = self.state
        self._pending: Callable[[], Any] | None = None
        self._segments: dict[str, Any] = {}
        style = {"description_width": "initial"}
        self.group_box = w.Dropdown(
            options=[("all groups", "")],
            description="Group",
            style=style,
            layout=w.Layout(width="240px"),
        )
        self.group_box.add_class("segnb-group-filter")
        w.link((s, "group"), (self.group_box, "value"))
        search = w.Text(description="Search", placeholder="name or description", style=style,
                        layout=w.Layout(width="260px"))  # fmt: skip
        w.link((s, "search"), (search, "value"))
        method = w.Dropdown(
            options=[(m or "any method", m) for m in METHODS], layout=w.Layout(width="140px")
        )
        w.link((s, "method"), (method, "value"))
        status = w.Dropdown(
            options=[(x or "any status", x) for x in STATUSES], layout=w.Layout(width="130px")
        )
        w.link((s, "status"), (status, "value"))
        view = w.ToggleButtons(
            options=[("Cards", "card"), ("List", "list")], style={"button_width": "70px"}
        )
        view.add_class("segnb-view")
        w.link((s, "view"), (view, "value"))
        gname = w.Text(placeholder="group name", layout=w.Layout(width="160px"))
        w.link((s, "group_name"), (gname, "value"))
        self.add_group_button = self._button("add group", self.add_group, "plus")
        self.rename_group_button = self._button("rename group", self.rename_group, "pencil")
        self.delete_group_button = self._button("delete group", self.delete_group, "trash")
        self._results = w.Box(layout=w.Layout(flex_flow="row wrap"))
        self._results.add_class("segnb-results")
        self._details = w.VBox()
        self._details.add_class("segnb-details")
        self._result = w.HTML()
        self._result.add_class("segnb-result")
        self._confirm_text = w.HTML()
        self.confirm_button = self._button("Yes, delete", self.confirm, "check", style="danger")
        self.cancel_button = self._button("Cancel", self.cancel, "times")
        self._confirm_box = w.HBox([self._confirm_text, self.confirm_button, self.cancel_button],
                                   layout=w.Layout(display="none"))  # fmt: skip
        self._confirm_box.add_class("segnb-confirm")
        self.refresh_button = self._button("Update", self.refresh_selected, "refresh")
        fmt = w.Dropdown(options=["csv", "parquet"], layout=w.Layout(width="90px"))
        w.link((s, "export_format"), (fmt, "value"))
        self.export_button = self._button("Export", self.export, "download")
        vid = w.Text(placeholder="an id", layout=w.Layout(width="130px"))
        w.link((s, "verify_id"), (vid, "value"))
        self.verify_button = self._button("Verify", self.verify, "search")
        extend = w.DatePicker(layout=w.Layout(width="150px"))
        w.link((s, "extend_to"), (extend, "value"))
        self.extend_button = self._button("Extend validity", self.extend, "calendar")
        self.delete_button = self._button("Delete", self.delete, "trash", style="danger")
        pname = w.Text(placeholder="plan name", layout=w.Layout(width="140px"))
        w.link((s, "plan_name"), (pname, "value"))
        channel = w.Combobox(options=["sms", "email", "push", "ads"], layout=w.Layout(width="90px"))
        w.link((s, "plan_channel"), (channel, "value"))
        starts, ends = (
            w.DatePicker(layout=w.Layout(width="140px")),
            w.DatePicker(layout=w.Layout(width="140px")),
        )
        w.link((s, "plan_starts"), (starts, "value"))
        w.link((s, "plan_ends"), (ends, "value"))
        self.plan_button = self._button("Create plan", self.create_plan, "flag")
        self._actions = w.VBox([
            w.HBox([self.refresh_button, fmt, self.export_button, vid, self.verify_button]),
            w.HBox([extend, self.extend_button, self.delete_button]),
            w.HBox([pname, channel, w.HTML("from"), starts, w.HTML("to"), ends, self.plan_button]),
        ], layout=w.Layout(display="none"))  # fmt: skip
        self._actions.add_class("segnb-actions")
        self.children = [
            w.HBox([self.group_box, gname, self.add_group_button, self.rename_group_button,
                    self.delete_group_button], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([search, method, status, view], layout=w.Layout(flex_flow="row wrap")),
            self._results,
            self._confirm_box,
            self._result,
            self._message,
            self._actions,
            self._details,
        ]  # fmt: skip
        self._groups()
        s.observe(self.reload, names=["search", "group", "method", "status"])
        s.observe(self._render, names=["view", "names"])
        s.observe(self._select, "selected")
        s.observe(self._show_confirm, "confirm")
        s.observe(
            lambda ch: setattr(self._result, "value", message_html(ch["new"], GOOD)), "result"
        )
        self.reload()

    def _button(
        self, label: str, fn: Callable[[], Any], icon: str = "", style: str = ""
    ) -> w.Button:
        button = w.Button(
            description=label, icon=icon, button_style=style, layout=w.Layout(width="auto")
        )
        button.add_class("segnb-" + label.lower().replace(" ", "-").replace(",", ""))
        button.on_click(lambda _: self._run(fn))
        return button

    def _run(self, fn: Callable[[], Any]) -> Any:
        self.state.error = ""
        try:
            return fn()
        except (SegnbError, ValueError, TypeError, LookupError, OSError) as err:
            self.state.error = str(err)
            return None

    # -- the list ----------------------------------------------------------------------

    def _groups(self) -> None:
        names = group_names(self.ws)
        options = [("all groups", "")] + [(n, n) for n in names]
        current = self.state.group
        self.group_box.options = options
        self.state.group = current if current in names else ""
        self.group_box.value = self.state.group

    def reload(self, change: Any = None) -> None:
        """Query the store again with the current filters."""
        s = self.state
        try:
            found = self.ws.segments(group=s.group or None, search=s.search or None,
                                     status=s.status or None, method=s.method or None)  # fmt: skip
        except SegnbError as err:
            s.error = str(err)
            return
        self._segments = {seg.name: seg for seg in found}
        names = [seg.name for seg in found]
        if s.names == names:
            self._render()
        s.names = names
        if s.selected not in self._segments:
            s.selected = None
        else:
            self._select()

    def _info(self, name: str) -> dict[str, Any]:
        try:
            return self._segments[name].to_dict()
        except SegnbError as err:
            return {"name": name, "status": "failed", "error": str(err), "size": None}

    def _pick(self, name: str) -> w.Button:
        button = w.Button(description="open", layout=w.Layout(width="auto"), tooltip=f"open {name}")
        button.add_class("segnb-open")
        button.on_click(lambda _: setattr(self.state, "selected", name))
        return button

    def _render(self, change: Any = None) -> None:
        items = []
        for name in self.state.names:
            info = self._info(name)
            size = "—" if info.get("size") is None else f"{info['size']:,}"
            meta = f"{info.get('method', '')} · {info.get('group', '')} · {info.get('status', '')}"
            if self.state.view == "card":
                points = history_points(self._segments.get(name))
                body = w.HTML(
                    f"<div style='font-weight:600'>{html.escape(name)}</div>"
                    f"<div style='font-size:1.3em'>{size}</div>"
                    f"<div style='color:{MUTED};font-size:0.85em'>{html.escape(meta)}</div>"
                )
                line = sparkline(points)
                parts = [body] + ([line] if line is not None else []) + [self._pick(name)]
                card = w.VBox(parts, layout=w.Layout(
                    width="220px", margin="4px", padding="6px",
                    border="1px solid var(--jp-border-color2, #ccc)"))  # fmt: skip
                card.add_class("segnb-card")
                items.append(card)
            else:
                row = w.HBox([self._pick(name), w.HTML(
                    f"<b>{html.escape(name)}</b> &nbsp; {size} &nbsp; "
                    f"<span style='color:{MUTED}'>{html.escape(meta)}</span>")],
                    layout=w.Layout(width="100%"))  # fmt: skip
                row.add_class("segnb-row")
                items.append(row)
        if not items:
            items = [w.HTML(f"<i style='color:{MUTED}'>no segments match</i>")]
        self._results.layout.flex_flow = "row wrap" if self.state.view == "card" else "column"
        self._results.children = items

    def _select(self, change: Any = None) -> None:
        name = self.state.selected
        self._actions.layout.display = "none" if name is None else "flex"
        if name is None:
            self._details.children = []
            return
        seg = self._segments.get(name) or self.ws.segment(name)
        self._details.children = details_widgets(seg)

    def _selected(self):
        if not self.state.selected:
            raise SegnbError("pick a segment first (its 'open' button)")
        return self.ws.segment(self.state.selected)

    # -- per-segment actions -----------------------------------------------------------------

    def refresh_selected(self):
        seg = self._selected().refresh(as_of=self.state.as_of)
        self.state.result = f"{seg.name}: version {seg.version}, {seg.size:,} members"
        self.reload()
        return seg

    def export(self) -> Path:
        seg = self._selected()
        folder = Path(self.state.export_dir or ".")
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.date.today().isoformat()
        path = seg.export(folder / f"{seg.name}_{stamp}.{self.state.export_format}")
        rel = os.path.relpath(path)
        self.state.result = f"exported {seg.name} to {rel}"
        self._result.value += (f'<a class="segnb-export-link" href="{html.escape(rel)}" '
                               f'download target="_blank">download {html.escape(path.name)}</a>')  # fmt: skip
        self.exported = path
        return path

    def verify(self):
        seg = self._selected()
        if not self.state.verify_id.strip():
            raise SegnbError("type the id to look for")
        found = seg.verify(self.state.verify_id.strip())
        self.verification = found
        if found:
            since = getattr(found, "since_as_of", None) or getattr(found, "since_version", "")
            self.state.result = f"{self.state.verify_id} is in {seg.name} (since {since})"
        else:
            self.state.result = f"{self.state.verify_id} is not in {seg.name}"
        return found

    def extend(self):
        if self.state.extend_to is None:
            raise SegnbError("pick the new expiry date")
        seg = self._selected().extend(expires=self.state.extend_to)
        self.state.result = f"{seg.name} now expires on {self.state.extend_to}"
        self._select()
        return seg

    def delete(self) -> None:
        seg = self._selected()
        name, sid = seg.name, seg.id
        self._pending = lambda: self._delete(name)
        self.state.confirm = f"Delete segment {name!r} (id {sid})? This cannot be undone."

    def _delete(self, name: str) -> None:
        self.ws.segment(name).delete()
        self.state.result = f"deleted {name}"
        self.state.selected = None
        self.reload()

    def create_plan(self):
        seg = self._selected()
        s = self.state
        if not s.plan_name.strip():
            raise SegnbError("name the operation plan")
        plan = self.ws.plans.create(s.plan_name.strip(), segment=seg.name, channel=s.plan_channel,
                                    starts=s.plan_starts, ends=s.plan_ends)  # fmt: skip
        s.result = f"plan {plan['name']!r}: {seg.name} to {plan['channel']}"
        return plan

    # -- groups ---------------------------------------------------------------------------

    def add_group(self) -> str:
        name = self.ws.groups.create(self.state.group_name.strip())
        self._groups()
        self.state.result = f"group {name!r} added"
        return name

    def rename_group(self) -> str:
        old = self.state.group
        if not old:
            raise SegnbError("pick the group to rename in the Group list")
        new = self.ws.groups.rename(old, self.state.group_name.strip())
        self._groups()
        self.state.group = new
        self.state.result = f"group {old!r} renamed to {new!r}"
        return new

    def delete_group(self) -> None:
        name = self.state.group
        if not name:
            raise SegnbError("pick the group to delete in the Group list")
        count = sum(1 for info in map(self._info, self.state.names) if info.get("group") == name)
        self._pending = lambda: self._delete_group(name)
        self.state.confirm = (f"Delete group {name!r}? Its {count} segment(s) move to "
                              f"{self.ws.groups.default!r}.")  # fmt: skip

    def _delete_group(self, name: str) -> None:
        moved = self.ws.groups.delete(name)
        self.state.group = ""
        self._groups()
        self.state.result = f"group {name!r} deleted; {moved} segment(s) moved"

    # -- confirmations ------------------------------------------------------------------------

    def confirm(self) -> Any:
        action, self._pending = self._pending, None
        self.state.confirm = ""
        return action() if action is not None else None

    def cancel(self) -> None:
        self._pending = None
        self.state.confirm = ""

    def _show_confirm(self, change: Any) -> None:
        self._confirm_text.value = message_html(change["new"])
        self._confirm_box.layout.display = "flex" if change["new"] else "none"
