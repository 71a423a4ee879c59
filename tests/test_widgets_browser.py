"""The apps in a real browser: JupyterLab and Voilà served on 127.0.0.1, Chromium via Playwright.

JupyterLab: a notebook opens SegmentWizard on a demo warehouse; in the page
the test picks a tag, sets a value, waits for the estimate to change and
clicks Create; the segment must then be in the store. A second notebook opens
SetWizard, UploadWizard, LookalikeWizard and PredictWizard, each with the one
line ``%segnb wizard APP``, and builds a segment with each. Voilà:
SegmentBrowser, switched between cards and list. Screenshots go to tests/artifacts/ (and to
``$SEGNB_SCREENSHOTS`` when set).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from store_tools import AS_OF, copy_warehouse

import segnb
from segnb.reports.render import ReportServer, free_port

pytest_plugins = ("reports_helpers",)
pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")
pytest.importorskip("voila")

ARTIFACTS = Path(__file__).parent / "artifacts"


def keep(shot: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / shot.name)
    folder = os.environ.get("SEGNB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


def notebook(path: Path, code: str) -> Path:
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": code, "outputs": [],
                   "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb))
    return path


def start(command: list[str], folder: Path, port: int, nb: Path) -> ReportServer:
    settings = folder / ".lab-settings"  # no news pop-up over the page
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    log = open(folder / "voila.log", "wb")  # noqa: SIM115 - the server writes it while it runs
    try:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )  # fmt: skip
    finally:
        log.close()
    server = ReportServer(process, port, folder, nb)
    try:
        return server.wait_ready(120)
    except BaseException:
        server.stop()
        raise


def failed(page, server: ReportServer, tmp_path: Path, name: str) -> None:
    """Keep a screenshot of the page a test failed on, and show the server's log."""
    shot = Path(os.environ.get("SEGNB_SCREENSHOTS") or tmp_path) / name
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    print(server.log[-3000:])


