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

from segnb.engine.catalog import Catalog
from segnb.engine.workspace import Workspace, connect
from segnb.errors import (
    CatalogError,
    NotAvailableError,
    RuleError,
    RuleSyntaxError,
    RuleTypeError,
    SegnbError,
    UnknownNameError,
    WarehouseError,
)

__version__ = "0.1.0"

__all__ = [
    "Catalog",
    "CatalogError",
    "NotAvailableError",
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "SegnbError",
    "UnknownNameError",
    "WarehouseError",
    "Workspace",
    "__version__",
    "connect",
]
