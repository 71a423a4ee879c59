"""``%segnb``: connecting, the demo warehouse, the catalog, settings, loading and unloading."""

from __future__ import annotations

import shutil
import subprocess
import sys

import ibis
import pandas as pd
import pytest
from IPython.core.error import UsageError
from magics_tools import magics, run

import segnb
from segnb.magics import SegnbCompleter, SegnbMagics
from segnb.magics.results import ConnectionResult, Note

pytest_plugins = ("magics_helpers",)


@pytest.fixture
def copy(warehouse, tmp_path):
    path = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, path)
    return path


# -- connect -----------------------------------------------------------------------------


def test_connect_url_var_and_workspace(ip, copy):
    result = run(ip, f"%segnb connect duckdb:///{copy}")
    assert isinstance(result, ConnectionResult) and magics(ip).owned
    assert result.source == f"duckdb:///{copy}"
    first = magics(ip).ws
    ip.user_ns["url"] = f"duckdb:///{copy}"
    run(ip, "%segnb connect --var url")
    assert magics(ip).ws is not first and magics(ip).owned
    with pytest.raises(Exception, match=r"closed|Connection"):  # the magics closed their own
        first.con.raw_sql("SELECT 1").fetchall()

    run(ip, "%segnb disconnect")  # the file is read by segnb's own connection until then
    con = ibis.duckdb.connect(str(copy))  # the user's own, read-write
    ip.user_ns["con"] = con
    result = run(ip, "%segnb connect --var con --tz Asia/Shanghai")
    assert result.source == "Ibis backend in 'con'" and not magics(ip).owned
    assert magics(ip).ws.con is con and magics(ip).ws.tz == "Asia/Shanghai"
    ip.user_ns["ws"] = ws = segnb.connect(con)
    run(ip, "%segnb connect --var ws")
    assert magics(ip).ws is ws
    run(ip, "%segnb disconnect")
    assert con.raw_sql("SELECT 1").fetchall() == [(1,)]  # the user's connection stays open


def test_connect_mistakes(ip, copy, tmp_path):
    cases = {
        f"%segnb connect duckdb:///{tmp_path}/nope.duckdb": r"no DuckDB warehouse at",
        "%segnb connect --var missing": r"no variable 'missing' in the notebook",
        "%segnb connect --var number": r"'number' holds a int; it should hold an Ibis backend",
        f"%segnb connect duckdb:///{copy} --var number": r"takes a URL or --var NAME, not both",
        f"%segnb connect duckdb:///{copy} --tz Nowhere/City": r"unknown time zone 'Nowhere/City'",
        f"%segnb connect duckdb:///{copy} --catalog {tmp_path}/none.toml": r"none.toml",
        "%segnb connect": r"no warehouse named",
        "%segnb conect": r"did you mean %segnb connect\?",
    }
    ip.user_ns["number"] = 3
    for line, pattern in cases.items():
        with pytest.raises(UsageError, match=pattern):
            run(ip, line)
    assert magics(ip).ws is None


def test_connect_read_only_and_catalog_file(ip, copy, tmp_path):
    toml = tmp_path / "cat.toml"
    toml.write_text(
        '[entities.people]\ntable = "users"\nid = "user_id"\n'
        '[entities.people.tags]\ntable = "user_tags"\nid = "user_id"\ndate = "dt"\n'
    )
    result = run(ip, f"%segnb connect duckdb:///{copy} --catalog {toml} --read-only")
    assert list(result.workspace.catalog.entities) == ["people"]
    assert run(ip, "%segment estimate is_member") > 0  # estimates need no store
    with pytest.raises(UsageError, match="read-only"):
        run(ip, "%%segment m\nis_member")


def test_status_and_disconnect(ip, copy):
    assert repr(run(ip, "%segnb")).startswith("segnb: not connected")
    run(ip, f"%segnb connect {copy}")
    status = run(ip, "%segnb")
    assert isinstance(status, ConnectionResult) and "users: table users" in repr(status)
    note = run(ip, "%segnb disconnect")
    assert isinstance(note, Note) and repr(note) == f"segnb: disconnected from {copy}"
    assert magics(ip).ws is None
    assert repr(run(ip, "%segnb disconnect")) == "segnb: not connected"


