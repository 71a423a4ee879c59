"""Fixtures of the report tests: a warehouse with report-worthy segments, Jupyter kept at home.

A test module loads them with ``pytest_plugins = ("reports_helpers",)``.
"""

from __future__ import annotations

import shutil

import pytest
from reports_tools import AS_OF, BUYERS, DAYS

import segnb

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "browser", "jupyter_env", "report_warehouse"]

#: Debian's Chromium, driven by Playwright (never a downloaded browser)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one module's tests (CI fails without it; locally it skips)."""
    import os
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory):
    """IPython and Jupyter read and write temporary folders only (this module's tests)."""
    home = tmp_path_factory.mktemp("jupyter-home")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
            (home / name.lower()).mkdir()
            mp.setenv(name, str(home / name.lower()))
        yield home


@pytest.fixture(scope="module")
def report_warehouse(warehouse, tmp_path_factory):
    """A DuckDB copy with ``active_buyers`` (a week of daily versions) and a few others.

    Closed when returned: report kernels open the file themselves.
    """
    path = tmp_path_factory.mktemp("reports") / "warehouse.duckdb"
    shutil.copy(warehouse, path)
    ws = segnb.connect(str(path))
    try:
        ws.open_store(owner="tester")
        seg = ws.create_segment(
            "active_buyers", BUYERS, as_of=DAYS[0], refresh="daily", group="Q4",
            description="two purchases in the last week, not blacklisted",
        )  # fmt: skip
        for day in DAYS[1:]:
            seg.refresh(as_of=day)
        ws.create_segment("members", "is_member", as_of=AS_OF)
        ws.combine("loyal", "active_buyers & members", as_of=AS_OF)
    finally:
        ws.con.disconnect()
    return path
