"""What a report page shows when it cannot be made: one short message, never a traceback.

``viewable(SegmentReport.open, name, url=…)`` gives the report, or a
:class:`Notice` when opening it fails with a segnb error (an unknown
segment, an unreachable warehouse, a busy store). A notice answers every
section a report has: its header says what went wrong and what to do, the
other sections are empty.

Examples
--------
>>> page = viewable(lambda: (_ for _ in ()).throw(SegnbError("no segment 'vip'")))
>>> page.header().data
{'error': "no segment 'vip'"}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from segnb.errors import SegnbError
from segnb.html import esc
from segnb.reports.charts import PALETTE
from segnb.reports.page import Section

__all__ = ["Notice", "viewable"]

#: the sections of the segment and overview reports
SECTIONS = (
    "size_history", "insights", "model", "definition", "sample", "footer", "sizes", "table",
    "runs",
)  # fmt: skip


class Notice:
    """A report that could not be made: its header is the message, the rest is empty."""

    def __init__(self, message: str) -> None:
        self.message = message

    def header(self) -> Section:
        body = (
            '<h2 style="font-size:17px;margin:6px 0">This report cannot be shown</h2>'
            f'<p style="color:{PALETTE["text"]};margin:4px 0">{esc(self.message)}</p>'
        )
        return Section("notice", body, {"error": self.message})

    def __getattr__(self, name: str) -> Callable[..., Section]:
        if name in SECTIONS:
            return lambda *args, **kwargs: Section(name, "", {})
        raise AttributeError(name)

    def sections(self) -> list[Section]:
        return [self.header()]

    def close(self) -> None:
        """Nothing to let go of."""


def viewable(opener: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``opener(*args, **kwargs)``, or a :class:`Notice` with its error's message."""
    try:
        return opener(*args, **kwargs)
    except SegnbError as exc:
        return Notice(str(exc))