def test_default_url_from_settings_and_toml(ip, copy, tmp_path, capsys):
    run(ip, f"%config SegNB.url = 'duckdb:///{copy}'")
    assert run(ip, "%segment estimate is_member") > 0  # connects on first use
    assert f"segnb: connected to duckdb:///{copy} (SegNB.url)" in capsys.readouterr().out
    run(ip, "%segnb disconnect")
    run(ip, "%config SegNB.url = ''")
    (tmp_path / "work" / "segnb.toml").write_text(f'url = "duckdb:///{copy}"\n')
    assert run(ip, "%segnb connect").workspace.con.name == "duckdb"


# -- demo and catalog ----------------------------------------------------------------------


def test_demo_writes_reuses_and_rebuilds(ip, tmp_path, capsys):
    result = run(
        ip, "%segnb demo --path small.duckdb --users 200 --days 5 --seed 3 --end 2025-01-31"
    )
    assert (tmp_path / "work" / "small.duckdb").exists()
    assert result.source == "duckdb:///small.duckdb"
    ws = magics(ip).ws
    assert ws.catalog.table("users").count().execute() == 200
    assert "wrote 200 users and 5 days" in capsys.readouterr().out
    run(ip, "%segnb demo --path small.duckdb --users 300")
    assert "small.duckdb exists and is used as it is; add --force" in capsys.readouterr().out
    assert magics(ip).ws.catalog.table("users").count().execute() == 200
    run(ip, "%segnb demo --path small.duckdb --users 300 --days 5 --force")
    assert magics(ip).ws.catalog.table("users").count().execute() == 300
    with pytest.raises(UsageError, match=r"--users must be at least 1"):
        run(ip, "%segnb demo --users 0")


def test_catalog(duck):
    frame = run(duck, "%segnb catalog")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index.names) == ["kind", "name"]  # rows are named, not numbered
    assert list(frame.columns) == ["type", "values", "label", "description", "table"]
    assert frame.loc[("tag", "city"), "type"] == "enum"
    rows = frame.reset_index().set_index("name")
    assert rows.loc["city", "kind"] == "tag" and rows.loc["city", "type"] == "enum"
    assert rows.loc["city", "values"].count(",") == 5 and rows.loc["city", "values"].endswith("…")
    assert rows.loc["is_member", "values"] == "true, false"
    assert rows.loc["purchase", "kind"] == "event" and rows.loc["amount", "kind"] == "event field"
    channels = magics(duck).ws.catalog.values("users", "channel")[0]
    assert rows.loc["channel", "values"] == ", ".join(channels)
    merchants = run(duck, "%segnb catalog --entity merchants --no-values")
    assert "values" not in merchants.columns
    assert "rating" in set(merchants.index.get_level_values("name"))
    with pytest.raises(UsageError, match=r"unknown target object 'shops'"):
        run(duck, "%segnb catalog --entity shops")


def test_segnb_help(ip, capsys):
    run(ip, "%segnb help")
    out = capsys.readouterr().out
    assert "connect" in out and "demo" in out and "wizard" in out
    run(ip, "%segnb connect --help")
    assert "--var NAME" in capsys.readouterr().out


# -- settings --------------------------------------------------------------------------------


def test_config_magic_reaches_the_settings(duck, capsys, caplog):
    settings = magics(duck).settings
    run(duck, "%config SegNB.displaylimit = 50")
    assert settings.displaylimit == 50
    run(duck, "%config SegNB")
    out = capsys.readouterr().out
    for name in ("displaylimit", "url", "default_group", "owner", "timezone", "store_schema"):
        assert f"SegNB.{name}" in out
    run(duck, "%config SegNB.timezone = 'Asia/Shanghai'")
    assert magics(duck).ws.tz == "Asia/Shanghai"
    run(duck, "%config SegNB.timezone = 'Mars/Base'")
    assert "unknown time zone 'Mars/Base'" in caplog.text  # %config logs what it refuses
    assert settings.timezone == "Asia/Shanghai"
    run(duck, "%config SegNB.displaylimit = -1")
    assert settings.displaylimit == 50


