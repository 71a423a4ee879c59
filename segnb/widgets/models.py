"""LookalikeWizard and PredictWizard: model-made segments from segments already saved."""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as w
import traitlets as t

from segnb.errors import SegnbError
from segnb.widgets._base import GOOD, MUTED, App, AppState, labelled, message_html
from segnb.widgets.charts import chart, curve_figure, importance_figure

__all__ = ["LookalikeWizard", "LookalikeWizardState", "PredictWizard", "PredictWizardState"]

MIN_AUDIENCE, MIN_POSITIVE, MIN_NEGATIVE = 1_000, 500, 500
MODELS = ("auto", "logistic", "random_forest", "gradient_boosting")
TENDENCIES = (
    ("high recall (find more)", "high_recall"),
    ("high precision (fewer, surer)", "high_precision"),
)
METRICS = (("accuracy", "Accuracy"), ("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"),
           ("roc_auc", "ROC AUC"), ("lift_10", "Lift, top 10%"), ("lift_20", "Lift, top 20%"),
           ("threshold", "Threshold"), ("selected_share", "Share selected"))  # fmt: skip


def _active(ws: Any) -> list[str]:
    try:
        return [s.name for s in ws.segments(status="active")]
    except SegnbError:
        return []


def _pick(
    state: Any, trait: str, label: str, names: list[str], optional: bool = False
) -> w.Dropdown:
    options = ([("(none)", "")] if optional else [("pick a segment", "")]) + [(n, n) for n in names]
    box = w.Dropdown(options=options, description=label, style={"description_width": "110px"},
                     layout=w.Layout(width="380px"))  # fmt: skip
    box.add_class(f"segnb-{trait}")
    w.link((state, trait), (box, "value"))
    return box


class LookalikeWizardState(AppState):
    """State of :class:`LookalikeWizard`: ``seed``, ``size`` and ``audience`` (segment names)."""

    seed = t.Unicode("")
    size = t.Int(1000)
    audience = t.Unicode("")
    seed_size = t.Int(None, allow_none=True)


class LookalikeWizard(App):
    """The ``size`` entities most like a seed segment, ranked by a model.

    Examples
    --------
    >>> app = LookalikeWizard(ws); app.state.seed = "vip"; app.state.size = 5000   # doctest: +SKIP
    >>> app.state.name = "vip_lal"; seg = app.create()                             # doctest: +SKIP
    """

    state_class = LookalikeWizardState
    #: training settings passed on (``n_jobs``, ``random_state``, ``method``, …)
    training: dict[str, Any] = {}

    def __init__(self, ws: Any, **kwargs: Any) -> None:
        super().__init__(ws, **kwargs)
        self.add_class("segnb-lookalike-wizard")
        s, names = self.state, _active(ws)
        size = w.BoundedIntText(min=1, max=10**9, description="Target size",
                                style={"description_width": "110px"})  # fmt: skip
        w.link((s, "size"), (size, "value"))
        size.add_class("segnb-size")
        self._info = w.HTML()
        self.create_button = w.Button(
            description="Find lookalikes", button_style="primary", icon="magic"
        )
        self.create_button.add_class("segnb-create")
        self.create_button.on_click(lambda _: self.create())
        self.children = [
            w.HTML("<h3 style='margin:4px 0'>Lookalike segment</h3>"),
            _pick(s, "seed", "Seed", names), size, _pick(s, "audience", "Look among", names, True),
            self._info,
            w.Accordion(children=[self.metadata_form()], titles=("Segment details",), selected_index=0),
            w.HBox([self.create_button, self._status]), self._message,
        ]  # fmt: skip
        s.observe(self._seed, "seed")

    def _seed(self, change: Any) -> None:
        try:
            self.state.seed_size = self.ws.segment(change["new"]).size if change["new"] else None
        except SegnbError as err:
            self.state.seed_size, self.state.error = None, str(err)
        n = self.state.seed_size
        self._info.value = "" if n is None else message_html(f"seed: {n:,} members", MUTED)

    def check(self) -> list[str]:
        out = self.check_metadata()
        s = self.state
        if not s.seed:
            out.append("Seed: pick the seed segment")
        if s.size < 1:
            out.append("Target size: at least 1")
        if s.audience and s.audience == s.seed:
            out.append("Look among: the audience must not be the seed itself")
        return out

    def _create(self):
        s = self.state
        return self.ws.lookalike(s.name.strip(), seed=s.seed, size=s.size, audience=s.audience or None,
                                 as_of=s.as_of, **{"progress": False, **self.training},
                                 **self.options())  # fmt: skip


