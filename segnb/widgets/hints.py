"""Warnings about rules that parse but are probably not what the user meant (the wizard's view).

The check itself is the engine's (:mod:`segnb.segments.warnings`, ``ws.warnings``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["rule_warnings"]


def rule_warnings(ws: Any, rule: Any, entity: Any = None) -> list[str]:
    """``ws.warnings(rule, entity)``: enum values in ``rule`` that no entity has."""
    return ws.warnings(rule, entity)