def halt(server: ReportServer) -> None:
    """Stop the server and its kernels, keeping its folder (the warehouse is read after)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(30)


def test_wizard_in_jupyterlab(report_warehouse, jupyter_env, browser, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="segnb-lab-"))
    db = folder / "warehouse.duckdb"
    copy_warehouse(report_warehouse, db)
    code = (
        "import segnb\nfrom segnb.widgets import SegmentWizard\n"
        "ws = segnb.connect('warehouse.duckdb')\nws.open_store(owner='tester')\n"
        f"app = SegmentWizard(ws)\napp.state.as_of = {AS_OF.isoformat()!r}\napp"
    )
    nb = notebook(folder / "wizard.ipynb", code)
    port = free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
        "--allow-root", f"--ServerApp.root_dir={folder}", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    server = start(command, folder, port, nb)
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    try:
        page.goto(f"http://127.0.0.1:{port}/lab/tree/wizard.ipynb", timeout=120_000)
        cell = page.locator(".jp-Cell .jp-InputArea-editor").first
        cell.wait_for(timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        cell.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".segnb-wizard", timeout=120_000)
        page.locator(".segnb-add-condition").first.click()
        picker = page.locator(".segnb-condition .segnb-picker input").first
        picker.fill("Purchases, last 7 days (trade_cnt_7d)")  # 1. pick a tag
        picker.press("Enter")
        value = page.locator(".segnb-condition .segnb-value input").first
        value.wait_for(timeout=30_000)
        value.fill("2")  # 2. set a value
        value.press("Enter")
        estimate = page.locator(".segnb-estimate-value")  # 3. the estimate changes
        for_rule = (
            "r => { const e = document.querySelector('.segnb-estimate-value');"
            " return e && e.dataset.rule === r; }"
        )
        page.wait_for_function(for_rule, arg="trade_cnt_7d >= 2", timeout=60_000)
        first = estimate.get_attribute("data-estimate")
        value.fill("3")
        value.press("Enter")
        page.wait_for_function(for_rule, arg="trade_cnt_7d >= 3", timeout=60_000)
        assert estimate.get_attribute("data-estimate") != first
        assert "trade_cnt_7d >= 3" in page.locator(".segnb-rule textarea").input_value()
        name = page.locator(".segnb-name input")
        name.fill("lab_buyers")
        name.press("Tab")
        page.locator("button.segnb-create").click()  # 4. create
        page.get_by_text("Created 'lab_buyers'").wait_for(timeout=60_000)
        assert page.get_by_text("Error displaying widget").count() == 0
        shot = tmp_path / "segment_wizard_lab.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        final = page.locator(".segnb-estimate-value").get_attribute("data-estimate")
    except BaseException:
        failed(page, server, tmp_path, "failed_wizard_lab.png")
        raise
    finally:
        page.close()
        halt(server)
    try:
        ws = segnb.connect(str(db))  # the kernel is gone: the file is free
        seg = ws.segment("lab_buyers")
        assert seg.text == "trade_cnt_7d >= 3" and seg.size == int(final) > 0
        ws.con.disconnect()
    finally:
        server.stop()  # and its folder


def test_browser_in_voila(report_warehouse, jupyter_env, browser, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="segnb-voila-browser-"))
    copy_warehouse(report_warehouse, folder / "warehouse.duckdb")
    code = (
        "import segnb\nfrom segnb.widgets import SegmentBrowser\n"
        "ws = segnb.connect('warehouse.duckdb')\nws.open_store(owner='tester')\nSegmentBrowser(ws)"
    )
    nb = notebook(folder / "browse.ipynb", code)
    port = free_port()
    command = [
        sys.executable, "-m", "voila", str(nb), "--no-browser", f"--port={port}",
        "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--strip_sources=True",
        "--show_tracebacks=True", f"--Voila.root_dir={folder}",
    ]  # fmt: skip
    server = start(command, folder, port, nb)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(server.url, timeout=120_000)
        page.wait_for_selector(".segnb-browser .segnb-card", timeout=120_000)
        assert page.locator(".segnb-card").count() == 3
        page.wait_for_selector(".segnb-sparkline .main-svg", timeout=60_000)  # plotly, offline
        points = page.locator(".segnb-sparkline .scatterlayer .point")
        assert points.count() == 7  # a week of versions, one point per day as in the report
        shot = tmp_path / "segment_browser_cards.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        page.locator(".segnb-view button", has_text="List").click()
        page.wait_for_selector(".segnb-row", timeout=30_000)
        assert page.locator(".segnb-card").count() == 0 and page.locator(".segnb-row").count() == 3
        page.locator(".segnb-row button.segnb-open").first.click()
        page.wait_for_selector(".segnb-details-name", timeout=60_000)
        page.wait_for_selector(".segnb-size-history .main-svg", timeout=60_000)
        shot = tmp_path / "segment_browser_list.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        page.locator(".segnb-view button", has_text="Cards").click()
        page.wait_for_selector(".segnb-card", timeout=30_000)
        assert page.get_by_text("Traceback").count() == 0
    finally:
        page.close()
        server.stop()


def test_each_app_builds_its_segment_in_jupyterlab(
    report_warehouse, jupyter_env, browser, tmp_path
):
    """SetWizard, UploadWizard, LookalikeWizard and PredictWizard, each opened by one line."""
    folder = Path(tempfile.mkdtemp(prefix="segnb-lab-apps-"))
    db = folder / "warehouse.duckdb"
    copy_warehouse(report_warehouse, db)
    ws = segnb.connect(str(db))
    ws.open_store(owner="tester")
    ws.from_table("everyone", table="users", id_column="user_id", as_of=AS_OF)
    ws.create_segment("viewers", "count(view_product, T-13..T) >= 3", as_of=AS_OF)
    ids = ws.catalog.table("users").select("user_id").limit(40).to_pandas()["user_id"].tolist()
    ws.con.disconnect()
    upload = folder / "crm_ids.csv"
    upload.write_text("user_id\n" + "\n".join(map(str, ids + ids[:2] + [987654321])) + "\n")
    setup = "%load_ext segnb\n%segnb connect duckdb:///warehouse.duckdb"
    apps = ["%segnb wizard sets", "%segnb wizard upload", "%segnb wizard lookalike",
            "%segnb wizard predict"]  # fmt: skip
    nb = notebook(folder / "apps.ipynb", setup)
    cells = json.loads(nb.read_text())
    cells["cells"] += [{**cells["cells"][0], "source": line} for line in apps]
    nb.write_text(json.dumps(cells))
    tracker = folder / ".lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)  # every cell stays drawn, not only those in view
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
        "--allow-root", f"--ServerApp.root_dir={folder}", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    server = start(command, folder, port, nb)
    page = browser.new_page(viewport={"width": 1400, "height": 2600})  # a whole app in view

    def run_cell(index: int, app: str):
        page.locator(".jp-Cell .jp-InputArea-editor").nth(index).click()
        page.keyboard.press("Shift+Enter")
        if not app:
            return None
        box = page.locator(f".{app}")
        box.wait_for(timeout=120_000)
        box.locator(".segnb-as-of input").fill(AS_OF.isoformat())
        return box

    def create(box, name: str, timeout: int = 60_000) -> None:
        field = box.locator(".segnb-name input")
        field.fill(name)
        field.press("Tab")
        box.locator("button.segnb-create").click()
        box.get_by_text(f"Created '{name}'").wait_for(timeout=timeout)

    def shot(box, name: str) -> None:
        path = tmp_path / name
        box.screenshot(path=str(path))
        keep(path)

    try:
        page.goto(f"http://127.0.0.1:{port}/lab/tree/apps.ipynb", timeout=120_000)
        page.locator(".jp-Cell .jp-InputArea-editor").first.wait_for(timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        run_cell(0, "")
        page.locator(".segnb-connection").wait_for(timeout=120_000)
        # segment sets: pick two segments and an operator, the estimate follows
        box = run_cell(1, "segnb-set-wizard")
        box.locator("select").first.select_option(label="active_buyers")
        box.get_by_role("button", name="add to expression").click()
        box.locator("select").first.select_option(label="members")
        box.locator("select").nth(1).select_option(index=2)  # difference
        box.get_by_role("button", name="add to expression").click()
        box.locator(".segnb-estimate-value").wait_for(timeout=60_000)
        create(box, "buyers_not_members")
        shot(box, "set_wizard_lab.png")
        # a custom list: choose the file, then create; the report counts what matched
        box = run_cell(2, "segnb-upload-wizard")
        with page.expect_file_chooser() as chooser:
            box.locator(".widget-upload").click()
        chooser.value.set_files(str(upload))
        box.get_by_text("crm_ids.csv").wait_for(timeout=30_000)
        create(box, "crm_list")
        box.locator(".segnb-report").get_by_text("40").first.wait_for(timeout=30_000)
        shot(box, "upload_wizard_lab.png")
        # lookalike: a seed and a size
        box = run_cell(3, "segnb-lookalike-wizard")
        box.locator(".segnb-seed select").select_option(label="active_buyers")
        box.locator(".segnb-size input").fill("200")
        box.locator(".segnb-size input").press("Tab")
        create(box, "buyers_lookalike", timeout=120_000)
        shot(box, "lookalike_wizard_lab.png")
        # prediction: the minimums are shown as the samples are picked, then it trains
        box = run_cell(4, "segnb-predict-wizard")
        box.locator(".segnb-audience select").select_option(label="everyone")
        box.locator(".segnb-positive select").select_option(label="active_buyers")
        box.locator(".segnb-counts").get_by_text("✗ positive").wait_for(timeout=30_000)
        box.locator(".segnb-positive select").select_option(label="viewers")
        box.locator(".segnb-counts").get_by_text("✓ positive").wait_for(timeout=30_000)
        box.locator(".segnb-model select").select_option(label="logistic")
        create(box, "will_view", timeout=180_000)
        box.locator(".segnb-evaluation").get_by_text("ROC AUC").wait_for(timeout=60_000)
        box.locator(".segnb-model-charts .segnb-importances .main-svg").first.wait_for(
            timeout=60_000
        )
        importances = box.locator(".segnb-model-charts .segnb-importances").bounding_box()
        assert importances and importances["height"] > 100  # drawn, not squeezed to nothing
        shot(box, "predict_wizard_lab.png")
        shot(
            box.locator(".segnb-model-charts"), "predict_wizard_charts_lab.png"
        )  # ROC, PR, importances
        assert page.get_by_text("Error displaying widget").count() == 0
        assert page.get_by_text("Traceback").count() == 0
    except BaseException:
        failed(page, server, tmp_path, "failed_apps_lab.png")
        raise
    finally:
        page.close()
        halt(server)
    try:
        ws = segnb.connect(str(db))
        made = {name: ws.segment(name) for name in
                ("buyers_not_members", "crm_list", "buyers_lookalike", "will_view")}  # fmt: skip
        assert made["buyers_not_members"].size == ws.set_size("active_buyers - members")
        assert made["crm_list"].method == "upload" and made["crm_list"].size == 40
        assert (
            made["buyers_lookalike"].method == "lookalike" and made["buyers_lookalike"].size == 200
        )
        assert made["will_view"].method == "prediction" and made["will_view"].size > 0
        ws.con.disconnect()
    finally:
        server.stop()
