"""What every app shares: the metadata state, the debounced estimate, the metadata form.

An app is an ``ipywidgets.VBox`` with a ``state`` (a traitlets ``HasTraits``)
that its widgets are linked to both ways (SPEC §4.1). Python drives an app by
setting ``state`` traits and calling ``Button.click()`` or ``app.create()``;
``app.wait()`` returns once the debounced estimates have run.
"""

from __future__ import annotations

import datetime as dt
import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.errors import SegnbError
from segnb.segments import options
from segnb.segments.options import EMAIL, REFRESH, SCOPES

__all__ = ["App", "AppState", "Debounced", "group_names", "labelled", "message_html"]

SCENARIOS = {"": "(none)", **options.SCENARIOS}
# colours that read on light and dark JupyterLab themes (theme variables, with fallbacks)
ERROR = "var(--jp-error-color1, #c62828)"
WARN = "var(--jp-warn-color1, #b26a00)"
GOOD = "var(--jp-success-color1, #2e7d32)"
MUTED = "var(--jp-ui-font-color2, #6b7785)"


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise t.TraitError(f"{value!r} is not a date; write YYYY-MM-DD") from None


class AppState(t.HasTraits):
    """The traits every app has: the new segment's metadata (SPEC §2), ``as_of`` and ``error``.

    Dates (``expires``, ``as_of``) take a ``datetime.date``, ``'YYYY-MM-DD'``
    or None (never / today).
    """

    name = t.Unicode("")
    group = t.Unicode("")
    description = t.Unicode("")
    refresh = t.Enum(REFRESH, default_value="once")
    scenario = t.Unicode("")
    tz = t.Unicode("")
    expires = t.Any(None, allow_none=True)
    time_sensitive = t.Bool(False)
    email = t.Unicode("")
    scope = t.Enum(SCOPES, default_value="public")
    shared_with = t.Unicode("")  # comma-separated user names
    as_of = t.Any(None, allow_none=True)
    error = t.Unicode("")
    problems = t.List(t.Unicode())
    status = t.Unicode("")
    busy = t.Bool(False)

    @t.validate("expires", "as_of")
    def _dates(self, proposal):
        return _date(proposal["value"])


def message_html(text: str, color: str = ERROR) -> str:
    """A message for an HTML widget, in a colour that reads on light and dark themes."""
    if not text:
        return ""
    body = html.escape(text).replace("\n", "<br>")
    return f'<div class="segnb-message" style="color:{color};white-space:pre-wrap;font-family:var(--jp-code-font-family,monospace)">{body}</div>'


class Debounced:
    """Run ``fn`` in a worker thread after a change; :meth:`wait` flushes it.

    The first change after a quiet spell runs at once (leading edge); changes
    that follow within ``delay`` seconds are folded into one run ``delay``
    after the last of them (trailing edge). ``fn`` runs under ``lock`` (one
    warehouse query at a time per connection); the notebook stays responsive.
    """

    def __init__(self, fn: Callable[[], None], delay: float, lock: Any) -> None:
        self.fn = fn
        self.delay = delay
        self.lock = lock
        self._timer: threading.Timer | None = None
        self._guard = threading.Lock()
        self._pending = False
        self._running: set[int] = set()  # threads that took a change and have not finished
        self._done = threading.Condition(self._guard)
        self._last = float("-inf")

    def call(self) -> None:
        with self._guard:
            now = time.monotonic()
            quiet = self._timer is None and now - self._last >= self.delay
            self._last = now
            if self._timer is not None:
                self._timer.cancel()
            self._pending = True
            self._timer = None
            if self.delay > 0:
                self._timer = threading.Timer(0 if quiet else self.delay, self._run)
                self._timer.daemon = True
                self._timer.start()
                return
        self._run()

    @property
    def pending(self) -> bool:
        """A change is waiting for its run."""
        return self._pending

    def _run(self) -> None:
        with self._guard:
            if self._timer is threading.current_thread():
                self._timer = None
            if not self._pending:
                return
            self._pending = False
            me = threading.get_ident()
            self._running.add(me)
        try:
            with self.lock:
                self.fn()
        finally:
            with self._guard:
                self._running.discard(me)
                self._done.notify_all()

    def wait(self, timeout: float | None = None) -> None:
        with self._guard:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            if timer.is_alive() and timer is not threading.current_thread():
                timer.join(timeout)
        self._run()
        with self._guard:  # a run already under way (in a timer's thread) finishes first
            me = threading.get_ident()
            self._done.wait_for(lambda: not self._running - {me}, timeout)


