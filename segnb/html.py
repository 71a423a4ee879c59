"""HTML pieces shared by the notebook faces (rich results, reports).

Everything that reaches a page goes through :func:`esc`; nothing here runs
a query or imports IPython.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["CELL", "STATUS_COLORS", "badge", "esc", "kv_table", "number"]

#: status -> (background, text) colours of a badge
STATUS_COLORS = {
    "active": ("#e6f4ea", "#1e7b34"),
    "succeeded": ("#e6f4ea", "#1e7b34"),
    "generating": ("#fff4e5", "#8a5300"),
    "running": ("#fff4e5", "#8a5300"),
    "failed": ("#fdecea", "#b3261e"),
    "expired": ("#eeeeee", "#555555"),
}
CELL = "text-align:left;padding:1px 10px 1px 0;vertical-align:top;border:none"


def esc(value: Any) -> str:
    """``value`` as HTML text (None: empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def number(value: Any) -> str:
    """``1234`` -> ``1,234``; None or NaN -> an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return esc(value)


def badge(status: str, style: str = "padding:0 6px;border-radius:8px;font-size:12px") -> str:
    """A coloured status pill."""
    back, fore = STATUS_COLORS.get(status, ("#eeeeee", "#333333"))
    return (
        f'<span class="segnb-status segnb-{esc(status)}" style="background:{back};color:{fore};'
        f'{style}">{esc(status)}</span>'
    )


def kv_table(
    rows: Iterable[tuple[str, str]],
    *,
    cell: str = CELL,
    label: str = "font-weight:600;color:var(--jp-ui-font-color2, #666)",
    style: str = "border-collapse:collapse;margin:4px 0",
) -> str:
    """A two-column table of already-escaped ``(label, html)`` pairs; empty values skipped."""
    body = "".join(
        f'<tr><th style="{cell};{label}">{esc(k)}</th><td style="{cell}">{v}</td></tr>'
        for k, v in rows
        if v not in (None, "")
    )
    return f'<table class="segnb-fields" style="{style}">{body}</table>'
