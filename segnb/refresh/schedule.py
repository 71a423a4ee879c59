"""``segnb schedule``: cron entries that run a notebook or the due refresh every day.

An entry is one crontab line written with python-crontab, marked by a
comment (``# segnb: notebook /abs/path.ipynb`` or ``# segnb: refresh --due``)
so ``--list`` and ``--remove`` find it and installing again replaces it. It
changes to the working directory (where ``segnb.toml`` is), runs this
Python's segnb and appends its output to ``segnb-cron.log`` there.

Cron runs in the machine's time zone. A time in another zone is converted;
when daylight saving makes the conversion change during the year, the entry
runs at both candidate hours and ``--only-at HH:MM --tz ZONE`` lets only the
right one through (:func:`segnb.refresh.runs.scheduled_now`).

Examples
--------
>>> s = plan_schedule("daily.ipynb", daily="06:00", tz="Asia/Shanghai", system_tz="UTC")   # doctest: +SKIP
>>> s.line                                                                            # doctest: +SKIP
"0 22 * * * cd /home/me/project && /usr/bin/python3 -m segnb.cli run ... # segnb: notebook ..."
>>> install_schedule(s)             # the user's crontab                               # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segnb.errors import InvalidValueError
from segnb.refresh.session import Target

__all__ = [
    "LOG_FILE",
    "MARK",
    "Schedule",
    "install_schedule",
    "list_schedules",
    "parse_time",
    "plan_schedule",
    "remove_schedules",
    "system_zone",
    "zone",
]

MARK = "segnb:"
LOG_FILE = "segnb-cron.log"
REFRESH_TARGET = "refresh --due"
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Schedule:
    """One cron entry of segnb: what it runs, when, and the crontab line."""

    kind: str  # "notebook" | "refresh"
    target: str  # the notebook's absolute path, or "refresh --due"
    daily: str  # HH:MM in ``tz``
    tz: str | None
    line: str  # the whole crontab line

    @property
    def comment(self) -> str:
        """The marker comment that names the entry."""
        if self.kind == "notebook":
            return f"{MARK} notebook {self.target}"
        return f"{MARK} {self.target}"

    @property
    def timing(self) -> str:
        """The five time fields of the line."""
        return " ".join(self.line.split()[:5])

    def __str__(self) -> str:
        return self.line


def parse_time(text: str) -> tuple[int, int]:
    """``"06:00"`` -> ``(6, 0)``; a clear error for anything else."""
    match = _TIME.match(str(text).strip())
    if not match:
        raise InvalidValueError(f"--daily {text!r} is not a time of day; write HH:MM, e.g. 06:00")
    return int(match.group(1)), int(match.group(2))


def zone(name: str | None):
    """The ZoneInfo of an IANA name; the machine's zone when None."""
    if name is None:
        return system_zone()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValueError(
            f"unknown time zone {name!r}; use an IANA name like 'Asia/Shanghai'"
        ) from None


