"""notebooks/quickstart.ipynb runs top to bottom with papermill and shows the right sizes.

The sizes its outputs show are compared with the Python API's evaluation of
the same rules on the warehouse the notebook wrote.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

import segnb

nbformat = pytest.importorskip("nbformat")
papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"
AS_OF = datetime.date(2025, 3, 31)
ACTIVE = "count(purchase, T-6..T) >= 2 and not is_black_list"
BIG = "sum(purchase.amount, T-29..T) > 500"
REFUNDERS = "SELECT DISTINCT user_id FROM events WHERE event = 'refund'"


def texts(cell) -> str:
    """Everything a cell showed as text: streams and text/plain results."""
    out = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            out.append(output.text)
        elif "data" in output:
            out.append(output.data.get("text/plain", ""))
    return "\n".join(out)


def cell_starting(nb, prefix: str):
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(prefix)]
    assert found, f"no cell starts with {prefix!r}"
    return found[0]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The quickstart run by papermill on a small demo warehouse with a fixed date."""
    work = tmp_path_factory.mktemp("quickstart")
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):
            (home / name.lower()).mkdir()
            mp.setenv(name, str(home / name.lower()))
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(work / "quickstart.out.ipynb"),
            parameters={"users": 3000, "end": str(AS_OF), "as_of": str(AS_OF)},
            cwd=str(work),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=300,
        )
    return work, nbformat.read(work / "quickstart.out.ipynb", as_version=4)


def test_the_notebook_has_a_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "as_of = None" in tagged[0].source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # saved clean


def test_runs_without_errors(executed):
    _, nb = executed
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{cell.source!r}: {output.get('evalue')}"


def test_outputs_show_the_expected_sizes(executed):
    work, nb = executed
    ws = segnb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        active = ws.estimate(ACTIVE, as_of=AS_OF)
        ids = {
            rule: set(ws.members(rule, as_of=AS_OF).to_pyarrow().column(0).to_pylist())
            for rule in (ACTIVE, BIG)
        }
        refunders = set(ws.con.sql(REFUNDERS).to_pyarrow().column(0).to_pylist())
        week = [
            ws.estimate(ACTIVE, as_of=AS_OF - datetime.timedelta(days=d)) for d in range(6, -1, -1)
        ]
    finally:
        ws.con.disconnect()
    loyal = len(ids[ACTIVE] & ids[BIG] - refunders)

    estimate = texts(cell_starting(nb, "%segment estimate"))
    assert f"{active:,} users match (as of {AS_OF}; nothing saved)" in estimate
    created = texts(cell_starting(nb, "%%segment active_buyers"))
    assert f"'active_buyers' active: {active:,} users, version 1 as of {AS_OF}" in created
    assert texts(cell_starting(nb, "buyers = _")).strip() == str(active)
    big = texts(cell_starting(nb, "%%segment big_spenders"))
    assert f"'big_spenders' active: {len(ids[BIG]):,} users" in big
    upload = texts(cell_starting(nb, "%segment upload"))
    assert "'crm_list' active: 300 users" in upload and "custom list" in upload
    table = texts(cell_starting(nb, "%segment from-table"))
    assert f"'refunders' active: {len(refunders):,} users" in table
    dry = texts(cell_starting(nb, "%%segment --dry-run"))
    assert f"{loyal:,} users match (from the current versions; nothing saved)" in dry
    combined = texts(cell_starting(nb, "%%segment loyal_big_buyers"))
    assert f"'loyal_big_buyers' active: {loyal:,} users" in combined and "segment sets" in combined
    exported = texts(cell_starting(nb, "%segment export"))
    assert f"exported {loyal:,} users of 'loyal_big_buyers'" in exported
    assert (work / "loyal_big_buyers.parquet").exists()
    history = texts(cell_starting(nb, "%segment history"))
    sizes = [
        int(s)
        for s in re.findall(r"^\s*\d+\s+\d{4}-\d\d-\d\d\s+(\d+)\s+\d+\s+\d+\s", history, re.M)
    ]
    assert sizes[-7:] == week
    shown = cell_starting(nb, "%segment show active_buyers").outputs[0].data["text/html"]
    assert "<svg" in shown and "Q4" in shown


def test_the_source_notebook_is_not_changed(executed):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_progress_bars_in_a_notebook_are_text(tmp_path):
    """A widget progress bar shows "Error displaying widget: model not found" once the notebook
    is reopened; the bars of predict, lookalike and refresh are text on stderr instead."""
    nbclient = pytest.importorskip("nbclient")
    code = (
        "from segnb.models._sampling import _bar as model_bar\n"
        "from segnb.refresh.due import _bar as refresh_bar\n"
        "for bar in (model_bar(2, 'segnb predict', True), refresh_bar(2, True)):\n"
        "    bar.update(2)\n"
        "    bar.close()\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = nb.cells[0].outputs
    assert not [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    streams = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "segnb predict" in streams and "refresh" in streams
