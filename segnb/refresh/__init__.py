"""Scheduled work: notebook runs with papermill, due refreshes, cron schedules, e-mails.

- :mod:`segnb.refresh.runs`: ``segnb run`` — execute a notebook, keep the executed copy,
  record the run and what it touched
- :mod:`segnb.refresh.due`: ``segnb refresh`` — due daily segments, in dependency order,
  each isolated
- :mod:`segnb.refresh.schedule`: ``segnb schedule`` — cron entries (python-crontab)
- :mod:`segnb.refresh.notify`: notification and expiry e-mails through SMTP

Importing this package imports neither papermill nor python-crontab; they load when used.

Examples
--------
>>> from segnb.refresh import refresh_segments
>>> report = refresh_segments(ws, due=True)          # doctest: +SKIP
>>> print(report)                                    # doctest: +SKIP
refreshed 3 of 4 segments, 1 failed
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Mailer",
    "NotebookRun",
    "RefreshReport",
    "Schedule",
    "due_segments",
    "install_schedule",
    "list_schedules",
    "notebook_runs",
    "plan_schedule",
    "refresh_segments",
    "remove_schedules",
    "run_notebook",
    "warn_expiring",
]

_WHERE = {
    "Mailer": "notify",
    "warn_expiring": "notify",
    "NotebookRun": "runs",
    "notebook_runs": "runs",
    "run_notebook": "runs",
    "RefreshReport": "due",
    "due_segments": "due",
    "refresh_segments": "due",
    "Schedule": "schedule",
    "install_schedule": "schedule",
    "list_schedules": "schedule",
    "plan_schedule": "schedule",
    "remove_schedules": "schedule",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'segnb.refresh' has no attribute {name!r}")
    return getattr(importlib.import_module(f"segnb.refresh.{module}"), name)