class PredictWizardState(AppState):
    """State of :class:`PredictWizard` (SPEC §4.1).

    ``audience``, ``positive``, ``negative`` are segment names; ``counts``
    their live sizes; ``problems`` the unmet minimums (1,000 / 500 / 500) with
    the counts; ``horizon`` (days, 0: none) trains on features that many
    days before ``as_of``; ``evaluation`` the held-out metrics after training.
    """

    audience = t.Unicode("")
    positive = t.Unicode("")
    negative = t.Unicode("")
    tendency = t.Enum(("high_recall", "high_precision"), default_value="high_recall")
    model = t.Enum(MODELS, default_value="auto")
    horizon = t.Int(0)
    counts = t.Dict()
    evaluation = t.Dict()
    progress = t.Int(0)


class PredictWizard(App):
    """Train a propensity model on saved segments, evaluate it, and save who scores high.

    Examples
    --------
    >>> app = PredictWizard(ws)                                                  # doctest: +SKIP
    >>> app.state.audience, app.state.positive = "active_30d", "bought_last_week"  # doctest: +SKIP
    >>> app.state.problems                        # the minimums, with the counts  # doctest: +SKIP
    >>> app.state.name = "will_buy"; seg = app.create(); app.state.evaluation["roc_auc"]  # doctest: +SKIP
    """

    state_class = PredictWizardState
    #: training settings passed on (``n_jobs``, ``random_state``, ``importances``, …)
    training: dict[str, Any] = {}
    steps = 3

    def __init__(self, ws: Any, **kwargs: Any) -> None:
        super().__init__(ws, **kwargs)
        self.add_class("segnb-predict-wizard")
        s, names = self.state, _active(ws)
        style = {"description_width": "110px"}
        tendency = w.ToggleButtons(options=TENDENCIES, style={"button_width": "auto"})
        w.link((s, "tendency"), (tendency, "value"))
        model = w.Dropdown(options=MODELS, description="Model", style=style)
        w.link((s, "model"), (model, "value"))
        model.add_class("segnb-model")
        horizon = w.BoundedIntText(min=0, max=365, description="Horizon (days)", style=style)
        w.link((s, "horizon"), (horizon, "value"))
        self._counts = w.HTML()
        self._counts.add_class("segnb-counts")
        self.bar = w.IntProgress(min=0, max=self.steps, description="Training", style=style)
        self.bar.layout.visibility = "hidden"
        w.link((s, "progress"), (self.bar, "value"))
        self._evaluation = w.HTML()
        self._evaluation.add_class("segnb-evaluation")
        self._charts = w.VBox()
        self._charts.add_class("segnb-model-charts")
        self.create_button = w.Button(
            description="Train and create", button_style="primary", icon="cogs"
        )
        self.create_button.add_class("segnb-create")
        self.create_button.on_click(lambda _: self.create())
        self.children = [
            w.HTML("<h3 style='margin:4px 0'>AI prediction segment</h3>"),
            _pick(s, "audience", "Audience", names), _pick(s, "positive", "Positive", names),
            _pick(s, "negative", "Negative", names, True), self._counts, labelled("Tendency", tendency),
            model, horizon,
            w.Accordion(children=[self.metadata_form()], titles=("Segment details",), selected_index=0),
            w.HBox([self.create_button, self._status]), self.bar, self._message, self._evaluation,
            self._charts,
        ]  # fmt: skip
        s.observe(self._count, names=["audience", "positive", "negative"])
        s.observe(self._show_evaluation, "evaluation")

    def _size(self, name: str) -> int | None:
        if not name:
            return None
        try:
            return self.ws.segment(name).size
        except SegnbError:
            return None

    def _count(self, change: Any = None) -> None:
        s = self.state
        s.counts = {k: self._size(getattr(s, k)) for k in ("audience", "positive", "negative")}
        s.problems = self.sample_problems()
        lines = []
        for key, least in (
            ("audience", MIN_AUDIENCE),
            ("positive", MIN_POSITIVE),
            ("negative", MIN_NEGATIVE),
        ):
            n = s.counts.get(key)
            if n is None:
                continue
            ok = n >= least
            mark = "✓" if ok else "✗"
            lines.append(f"<span style='color:{GOOD if ok else 'var(--jp-error-color1, #c62828)'}'>"
                         f"{mark} {key}: {n:,} (at least {least:,})</span>")  # fmt: skip
        self._counts.value = "<br>".join(lines)

    def sample_problems(self) -> list[str]:
        """The unmet rules of the samples, with their counts."""
        s, out = self.state, []
        counts = s.counts
        for key, least in (("audience", MIN_AUDIENCE), ("positive", MIN_POSITIVE)):
            if not getattr(s, key):
                out.append(f"{key.capitalize()}: pick a segment")
            elif (counts.get(key) or 0) < least:
                out.append(
                    f"{key.capitalize()}: {counts.get(key) or 0:,} members; at least {least:,} are needed"
                )
        if s.negative and (counts.get("negative") or 0) < MIN_NEGATIVE:
            out.append(
                f"Negative: {counts.get('negative') or 0:,} members; at least {MIN_NEGATIVE:,} are needed"
            )
        if s.positive and s.positive in (s.audience, s.negative):
            out.append("Positive: must differ from the audience and the negative sample")
        return out

    def check(self) -> list[str]:
        self._count()
        return self.check_metadata() + self.sample_problems()

    def _create(self):
        s = self.state
        self.bar.layout.visibility = "visible"
        s.progress = 1
        extra: dict[str, Any] = {}
        if s.horizon:  # stored as given, so a daily refresh trains the same days before its T
            extra["horizon"] = s.horizon
        try:
            seg = self.ws.predict(s.name.strip(), audience=s.audience, positive=s.positive,
                                  negative=s.negative or None, tendency=s.tendency, model=s.model,
                                  as_of=s.as_of, **{"progress": False, **self.training, **extra},
                                  **self.options())  # fmt: skip
            s.progress = 2
            s.evaluation = dict(seg.evaluation())
        finally:
            s.progress = self.steps
        return seg

    def _show_evaluation(self, change: Any) -> None:
        ev = change["new"]
        if not ev:
            self._evaluation.value = ""
            return
        rows = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{label}</th>"
                       f"<td>{_number(ev.get(key))}</td></tr>" for key, label in METRICS if key in ev)  # fmt: skip
        imps = ev.get("feature_importances") or {}
        pairs = sorted(((str(k), float(v)) for k, v in imps.items()), key=lambda kv: -kv[1])[:12]
        tendency = html.escape(self.state.tendency.replace("_", " "))
        self._evaluation.value = (
            f"<b>Held-out evaluation</b> <span style='color:{MUTED}'>(threshold chosen for {tendency}: "
            f"{_number(ev.get('threshold'))})</span><table class='segnb-metrics'>{rows}</table>"
        )
        charts = [
            chart(curve_figure(ev.get("roc_curve") or {}, "ROC curve", "false positive rate",
                               "true positive rate", diagonal=True), "roc-curve"),
            chart(curve_figure(ev.get("pr_curve") or {}, "Precision-recall curve", "recall",
                               "precision"), "pr-curve"),
        ]  # fmt: skip
        if pairs:
            charts.append(chart(importance_figure(pairs), "importances"))
        self._charts.children = [w.HBox(charts[:2]), *charts[2:]]


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))
