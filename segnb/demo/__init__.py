"""The demo warehouse generator (``segnb demo``): not part of the engine."""

from __future__ import annotations

from segnb.demo.warehouse import DEMO_CATALOG, TABLES, DemoError, DemoInfo, demo_catalog, generate

__all__ = ["DEMO_CATALOG", "TABLES", "DemoError", "DemoInfo", "demo_catalog", "generate"]
