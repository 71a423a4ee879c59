"""The Voilà report in a real browser: Debian's Chromium driven by Playwright, headless.

``serve`` starts Voilà on 127.0.0.1 (a free port) for a demo segment; the page
must show the segment's name, the size-history chart and the insights charts,
and ``?segment=NAME`` must switch the segment. A screenshot is saved (to
``$SEGNB_SCREENSHOTS`` when set, for CI artifacts and for reading it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from reports_tools import DAYS

from segnb.reports.render import ReportError, render_html, serve

pytest_plugins = ("reports_helpers",)
pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")
pytest.importorskip("voila")


@pytest.fixture(scope="module")
def server(report_warehouse, jupyter_env):
    with serve("active_buyers", url=f"duckdb:///{report_warehouse}", ready_timeout=90) as running:
        yield running
    assert running.process.poll() is not None  # stopped with its kernels


def keep(shot: Path) -> None:
    folder = os.environ.get("SEGNB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)


def test_voila_serves_the_report(server, browser, tmp_path):
    assert server.url.startswith("http://127.0.0.1:")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(server.url, timeout=90_000)
        page.wait_for_selector(".segnb-insights-chart .main-svg", timeout=90_000)
        title = page.locator("h1.segnb-title")
        assert title.inner_text().startswith("active_buyers")
        history = page.locator("div.segnb-size-history")
        assert history.is_visible() and history.locator(".scatterlayer .point").count() == len(DAYS)
        charts = page.locator("div.segnb-insights-chart")
        assert charts.count() == 12 and charts.first.is_visible()
        assert charts.first.get_attribute("data-field") == "trade_cnt_7d"
        assert page.locator("pre.segnb-rule").inner_text().startswith("count(purchase")
        assert page.get_by_text("Traceback").count() == 0
        shot = tmp_path / "segment_report.png"
        page.set_viewport_size({"width": 1280, "height": 2600})  # Voilà scrolls inside the page
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        keep(shot)
        # the query string picks another segment of the same warehouse
        page.goto(server.url + "?segment=loyal", timeout=90_000)
        page.wait_for_selector(".segnb-insights-chart .main-svg", timeout=90_000)
        assert page.locator("h1.segnb-title").inner_text().startswith("loyal")
        assert "active_buyers & members" in page.locator("pre.segnb-rule").inner_text()
        # a segment that is not there: a short notice, never a traceback
        page.goto(server.url + "?segment=active_buyer", timeout=90_000)
        page.get_by_text("This report cannot be shown").wait_for(timeout=90_000)
        assert page.get_by_text("did you mean 'active_buyers'").count() == 1
        assert page.get_by_text("Traceback").count() == 0
        assert page.get_by_text("There was an error").count() == 0
    finally:
        page.close()


def test_the_static_page_shows_the_same(report_warehouse, jupyter_env, browser, tmp_path):
    out = render_html(
        tmp_path / "report.html", "active_buyers", url=f"duckdb:///{report_warehouse}"
    )
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(out.as_uri())
        assert page.locator("h1.segnb-title").inner_text().startswith("active_buyers")
        page.wait_for_selector(".segnb-insights-chart .main-svg", timeout=30_000)  # drawn offline
        assert page.locator(".segnb-size-history .scatterlayer .point").count() == len(DAYS)
        assert page.locator("div.segnb-insights-chart").count() == 12
        shot = tmp_path / "segment_report_static.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
    finally:
        page.close()


def test_nothing_is_served_for_a_segment_that_is_not_there(report_warehouse, jupyter_env):
    with pytest.raises(ReportError, match="did you mean 'active_buyers'"):
        serve("active_buyer", url=f"duckdb:///{report_warehouse}")
    with pytest.raises(ReportError, match="cannot be made: no DuckDB warehouse"):
        serve("active_buyers", url="duckdb:///nowhere/w.duckdb")


def test_a_server_that_cannot_start_says_why(report_warehouse, jupyter_env, server):
    with pytest.raises(ReportError, match="Voilà exited with code"):
        serve("active_buyers", url=f"duckdb:///{report_warehouse}", port=server.port)
