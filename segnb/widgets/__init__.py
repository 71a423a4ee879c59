"""The widget apps: build, browse and combine segments without writing a rule.

Each app is an ``ipywidgets`` container with a ``state`` (traitlets) that its
widgets are linked to both ways, ``wait()`` and ``create()`` (SPEC §4.1)::

    from segnb.widgets import SegmentWizard
    SegmentWizard(ws)

Needs ``pip install 'segnb[notebook]'`` (``segnb[lab]`` adds JupyterLab).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "SegmentWizard": "wizard",
    "SegmentBrowser": "browser",
    "SetWizard": "sets",
    "UploadWizard": "upload",
    "LookalikeWizard": "models",
    "PredictWizard": "models",
    "rule_warnings": "hints",
}


def __getattr__(name: str) -> Any:  # the apps import ipywidgets only when asked for
    if name in _WHERE:
        return getattr(importlib.import_module(f"segnb.widgets.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'segnb.widgets' has no attribute {name!r}")


__all__ = [
    "LookalikeWizard",
    "PredictWizard",
    "SegmentBrowser",
    "SegmentWizard",
    "SetWizard",
    "UploadWizard",
    "rule_warnings",
]
