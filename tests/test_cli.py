"""The CLI is thin: each command parses its arguments and calls one library function."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

import segnb
from segnb import cli


def test_demo_calls_generate(monkeypatch, tmp_path):
    calls = []

    class Info:
        path, users, days, end, seconds = "w.duckdb", 5, 3, dt.date(2026, 1, 3), 0.1

    def fake_generate(path, **kwargs):
        calls.append((path, kwargs))
        return Info()

    monkeypatch.setattr("segnb.demo.warehouse.generate", fake_generate)
    assert (
        cli.main(
            [
                "demo",
                "--path",
                "w.duckdb",
                "--users",
                "5",
                "--days",
                "3",
                "--seed",
                "7",
                "--end",
                "2026-01-03",
                "--force",
                "--quiet",
            ]
        )
        == 0
    )
    assert calls == [
        (
            "w.duckdb",
            {
                "users": 5,
                "days": 3,
                "seed": 7,
                "end": dt.date(2026, 1, 3),
                "progress": False,
                "overwrite": True,
            },
        )
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--users", "0"], "must be at least 1"),
        (["demo", "--end", "yesterday"], "is not a date"),
        (["estimate"], "the following arguments are required: rule"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_estimate_and_sql_call_the_workspace(monkeypatch):
    seen = {}

    class FakeWorkspace:
        def estimate(self, rule, as_of=None, entity=None):
            seen["estimate"] = (rule, as_of, entity)
            return 42

        def sql(self, rule, as_of=None, dialect=None, entity=None):
            seen["sql"] = (rule, as_of, dialect, entity)
            return "SELECT 1"

    def fake_connect(url, catalog, tz=None, read_only=False):
        seen["connect"] = (url, catalog, tz, read_only)
        return FakeWorkspace()

    monkeypatch.setattr("segnb.connection.connect", fake_connect)
    assert (
        cli.run_estimate(
            cli.build_parser().parse_args(
                [
                    "estimate",
                    "did(purchase, T-6..T)",
                    "--url",
                    "duckdb:///x.duckdb",
                    "--as-of",
                    "2026-01-02",
                ]
            )
        )
        == "42"
    )
    assert seen["estimate"] == ("did(purchase, T-6..T)", dt.date(2026, 1, 2), None)
    assert seen["connect"] == ("duckdb:///x.duckdb", None, None, True)
    assert (
        cli.run_sql(
            cli.build_parser().parse_args(
                ["sql", "city = 'x'", "--dialect", "postgres", "--entity", "users"]
            )
        )
        == "SELECT 1"
    )
    assert seen["sql"] == ("city = 'x'", None, "postgres", "users")


def test_user_errors_are_one_line_messages(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["estimate", "x = 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("segnb estimate: no warehouse named")
    assert "Traceback" not in err


def test_demo_then_estimate_end_to_end(tmp_path):
    """As a new user runs it: the console script writes a warehouse, then answers a rule."""
    run = [sys.executable, "-m", "segnb.cli"]
    out = subprocess.run(
        [*run, "demo", "--users", "2000", "--days", "10", "--end", "2026-01-10"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote warehouse.duckdb: 2,000 users, 10 days ending 2026-01-10" in out.stdout
    again = subprocess.run(
        [*run, "demo", "--users", "2000"], cwd=tmp_path, capture_output=True, text=True
    )
    assert again.returncode == 2 and "warehouse.duckdb" in again.stderr
    size = subprocess.run(
        [*run, "estimate", "did(purchase, T-6..T) or city = 'Shenzhen'", "--as-of", "2026-01-11"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert 0 < int(size.stdout) <= 2000
    sql = subprocess.run(
        [*run, "sql", "not is_black_list", "--dialect", "postgres"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert sql.stdout.lstrip().startswith("SELECT")
    catalog = subprocess.run(
        [*run, "catalog"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "trade_cnt_7d" in catalog.stdout and "purchase" in catalog.stdout


def test_demo_force_starts_a_fresh_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--path", "w.duckdb", "--users", "300", "--days", "3", "--quiet"]) == 0
    ws = segnb.connect("w.duckdb")
    ws.open_store(owner="tester")
    ws.create_segment("old", "count(purchase, T-2..T) >= 1")
    assert (tmp_path / "w.segnb" / "store.duckdb").exists()
    args = ["demo", "--path", "w.duckdb", "--users", "200", "--days", "3", "--quiet", "--force"]
    assert cli.main(args) == 0  # while a session is still connected to the old one
    fresh = segnb.connect("w.duckdb")
    fresh.open_store(owner="tester")
    assert list(fresh.segments()) == []
