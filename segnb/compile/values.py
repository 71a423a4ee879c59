"""What the rule compiler's operands compile to: an Ibis expression and its column type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.datatypes as dt

__all__ = ["Value"]


@dataclass(frozen=True)
class Value:
    """A compiled operand: its Ibis expression and column type."""

    expr: Any
    dtype: dt.DataType