class App(w.VBox):
    """Base of the six apps: ``state``, ``wait()``, ``create()``, messages and a metadata form.

    Parameters
    ----------
    ws
        A connected :class:`segnb.Workspace`.
    """

    #: seconds that fold quick changes into one live estimate (the first runs at once)
    debounce = 0.2
    state_class: type[AppState] = AppState
    title = ""

    def __init__(self, ws: Any, **kwargs: Any) -> None:
        self.ws = ws
        self.state = self.state_class()
        self._lock = (
            threading.RLock()
        )  # one warehouse query at a time: the estimates run in a thread
        self._debounced: list[Debounced] = []
        self._message = w.HTML(layout=w.Layout(min_height="0"))
        self._message.add_class("segnb-error")
        self._status = w.HTML()
        self._status.add_class("segnb-status")
        self.state.observe(self._show_message, names=["error", "problems"])
        self.state.observe(lambda change: setattr(self._status, "value", change["new"]), "status")
        super().__init__(**kwargs)
        self.add_class("segnb-app")

    # -- the contract ------------------------------------------------------------

    def wait(self, timeout: float | None = 30) -> App:
        """Return once pending (debounced) estimates are done."""
        for job in self._debounced:
            job.wait(timeout)
        return self

    def create(self):
        """Do what the Create button does; the new Segment, or None after a mistake."""
        self.wait()
        with self._lock:
            problems = self.check()
        self.state.problems = problems
        if problems:
            self.state.error = problems[0] if len(problems) == 1 else "\n".join(problems)
            return None
        self.state.error = ""
        self.state.busy = True
        self.state.status = message_html("Creating… (status: generating)", MUTED)
        try:
            with self._lock:
                seg = self._create()
        except (SegnbError, ValueError, TypeError, LookupError) as err:
            self.state.error = str(err)
            self.state.status = ""
            return None
        finally:
            self.state.busy = False
        self.state.status = _created(seg)
        self.created(seg)
        return seg

    def check(self) -> list[str]:
        """What stops Create, in the words the app shows (empty: good to go)."""
        return self.check_metadata()

    def _create(self):  # pragma: no cover - every app overrides
        raise NotImplementedError

    def created(self, seg: Any) -> None:
        """Hook after a successful create."""

    # -- helpers -----------------------------------------------------------------

    def debounced(self, fn: Callable[[], None]) -> Debounced:
        job = Debounced(fn, self.debounce, self._lock)
        self._debounced.append(job)
        return job

    def _show_message(self, change: Any = None) -> None:
        text = self.state.error
        if not text and self.state.problems:
            text = "\n".join(self.state.problems)
        self._message.value = message_html(text)

    def today(self) -> dt.date:
        return self.state.as_of or dt.date.today()

    def check_metadata(self) -> list[str]:
        """Name unique and set, expiry not past, e-mail well-formed, shared needs users."""
        s, out = self.state, []
        name = s.name.strip()
        if not name:
            out.append("Name: give the segment a name")
        elif name in self.ws.segment_names():
            out.append(f"Name: a segment called {name!r} already exists; pick another name")
        today = dt.date.today()
        if s.expires is not None and s.expires < today:
            out.append(f"Expires: {s.expires} is in the past (today is {today})")
        if s.email and not EMAIL.match(s.email.strip()):
            out.append(f"E-mail: {s.email!r} is not an address like team@example.com")
        if s.scope == "shared" and not self._shared():
            out.append("Scope: 'shared' needs the user names to share with")
        if s.time_sensitive and s.refresh != "daily":
            out.append("Time-sensitive: only daily segments can refuse stale data")
        return out

    def _shared(self) -> list[str]:
        return [u.strip() for u in self.state.shared_with.split(",") if u.strip()]

    def options(self) -> dict[str, Any]:
        """The segment options of the metadata form, for ``ws.create_segment(**options)``."""
        s = self.state
        out: dict[str, Any] = {
            "description": s.description,
            "refresh": s.refresh,
            "expires": s.expires,
            "scope": s.scope,
        }
        if s.group.strip():
            out["group"] = s.group.strip()
        if s.scenario:
            out["scenario"] = s.scenario
        if s.tz.strip():
            out["tz"] = s.tz.strip()
        if s.email.strip():
            out["email"] = s.email.strip()
        if s.time_sensitive:
            out["time_sensitive"] = True
        if s.scope == "shared":
            out["shared_with"] = self._shared()
        return out

    def metadata_form(self) -> w.Widget:
        """The SPEC §2 fields as widgets linked to ``state``."""
        s = self.state
        style = {"description_width": "110px"}
        wide = w.Layout(width="420px")

        def text(trait: str, label: str, placeholder: str = "") -> w.Text:
            box = w.Text(description=label, placeholder=placeholder, style=style, layout=wide)
            w.link((s, trait), (box, "value"))
            box.add_class(f"segnb-{trait.replace('_', '-')}")
            return box

        groups = group_names(self.ws)
        group = w.Combobox(description="Group", options=groups, placeholder="Default Group",
                           ensure_option=False, style=style, layout=wide)  # fmt: skip
        w.link((s, "group"), (group, "value"))
        refresh = w.ToggleButtons(options=REFRESH, style={"button_width": "80px"})
        w.link((s, "refresh"), (refresh, "value"))
        scenario = w.Dropdown(options=[(v, k) for k, v in SCENARIOS.items()],
                              description="Usage", style=style, layout=wide)  # fmt: skip
        w.link((s, "scenario"), (scenario, "value"))
        expires = w.DatePicker(description="Expires", style=style)
        w.link((s, "expires"), (expires, "value"))
        expires.add_class("segnb-expires")
        sensitive = w.Checkbox(description="Time-sensitive (daily only)", indent=False)
        w.link((s, "time_sensitive"), (sensitive, "value"))
        scope = w.ToggleButtons(options=SCOPES, style={"button_width": "80px"})
        w.link((s, "scope"), (scope, "value"))
        as_of = w.DatePicker(description="As of", style=style)
        w.link((s, "as_of"), (as_of, "value"))
        as_of.add_class("segnb-as-of")
        return w.VBox(
            [
                text("name", "Name", "e.g. active_buyers"),
                group,
                text("description", "Description"),
                labelled("Refresh", refresh),
                scenario,
                expires,
                sensitive,
                text("tz", "Time zone", "e.g. Asia/Shanghai (default: the workspace's)"),
                text("email", "E-mail", "notify team@example.com"),
                labelled("Scope", scope),
                text("shared_with", "Shared with", "alice, bob"),
                as_of,
            ],
            layout=w.Layout(padding="4px 0"),
        )


def labelled(label: str, widget: w.Widget) -> w.HBox:
    """A widget with a label as wide as the form's descriptions (ToggleButtons put theirs above)."""
    text = w.HTML(f"<div style='text-align:right;padding-right:8px'>{html.escape(label)}</div>",
                  layout=w.Layout(width="114px"))  # fmt: skip
    return w.HBox([text, widget], layout=w.Layout(align_items="center"))


def group_names(ws: Any) -> list[str]:
    """The groups of the store, the default group first."""
    try:
        groups = ws.groups
        names = [str(g) for g in groups]
        default = groups.default
    except (SegnbError, AttributeError, TypeError):
        return []
    return [default] + [n for n in names if n != default]


def _created(seg: Any) -> str:
    try:
        status, size = seg.status, seg.size
    except SegnbError as err:  # pragma: no cover - a segment that fails right after
        return message_html(str(err))
    color = GOOD if status == "active" else WARN
    sized = "" if size is None else f": {size:,} members"
    return message_html(f"Created {seg.name!r} (status: {status}){sized}", color)
