"""segnb: audience segmentation and AI user prediction in Jupyter.

Importing segnb imports neither IPython, ipywidgets nor scikit-learn; the
notebook faces load them when used (``%load_ext segnb``).

Examples
--------
>>> import segnb
>>> ws = segnb.connect("duckdb:///warehouse.duckdb")    # doctest: +SKIP
>>> ws.estimate("count(purchase, T-6..T) >= 2 and not is_black_list")  # doctest: +SKIP
"""

from __future__ import annotations

from segnb.catalog.model import Catalog
from segnb.connection import connect
from segnb.errors import (
    CatalogError,
    DuplicateNameError,
    InvalidValueError,
    NotAvailableError,
    RuleError,
    RuleSyntaxError,
    RuleTypeError,
    RuleWarning,
    SegmentBusyError,
    SegmentNotFoundError,
    SegmentStateError,
    SegnbError,
    StoreBusyError,
    StoreError,
    UnknownNameError,
    UploadError,
    WarehouseError,
)
from segnb.segments.segment import Segment
from segnb.settings import Settings
from segnb.workspace import Workspace

__version__ = "0.1.0"


def load_ipython_extension(ipython):
    """``%load_ext segnb``: register ``%segnb``, ``%segment`` and ``%%segment``."""
    from segnb.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    """``%unload_ext segnb``: remove the magics and close their connection."""
    from segnb.magics import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "Catalog",
    "CatalogError",
    "DuplicateNameError",
    "InvalidValueError",
    "NotAvailableError",
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "RuleWarning",
    "Segment",
    "SegmentBusyError",
    "SegmentNotFoundError",
    "SegmentStateError",
    "SegnbError",
    "Settings",
    "StoreBusyError",
    "StoreError",
    "UnknownNameError",
    "UploadError",
    "WarehouseError",
    "Workspace",
    "__version__",
    "connect",
]
