"""The widget apps: build, browse and combine segments without writing a rule.

Each app is an ``ipywidgets`` container with a ``state`` (traitlets) that its
widgets are linked to both ways, ``wait()`` and ``create()`` (SPEC §4.1)::

    from segnb.widgets import SegmentWizard
    SegmentWizard(ws)

Needs ``pip install 'segnb[notebook]'`` (``segnb[lab]`` adds JupyterLab).
"""

from __future__ import annotations

from segnb.widgets.browser import SegmentBrowser
from segnb.widgets.hints import rule_warnings
from segnb.widgets.models import LookalikeWizard, PredictWizard
from segnb.widgets.sets import SetWizard
from segnb.widgets.upload import UploadWizard
from segnb.widgets.wizard import SegmentWizard

__all__ = [
    "LookalikeWizard",
    "PredictWizard",
    "SegmentBrowser",
    "SegmentWizard",
    "SetWizard",
    "UploadWizard",
    "rule_warnings",
]
