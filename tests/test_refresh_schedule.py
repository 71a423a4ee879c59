"""``segnb schedule``: cron lines, time zones, and installing into a crontab *file*.

Never the real user crontab: every test passes a temporary tabfile.
"""

from __future__ import annotations

import datetime
import datetime as dt
import shlex
import sys

import pytest

from segnb import cli
from segnb.errors import InvalidValueError
from segnb.refresh.runs import scheduled_now
from segnb.refresh.schedule import (
    LOG_FILE,
    install_schedule,
    list_schedules,
    parse_time,
    plan_schedule,
    remove_schedules,
)

crontab = pytest.importorskip("crontab")
JAN = datetime.date(2026, 1, 1)
UTC = datetime.timezone.utc


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "daily report.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fields(line: str) -> tuple[str, list[str], str]:
    """The time fields, the command's words and the comment of a crontab line."""
    head, _, comment = line.partition(" # ")
    parts = head.split(" ", 5)
    return " ".join(parts[:5]), shlex.split(parts[5]), comment


def test_cron_line_in_the_machine_zone(project):
    s = plan_schedule("daily report.ipynb", daily="06:00", system_tz="UTC", today=JAN)
    timing, words, comment = fields(s.line)
    assert timing == "0 6 * * *"
    assert words[:4] == ["cd", str(project), "&&", sys.executable]
    assert words[4:8] == ["-m", "segnb.cli", "run", str(project / "daily report.ipynb")]
    assert words[-3:] == [">>", str(project / LOG_FILE), "2>&1"]
    assert "--only-at" not in words
    assert comment == f"segnb: notebook {project / 'daily report.ipynb'}"
    # the same as a python-crontab job would render and parse
    (job,) = crontab.CronTab(tab=s.line)
    assert job.is_valid() and job.comment == comment and str(job.slices) == "0 6 * * *"


@pytest.mark.parametrize(
    ("daily", "tz", "system", "timing", "guarded"),
    [
        ("06:00", "Asia/Shanghai", "UTC", "0 22 * * *", False),  # no daylight saving anywhere
        ("06:00", "Europe/Berlin", "Europe/Berlin", "0 6 * * *", False),
        ("06:00", "Europe/Berlin", "Europe/Paris", "0 6 * * *", False),  # same rules
        ("06:00", "America/New_York", "UTC", "0 10,11 * * *", True),  # EDT, EST
        ("07:15", "Asia/Kolkata", "America/New_York", "45 20,21 * * *", True),
        ("23:30", "UTC", "Asia/Tokyo", "30 8 * * *", False),
    ],
)
def test_time_zones(project, daily, tz, system, timing, guarded):
    s = plan_schedule(daily=daily, tz=tz, due_refresh=True, system_tz=system, today=JAN)
    got, words, comment = fields(s.line)
    assert got == timing and comment == "segnb: refresh --due"
    assert words[6:9] == ["refresh", "--due", "--quiet"]
    assert words[words.index("--tz") + 1] == tz  # also the zone of the run's "today"
    if guarded:
        assert words[words.index("--only-at") + 1] == daily
    else:
        assert "--only-at" not in words


def test_the_guard_lets_the_right_hour_through():
    def at(month, hour, minute=0):
        return datetime.datetime(2026, month, 15, hour, minute, 5, tzinfo=UTC)

    ny = "America/New_York"  # 06:00 there is 11:00 UTC in January, 10:00 UTC in July
    assert scheduled_now("06:00", ny, now=at(1, 11)) and not scheduled_now(
        "06:00", ny, now=at(1, 10)
    )
    assert scheduled_now("06:00", ny, now=at(7, 10)) and not scheduled_now(
        "06:00", ny, now=at(7, 11)
    )
    assert not scheduled_now("06:00", ny, now=at(7, 10, 45))  # too late: a 30-minute window


