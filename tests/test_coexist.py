"""The faces side by side on one warehouse: a kernel stays connected while everything else runs.

One process connects the way a notebook kernel does, creates a segment and
keeps its workspace (and a lazy members table) while, from other processes,
``segnb refresh --all`` runs, ``segnb report NAME --html`` renders, a served
``segnb report NAME`` page loads in Chromium, a second analyst creates a
segment and ``segnb run`` executes a notebook that uses ``%%segment`` (saved
without kernel metadata). Then the first process creates another segment.
Every step must succeed and every segment be there at the end. The warehouse
has other table and column names than the demo (the edge catalog), given in
``segnb.toml`` as a user would, so every command runs with no URL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import EDGE_CATALOG, EDGE_DAYS
from store_tools import pg_url

import segnb

pytest_plugins = ("reports_helpers",)  # jupyter_env: Jupyter and IPython kept at home
pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")
pytest.importorskip("voila")

AS_OF = EDGE_DAYS[-1]
KERNEL = """
import pathlib, time
import segnb
ws = segnb.connect()  # segnb.toml of the working directory
ws.open_store(owner="alice")
ws.create_segment("vip_accounts", "vip", as_of={as_of!r}, refresh="daily")
members = ws.segment("vip_accounts").members()  # kept, lazy, as a notebook variable is
print("first", ws.segment("vip_accounts").size, flush=True)
pathlib.Path("kernel.ready").write_text("ready")
while not pathlib.Path("kernel.go").exists():
    time.sleep(0.05)
print("members", members.count().execute(), flush=True)
ws.create_segment("rich_accounts", "credit > 500", as_of={as_of!r})
print("second", ws.segment("rich_accounts").size, flush=True)
"""

ANALYST = """
import segnb
ws = segnb.connect()
ws.open_store(owner="bob")
print(ws.create_segment("pro_accounts", "tier = 'pro'", as_of={as_of!r}).size)
"""


def _toml(url: str, schema: str | None) -> str:
    entity = EDGE_CATALOG["entities"]["accounts"]
    lines = [f"url = {json.dumps(url)}", ""]
    if schema:
        lines += ["[settings]", f"store_schema = {json.dumps(schema)}", ""]
    lines += [
        "[entities.accounts]",
        f"table = {json.dumps(entity['table'])}",
        f"id = {json.dumps(entity['id'])}",
        f"types = {{ tier_code = {json.dumps(entity['types']['tier_code'])} }}",
    ]
    for kind in ("tags", "events"):
        for source in entity[kind]:
            lines += ["", f"[[entities.accounts.{kind}]]"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    return "\n".join(lines) + "\n"


def _notebook(path: Path) -> None:
    """A scheduled notebook with ``%%segment``, saved without kernel metadata."""
    cells = [
        "as_of = None",
        "%load_ext segnb\n%segnb connect",
        "%%segment plus_accounts\ntier = 'plus'",
    ]
    nb = {
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {"tags": ["parameters"]} if i == 0
             else {}, "source": source, "outputs": [], "execution_count": None}
            for i, source in enumerate(cells)
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb))


def _segnb(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """The ``segnb`` command, as a user types it in that directory."""
    script = Path(sys.executable).with_name("segnb")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "segnb.cli"]
    done = subprocess.run([*head, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"segnb {' '.join(args)}: {done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    return done


def _python(code: str, cwd: Path, wait: bool = True):
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    return out


def _wait_for(path: Path, proc, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the kernel-like process ended early: {out}\n{err}")
        assert time.monotonic() < deadline, "the kernel-like process never got ready"
        time.sleep(0.05)


def _served_page(work: Path, browser, shots: Path) -> str:
    """Serve ``segnb report vip_accounts``, load it in Chromium; the page's text."""
    script = Path(sys.executable).with_name("segnb")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "segnb.cli"]
    server = subprocess.Popen(
        [*head, "report", "vip_accounts", "--as-of", AS_OF.isoformat()], cwd=work,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "serving the report at" not in line:
            assert time.monotonic() < deadline and server.poll() is None, line
            line = server.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        try:
            page.goto(url, timeout=120_000)
            page.get_by_text("Size history").first.wait_for(timeout=120_000)
            page.screenshot(path=str(shots / "coexist_report.png"), full_page=True)
            return page.inner_text("body")
        finally:
            page.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(60)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def work(request, warehouse, tmp_path):
    """A working directory with segnb.toml naming the warehouse (DuckDB file or PostgreSQL)."""
    folder = tmp_path / "work"
    folder.mkdir()
    schema = None
    if request.param == "duckdb":
        shutil.copy(warehouse, folder / "warehouse.duckdb")
        url = "duckdb:///warehouse.duckdb"
    else:
        con = request.getfixturevalue("postgres_con")
        url = pg_url(con)
        schema = f"t_{uuid.uuid4().hex[:10]}"
    (folder / "segnb.toml").write_text(_toml(url, schema))
    yield folder
    if schema:
        con.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE').close()


def test_the_faces_coexist_beside_a_connected_kernel(work, browser, jupyter_env, tmp_path):
    shots = Path(os.environ.get("SEGNB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    kernel = _python(KERNEL.format(as_of=AS_OF.isoformat()), work, wait=False)
    try:
        _wait_for(work / "kernel.ready", kernel)
        # while the kernel waits, connected, with its segment and a lazy members table:
        refreshed = _segnb("refresh", "--all", "--as-of", AS_OF.isoformat(), cwd=work)
        assert "refreshed 1 of 1" in refreshed.stdout
        _segnb("report", "vip_accounts", "--html", "vip.html", cwd=work)
        assert "vip_accounts" in (work / "vip.html").read_text()
        assert "vip_accounts" in _served_page(work, browser, shots)
        assert int(_python(ANALYST.format(as_of=AS_OF.isoformat()), work)) > 0
        _notebook(work / "daily.ipynb")
        ran = _segnb("run", "daily.ipynb", "--as-of", AS_OF.isoformat(), cwd=work)
        assert "succeeded" in ran.stdout and "plus_accounts" in ran.stdout
        assert "daily.ipynb" in _segnb("runs", cwd=work).stdout  # read-only, it lists the run
        (work / "kernel.go").write_text("go")
        out, err = kernel.communicate(timeout=300)
    finally:
        if kernel.poll() is None:
            kernel.kill()
    assert kernel.returncode == 0, out + err
    sizes = dict(line.split() for line in out.split("\n") if line.strip())
    assert int(sizes["members"]) == int(sizes["first"]) > 0 and int(sizes["second"]) > 0
    previous = Path.cwd()
    os.chdir(work)
    try:
        ws = segnb.connect()
        ws.open_store(owner="alice")
        names = {s.name: s for s in ws.segments()}
    finally:
        os.chdir(previous)
    assert set(names) == {"vip_accounts", "rich_accounts", "pro_accounts", "plus_accounts"}
    assert names["vip_accounts"].version == 2  # the cron-style refresh wrote its version
    assert all(s.status == "active" and s.size > 0 for s in names.values())
