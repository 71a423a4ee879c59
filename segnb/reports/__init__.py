"""Segment reports: the sections the report notebooks show, static HTML, Voilà pages.

- :mod:`segnb.reports.page`: :class:`SegmentReport`, whose sections have
  ``_repr_html_`` and ``data``
- :mod:`segnb.reports.overview`: :class:`OverviewReport`, every segment at a glance
- :mod:`segnb.reports.charts`: the charts (plotly, offline), shared with the widget apps
- :mod:`segnb.reports.render`: ``render_html`` (papermill + nbconvert) and ``serve`` (Voilà)

The notebooks are ``templates/segment_report.ipynb`` and
``templates/segments_overview.ipynb``.

Examples
--------
>>> from segnb import reports
>>> reports.render_html("vip.html", "vip", url="duckdb:///warehouse.duckdb")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Notice",
    "OverviewReport",
    "ReportError",
    "ReportServer",
    "Section",
    "SegmentReport",
    "check_report",
    "parameters",
    "render_html",
    "serve",
    "serve_report",
    "template_path",
    "viewable",
]

_WHERE = {
    "Notice": "notice",
    "viewable": "notice",
    "OverviewReport": "overview",
    "Section": "page",
    "SegmentReport": "page",
    "parameters": "page",
    "ReportError": "render",
    "ReportServer": "render",
    "render_html": "render",
    "serve": "render",
    "serve_report": "render",
    "template_path": "render",
    "check_report": "render",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'segnb.reports' has no attribute {name!r}")
    return getattr(importlib.import_module(f"segnb.reports.{module}"), name)