def test_install_list_remove_in_a_tabfile(project):
    tab = project / "crontab.txt"
    tab.write_text("MAILTO=me@example.com\n15 3 * * * /usr/bin/backup  # not ours\n")
    install_schedule(plan_schedule("daily report.ipynb", daily="06:00", system_tz="UTC"), tab)
    install_schedule(plan_schedule(daily="05:30", due_refresh=True, system_tz="UTC"), tab)
    # installing the same notebook again replaces its entry
    install_schedule(plan_schedule("daily report.ipynb", daily="07:00", system_tz="UTC"), tab)
    text = tab.read_text()
    assert "MAILTO=me@example.com" in text and "/usr/bin/backup" in text
    found = list_schedules(tab)
    assert [(s.kind, s.daily) for s in found] == [("refresh", "05:30"), ("notebook", "07:00")]
    assert found[1].target == str(project / "daily report.ipynb")
    assert text.count("segnb: notebook") == 1
    removed = remove_schedules("daily report.ipynb", tabfile=tab)
    assert [s.kind for s in removed] == ["notebook"]
    assert [s.kind for s in list_schedules(tab)] == ["refresh"]
    assert "/usr/bin/backup" in tab.read_text()
    with pytest.raises(InvalidValueError, match="no segnb schedule for notebook"):
        remove_schedules("daily report.ipynb", tabfile=tab)


def test_mistakes(project):
    for text in ("6am", "24:00", "06:60", ""):
        with pytest.raises(InvalidValueError, match="is not a time of day"):
            parse_time(text)
    assert parse_time("6:05") == (6, 5)
    with pytest.raises(InvalidValueError, match="not a notebook file"):
        plan_schedule("missing.ipynb", daily="06:00")
    with pytest.raises(InvalidValueError, match="one of them"):
        plan_schedule("daily report.ipynb", daily="06:00", due_refresh=True)
    with pytest.raises(InvalidValueError, match="unknown time zone 'Mars/Olympus'"):
        plan_schedule(daily="06:00", due_refresh=True, tz="Mars/Olympus")


def test_cli(project, capsys):
    tab = project / "tab"
    assert cli.main(["schedule", "daily report.ipynb", "--daily", "06:00", "--print"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.endswith(f"# segnb: notebook {project / 'daily report.ipynb'}")
    assert not tab.exists()  # --print installs nothing
    assert cli.main(["schedule", "daily report.ipynb", "--daily", "06:00", "--tabfile", str(tab),
                     "--url", "duckdb:///warehouse.duckdb"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith(f"installed in {tab}:")
    assert f"--url duckdb:///{project / 'warehouse.duckdb'}" in tab.read_text()  # absolute
    assert cli.main(["schedule", "--due-refresh", "--daily", "5:30", "--tabfile", str(tab)]) == 0
    capsys.readouterr()
    assert cli.main(["schedule", "--list", "--tabfile", str(tab)]) == 0
    listing = capsys.readouterr().out
    assert "notebook" in listing and "refresh --due" in listing and "05:30" in listing
    assert cli.main(["schedule", "--remove", "--due-refresh", "--tabfile", str(tab)]) == 0
    assert "removed:" in capsys.readouterr().out
    assert cli.main(["schedule", "daily report.ipynb", "--tabfile", str(tab)]) == 2
    assert "needs --daily" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["schedule", "x.ipynb", "--daily", "25:00"])


@pytest.mark.parametrize(
    "tz", ["America/St_Johns", "America/Havana", "Pacific/Chatham", "Australia/Lord_Howe"]
)
def test_once_a_day_across_the_clock_changes_of_a_year(tz):
    """Cron fires at every machine (UTC) time the schedule can fall on; the guard lets one through
    each local day: a skipped time runs right after the change, a repeated one runs once."""
    from zoneinfo import ZoneInfo

    from segnb.refresh.schedule import _local_times

    place, utc = ZoneInfo(tz), ZoneInfo("UTC")
    first = dt.date(2026, 1, 1)
    for hour, minute in [(h, m) for h in range(4) for m in (0, 15, 30, 45)]:
        at = f"{hour:02d}:{minute:02d}"
        times = _local_times(hour, minute, place, utc, first)
        hours, minutes = sorted({h for h, _ in times}), sorted({m for _, m in times})
        runs: dict[dt.date, list[dt.datetime]] = {}
        for offset in range(-1, 367):
            day = first + dt.timedelta(days=offset)
            for h in hours:
                for m in minutes:
                    fired = dt.datetime.combine(day, dt.time(h, m), tzinfo=utc)
                    if scheduled_now(at, tz, now=fired):
                        runs.setdefault(fired.astimezone(place).date(), []).append(fired)
        year = [first + dt.timedelta(days=d) for d in range(365)]
        missing = [d for d in year if d not in runs]
        doubled = {d: r for d, r in runs.items() if len(r) > 1}
        assert not missing and not doubled, (at, missing[:3], list(doubled.items())[:2])
