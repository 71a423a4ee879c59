"""Charts of the apps: the size history of a segment, by date (as in its report)."""

from __future__ import annotations

from typing import Any

from segnb.errors import SegnbError
from segnb.reports.charts import history_points as _points
from segnb.reports.charts import size_history_svg

__all__ = ["history_points", "history_svg", "sparkline_html"]


def history_points(seg: Any) -> list[tuple[Any, int]]:
    """``(as_of, size)`` per day of ``seg`` (none for None or a segment without versions)."""
    if seg is None:
        return []
    try:
        return _points(seg)
    except (SegnbError, KeyError, AttributeError):
        return []


def sparkline_html(points: list[tuple[Any, int]]) -> str:
    """A small size-history chart for a card: the same points as the report's chart."""
    if len(points) < 2:
        return ""
    return size_history_svg(points, width=200, height=70, heading=False, title="Size history")


def history_svg(points: list[tuple[Any, int]], unit: str = "") -> str:
    """The full size-history chart of the details panel."""
    return size_history_svg(points, unit=unit, heading=False)