def system_zone():
    """The time zone cron runs in: ``$TZ``, ``/etc/timezone``, ``/etc/localtime``, else UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    with contextlib.suppress(OSError):
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _local_times(hour: int, minute: int, tz, system, year_from: dt.date) -> list[tuple[int, int]]:
    """The machine-local (hour, minute) of ``hour:minute`` in ``tz`` over the coming year."""
    seen: list[tuple[int, int]] = []
    for offset in range(0, 366):
        day = year_from + dt.timedelta(days=offset)
        moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz).astimezone(system)
        pair = (moment.hour, moment.minute)
        if pair not in seen:
            seen.append(pair)
    return seen


def plan_schedule(
    notebook: str | os.PathLike | None = None,
    *,
    daily: str,
    tz: str | None = None,
    due_refresh: bool = False,
    url: str | None = None,
    catalog: str | None = None,
    output_dir: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
    python: str | None = None,
    system_tz: str | None = None,
    today: dt.date | None = None,
) -> Schedule:
    """The cron entry that runs ``notebook`` (or ``segnb refresh --due``) daily at ``daily``.

    Parameters
    ----------
    notebook
        The notebook ``segnb run`` executes; None with ``due_refresh=True``.
    daily, tz
        Time of day ``HH:MM`` in the IANA zone ``tz`` (default: the machine's).
    url, catalog, output_dir
        Passed on to ``segnb run``/``segnb refresh`` (made absolute).
    workdir
        Directory the command runs in (default: the working directory), where
        ``segnb.toml`` and the log are.
    python
        The interpreter (default: this one).
    system_tz
        The zone cron runs in (default: :func:`system_zone`).
    """
    hour, minute = parse_time(daily)
    if (notebook is None) == (not due_refresh):
        raise InvalidValueError("schedule a NOTEBOOK or --due-refresh (one of them)")
    target_zone = zone(tz)
    system = zone(system_tz) if system_tz else system_zone()
    base = Path(workdir or Path.cwd()).resolve()
    if notebook is not None:
        path = (base / os.fspath(notebook)).resolve()
        if path.suffix != ".ipynb" or not path.is_file():
            raise InvalidValueError(f"{os.fspath(notebook)!r} is not a notebook file (.ipynb)")
        kind, target = "notebook", str(path)
        args = ["run", str(path)]
        if output_dir is not None:
            args += ["--output", str((base / os.fspath(output_dir)).resolve())]
    else:
        kind, target = "refresh", REFRESH_TARGET
        args = ["refresh", "--due", "--quiet"]
    if url is not None:
        args += ["--url", Target.resolve(url, cwd=base).url]
    if catalog is not None:
        args += ["--catalog", str((base / os.fspath(catalog)).resolve())]
    times = _local_times(hour, minute, target_zone, system, today or dt.date.today())
    if len(times) > 1:
        args += ["--only-at", f"{hour:02d}:{minute:02d}"]
    if tz is not None:  # also the zone of the run's "today" (its as_of)
        args += ["--tz", tz]
    minutes = ",".join(str(m) for m in sorted({m for _, m in times}))
    hours = ",".join(str(h) for h in sorted({h for h, _ in times}))
    command = " ".join(
        [
            "cd", shlex.quote(str(base)), "&&",
            shlex.quote(python or sys.executable), "-m", "segnb.cli",
            *[shlex.quote(a) for a in args],
            ">>", shlex.quote(str(base / LOG_FILE)), "2>&1",
        ]
    )  # fmt: skip
    command = command.replace("%", r"\%")  # cron turns a bare % into a newline
    schedule = Schedule(kind, target, f"{hour:02d}:{minute:02d}", tz, "")
    line = f"{minutes} {hours} * * * {command} # {schedule.comment}"
    return Schedule(kind, target, schedule.daily, tz, line)


# -- the crontab ---------------------------------------------------------------------


def _crontab(tabfile: str | os.PathLike | None):
    from crontab import CronTab

    if tabfile is None:
        return CronTab(user=True)
    path = Path(tabfile)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return CronTab(tabfile=str(path))


def _ours(cron) -> list[Any]:
    return [job for job in cron if (job.comment or "").startswith(MARK)]


def _schedule_of(job) -> Schedule:
    comment = job.comment[len(MARK) :].strip()
    if comment.startswith("notebook "):
        kind, target = "notebook", comment[len("notebook ") :]
    else:
        kind, target = "refresh", comment
    words = job.command.split()
    tz, daily = None, None
    if "--only-at" in words:
        daily = words[words.index("--only-at") + 1]
    if "--tz" in words:
        tz = words[words.index("--tz") + 1]
    if daily is None:
        minute, hour = str(job.minute), str(job.hour)
        daily = f"{hour}:{minute}"
        if hour.isdigit() and minute.isdigit():
            daily = f"{int(hour):02d}:{int(minute):02d}"
    return Schedule(kind, target, daily, tz, job.render())


def install_schedule(schedule: Schedule, tabfile: str | os.PathLike | None = None) -> Schedule:
    """Put ``schedule`` in the user's crontab (or ``tabfile``), replacing the same target's entry."""
    from crontab import CronTab

    cron = _crontab(tabfile)
    for job in _ours(cron):
        if job.comment == schedule.comment:
            cron.remove(job)
    parsed = CronTab(tab=schedule.line)
    for job in parsed:
        cron.append(job)
    cron.write()
    return schedule


def list_schedules(tabfile: str | os.PathLike | None = None) -> list[Schedule]:
    """segnb's entries in the user's crontab (or ``tabfile``)."""
    return [_schedule_of(job) for job in _ours(_crontab(tabfile))]


def remove_schedules(
    notebook: str | os.PathLike | None = None,
    *,
    due_refresh: bool = False,
    tabfile: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
) -> list[Schedule]:
    """Remove the entry of ``notebook`` (or of the due refresh); the entries removed."""
    if (notebook is None) == (not due_refresh):
        raise InvalidValueError("remove the schedule of a NOTEBOOK or --due-refresh (one of them)")
    if notebook is not None:
        path = (Path(workdir or Path.cwd()) / os.fspath(notebook)).resolve()
        comment = f"{MARK} notebook {path}"
    else:
        comment = f"{MARK} {REFRESH_TARGET}"
    cron = _crontab(tabfile)
    removed = []
    for job in _ours(cron):
        if job.comment == comment:
            removed.append(_schedule_of(job))
            cron.remove(job)
    if not removed:
        what = f"notebook {comment.split(' ', 2)[2]}" if notebook is not None else REFRESH_TARGET
        raise InvalidValueError(f"no segnb schedule for {what}; segnb schedule --list shows them")
    cron.write()
    return removed
