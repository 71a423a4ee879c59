"""``segnb run``: a real papermill run of a real notebook with ``%%segment`` cells.

The notebook connects to the test warehouse (a private DuckDB copy, or a
store schema of its own on PostgreSQL), creates segments, and a second run
with another ``as_of`` adds a version to each. A failing notebook records the
failure with its cell; the run record knows which segments it touched.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import shutil
import uuid

import pytest
from store_tools import AS_OF, pg_url

import segnb
from segnb import cli
from segnb.errors import InvalidValueError
from segnb.refresh.runs import NotebookRun, notebook_runs, parse_value, run_notebook
from segnb.store import schema as schema_module
from segnb.store.store import SCHEMA_VERSION, Store

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("papermill")

BEFORE = AS_OF - datetime.timedelta(days=1)
BUYERS = "count(purchase, T-6..T) >= 2 and not is_black_list"
BIG = "sum(purchase.amount, T-29..T) > 500"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to, subject, body) -> None:
        self.sent.append((to, subject, body))


def notebook(path, *cells: str) -> str:
    """A notebook whose first cell is the parameters cell."""
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    params = nbformat.v4.new_code_cell('as_of = None\nurl = None\nschema = "segnb"\n')
    params.metadata["tags"] = ["parameters"]
    setup = nbformat.v4.new_code_cell(
        "%load_ext segnb\n%config SegNB.store_schema = schema\n%config SegNB.owner = 'tester'\n"
        "%segnb connect $url"
    )
    nb.cells = [params, setup, *[nbformat.v4.new_code_cell(c) for c in cells]]
    nbformat.write(nb, path)
    return str(path)


@pytest.fixture
def jupyter_home(tmp_path, monkeypatch):
    for name in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        folder = tmp_path / "home" / name.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(name, str(folder))


@pytest.fixture
def target(backend, warehouse, tmp_path, jupyter_home):
    """(url, schema) of a warehouse of the test's own; nothing holds it open."""
    if backend.name == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        shutil.copy(warehouse, path)
        yield f"duckdb:///{path}", "segnb"
        return
    schema = f"r_{uuid.uuid4().hex[:10]}"
    yield pg_url(backend.con), schema
    backend.con.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE').close()


@contextlib.contextmanager
def opened(url: str, schema: str):
    ws = segnb.connect(url)
    try:
        ws.open_store(schema, owner="tester")
        yield ws
    finally:
        if url.startswith("duckdb"):
            ws.con.disconnect()


