"""Constants of the report tests (the fixtures are in reports_helpers.py)."""

from __future__ import annotations

import datetime

from store_tools import AS_OF

__all__ = ["AS_OF", "BUYERS", "DAYS"]

BUYERS = "count(purchase, T-6..T) >= 2 and not is_black_list"
DAYS = [AS_OF - datetime.timedelta(days=d) for d in range(6, -1, -1)]  # a week of versions