def test_owner_decides_what_private_segments_show(duck):
    run(duck, "%%segment mine --scope private\nis_member")
    run(duck, "%config SegNB.owner = 'someone_else'")
    assert run(duck, "%segment list") == []
    with pytest.raises(UsageError, match=r"no segment named 'mine'"):  # not told it exists
        run(duck, "%segment show mine")
    run(duck, "%config SegNB.owner = 'tester'")
    assert [s.name for s in run(duck, "%segment list")] == ["mine"]


def test_settings_from_segnb_toml(tmp_path, monkeypatch, ip):
    (tmp_path / "work" / "segnb.toml").write_text(
        '[settings]\ndisplaylimit = 3\ndefault_group = "Team"\nowner = "carol"\n'
        'timezone = "Europe/Paris"\n'
    )
    ip.run_cell("%unload_ext segnb")
    ip.run_cell("%load_ext segnb")  # a fresh SegNB reads the file
    settings = magics(ip).settings
    assert (settings.displaylimit, settings.default_group, settings.owner, settings.timezone) == (
        3,
        "Team",
        "carol",
        "Europe/Paris",
    )
    run(ip, "%config SegNB.displaylimit = 7")  # %config wins over the file
    assert settings.displaylimit == 7


def test_profile_config_wins_over_toml(tmp_path, ip):
    from magics_tools import Shell
    from traitlets.config import Config

    (tmp_path / "work" / "segnb.toml").write_text("[settings]\ndisplaylimit = 3\n")
    config = Config()
    config.HistoryAccessor.enabled = False
    config.SegNB.displaylimit = 42
    shell = Shell(config=config)
    shell.run_cell("%load_ext segnb")
    assert magics(shell).settings.displaylimit == 42
    shell.run_cell("%unload_ext segnb")


# -- loading --------------------------------------------------------------------------------


def test_load_and_unload(ip, copy):
    assert isinstance(magics(ip), SegnbMagics)
    lines, cells = ip.magics_manager.magics["line"], ip.magics_manager.magics["cell"]
    assert {"segnb", "segment"} <= set(lines) and "segment" in cells
    assert any(isinstance(m, SegnbCompleter) for m in ip.Completer.custom_matchers)
    assert magics(ip).settings in ip.configurables
    run(ip, f"%segnb connect {copy}")
    con = magics(ip).ws.con
    ip.run_cell("%load_ext segnb")  # again: nothing doubles
    assert sum(isinstance(m, SegnbCompleter) for m in ip.Completer.custom_matchers) == 1
    instance = magics(ip)
    ip.run_cell("%unload_ext segnb")
    assert "segnb" not in lines and "segment" not in lines and "segment" not in cells
    assert not any(isinstance(m, SegnbCompleter) for m in ip.Completer.custom_matchers)
    assert instance.settings not in ip.configurables and instance.ws is None
    with pytest.raises(Exception, match=r"closed|Connection"):
        con.raw_sql("SELECT 1").fetchall()
    ip.run_cell("%load_ext segnb")
    assert magics(ip) is not instance and magics(ip).ws is None


def test_two_shells_hold_two_connections(ip, copy, tmp_path):
    from magics_tools import Shell
    from traitlets.config import Config

    config = Config()
    config.HistoryAccessor.enabled = False
    other = Shell(config=config)
    other.run_cell("%load_ext segnb")
    run(ip, f"%segnb connect {copy}")
    assert magics(other).ws is None and magics(ip).ws is not None
    other.run_cell("%unload_ext segnb")


def test_importing_segnb_does_not_import_ipython():
    code = "import sys, segnb, segnb.config; print('IPython' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