def test_runs_add_a_version_to_each_segment(target, tmp_path, capsys):
    url, schema = target
    path = notebook(
        tmp_path / "daily.ipynb",
        # a plain cell: re-running the same rule writes a new version
        f"%%segment buyers --refresh daily --as-of $as_of --email growth@example.com\n{BUYERS}",
        f"%%segment big --replace --refresh daily --as-of $as_of\n{BIG}",
        "%%segment loyal --replace --refresh daily --as-of $as_of\nbuyers & big",
    )
    mailer = Recorder()
    options = {"url": url, "schema": schema, "mailer": mailer}
    first = run_notebook(path, {"url": url, "schema": schema}, as_of=BEFORE, **options)
    assert first.status == "succeeded", first
    assert first.recorded and first.id == 1 and first.exit_code == 0
    assert [(s["segment"], s["kind"], s["status"], s["version"]) for s in first.segments] == [
        ("buyers", "create", "succeeded", 1), ("big", "create", "succeeded", 1),
        ("loyal", "create", "succeeded", 1),
    ]  # fmt: skip
    second = run_notebook(path, {"url": url, "schema": schema}, as_of=str(AS_OF), **options)
    assert second.status == "succeeded" and second.id == 2
    assert [(s["segment"], s["kind"], s["version"]) for s in second.segments] == [
        ("buyers", "refresh", 2),
        ("big", "redefine", 2),
        ("loyal", "redefine", 2),
    ]
    with opened(url, schema) as ws:
        for name, rule in (("buyers", BUYERS), ("big", BIG)):
            history = ws.segment(name).history()
            assert list(history["as_of"]) == [BEFORE, AS_OF]
            assert list(history["size"]) == [ws.estimate(rule, as_of=d) for d in (BEFORE, AS_OF)]
        sizes = {s["segment"]: s["size"] for s in second.segments}
        assert sizes["loyal"] == ws.segment("loyal").size == ws.set_size("buyers & big")
        runs = notebook_runs(ws)
        assert list(runs["id"]) == [2, 1] and list(runs["status"]) == ["succeeded"] * 2
        assert list(runs["as_of"]) == [AS_OF, BEFORE]
    # the executed copies are the run logs, under runs/ next to the notebook
    out = nbformat.read(second.output, as_version=4)
    assert second.output.startswith(str(tmp_path / "runs" / "daily."))
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f'as_of = "{AS_OF}"' in injected[0].source
    cell = next(c for c in out.cells if c.source.startswith("%%segment buyers"))
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
    assert "'buyers' active" in shown and f"as of {AS_OF}" in shown
    assert out.metadata["segnb"]["run"]["status"] == "succeeded"
    assert nbformat.read(path, as_version=4).cells[2].outputs == []  # the source is untouched
    # the segment with an address was e-mailed once per run
    assert [subject.split(":")[0] for _, subject, _ in mailer.sent] == [
        "[segnb] buyers refreshed"
    ] * 2
    assert "since the last version" in mailer.sent[1][2]
    # `segnb runs` lists them, newest first
    assert cli.main(["runs", "--url", url, "--schema", schema, "--limit", "1"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and listed[1].split()[:2] == ["2", str(tmp_path / "daily.ipynb")]


def test_a_failing_notebook_records_the_failing_cell(warehouse, tmp_path, jupyter_home):
    """On DuckDB: what the run records of a failure does not depend on the backend."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, path)
    url = f"duckdb:///{path}"
    with opened(url, "segnb") as ws:
        ws.con.create_table("crm_src", schema={"uid": "int64"}, temp=True)  # the file is only read
        ws.con.insert("crm_src", [{"uid": 1}, {"uid": 2}])
        ws.from_table("crm", table="crm_src", id_column="uid", as_of=BEFORE,
                      email="crm@example.com")  # fmt: skip
        ws.con.drop_table("crm_src")  # the export the notebook refreshes from is gone
    source = notebook(
        tmp_path / "nightly.ipynb",
        f"%%segment buyers --as-of $as_of\n{BUYERS}",
        "%segment refresh crm --as-of $as_of",
        "print('never reached')",
    )
    mailer = Recorder()
    run = run_notebook(source, {"url": url}, as_of=AS_OF, url=url, mailer=mailer)
    assert run.status == "failed" and run.exit_code == 1
    assert run.failed_cell == 3  # parameters, setup, buyers, then the refresh
    assert run.failed_source == "%segment refresh crm --as-of $as_of"
    assert run.error.startswith("UsageError: ") and "crm_src" in run.error
    assert [(s["segment"], s["status"]) for s in run.segments] == [
        ("buyers", "succeeded"),
        ("crm", "failed"),
    ]
    assert "crm_src" in run.segments[1]["error"]
    assert [(to, subject) for to, subject, _ in mailer.sent] == [
        ("crm@example.com", f"[segnb] crm: refresh as of {AS_OF} failed")
    ]
    text = str(run)
    assert "failed" in text and "error in cell 3: UsageError" in text
    out = nbformat.read(run.output, as_version=4)
    never = [c for c in out.cells if c.source == "print('never reached')"]
    assert never and not never[0].outputs
    with opened(url, "segnb") as ws:
        row = ws.store.select("notebook_runs")[0]
        assert row["status"] == "failed" and row["failed_cell"] == 3
        assert json.loads(row["parameters"]) == {"url": url, "as_of": str(AS_OF)}
        crm = ws.segment("crm")
        assert crm.status == "failed" and crm.version == 1  # the old version is still served


def test_unrecorded_runs_and_mistakes(tmp_path, jupyter_home, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no segnb.toml, no warehouse.duckdb: nothing records it
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, tmp_path / "plain.ipynb")
    with pytest.raises(InvalidValueError, match="not a notebook file"):
        run_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(InvalidValueError, match="as_of given twice"):
        run_notebook(tmp_path / "plain.ipynb", {"as_of": "2025-01-01"}, as_of="2025-01-02")
    run = run_notebook(tmp_path / "plain.ipynb", output_dir=tmp_path / "logs", mailer=None)
    assert run.status == "succeeded" and not run.recorded and run.id is None
    assert run.output.startswith(str(tmp_path / "logs"))
    assert "not recorded" in str(run)


def test_cli_run_calls_run_notebook(monkeypatch, capsys):
    seen = {}

    def fake_run(notebook, parameters, **kwargs):
        seen["call"] = (notebook, parameters, kwargs)
        return NotebookRun(1, notebook, "out.ipynb", parameters, AS_OF,
                           datetime.datetime(2025, 1, 1), status="failed", error="boom")  # fmt: skip

    monkeypatch.setattr("segnb.refresh.runs.run_notebook", fake_run)
    code = cli.main(["run", "daily.ipynb", "-p", "users", "3000", "-p", "region", "south",
                     "-p", "flag", "True", "--as-of", str(AS_OF), "--url", "duckdb:///w.duckdb"])  # fmt: skip
    assert code == 1  # the run failed
    notebook_arg, parameters, kwargs = seen["call"]
    assert notebook_arg == "daily.ipynb"
    assert parameters == {"users": 3000, "region": "south", "flag": True}
    assert kwargs["as_of"] == AS_OF and kwargs["url"] == "duckdb:///w.duckdb"
    assert "boom" in capsys.readouterr().out
    assert [parse_value(v) for v in ("None", "1.5", "06:00", "-3")] == [None, 1.5, "06:00", -3]


def test_store_layout_1_is_upgraded(backend, monkeypatch):
    """A store written by the previous segnb gains the run tables and keeps its rows."""
    import ibis

    schema = f"v_{uuid.uuid4().hex[:8]}"
    con = backend.con if backend.name == "postgres" else ibis.duckdb.connect()
    try:
        with monkeypatch.context() as m:
            m.setattr(schema_module, "MIGRATIONS", {1: schema_module.MIGRATIONS[1]})
            m.setattr(schema_module, "SCHEMA_VERSION", 1)
            old = Store(con, backend.catalog, schema)
            assert old.schema_version == 1
            old.insert("runs", {"id": 1, "segment": "x", "status": "succeeded"})
        new = Store(con, backend.catalog, schema)
        assert new.schema_version == SCHEMA_VERSION >= 2
        assert new.runs()[0]["segment"] == "x" and new.runs()[0]["notebook_run"] is None
        assert new.select("notebook_runs") == [] and new.select("notices") == []
    finally:
        cursor = con.raw_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        with contextlib.suppress(AttributeError):
            cursor.close()
