"""Reports: the sections as data, the plotly charts, and ``--html`` rendered once by papermill.

The static page must hold what the Voilà page shows (see test_reports_browser.py):
the segment's name, the size-history chart and the insights charts; code hidden.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from reports_tools import BUYERS, DAYS
from store_tools import AS_OF

import segnb
from segnb import cli
from segnb.reports import charts
from segnb.reports.overview import OverviewReport
from segnb.reports.page import SegmentReport, parameters
from segnb.reports.render import ReportError, render_html, template_path

pytest_plugins = ("reports_helpers",)
pytest.importorskip("papermill")
pytest.importorskip("nbconvert")


@pytest.fixture(scope="module")
def ws(report_warehouse):
    ws = segnb.connect(str(report_warehouse), read_only=True)
    ws.open_store(owner="tester")
    yield ws
    ws.con.disconnect()


def plotted(html: str) -> list[dict]:
    """The plotly traces of the charts in ``html`` (the JSON handed to Plotly.newPlot)."""
    return [
        json.loads(m)
        for m in re.findall(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{', html, re.S)
    ]


def test_charts_are_plotly_figures_and_whole_sizes_stay_apart():
    points = [("2025-03-01", 1802), ("2025-03-02", 1805), ("2025-03-04", 1803)]
    fig = charts.size_history_figure(points)
    assert [str(x) for x in fig.data[0].x] == ["2025-03-01", "2025-03-02", "2025-03-04"]  # by date
    assert list(fig.data[0].y) == [1802, 1805, 1803]
    assert fig.layout.yaxis.tickformat == ",d"  # 1,802 / 1,804, never "1.8k" three times
    assert fig.layout.yaxis.dtick == 1 and fig.layout.xaxis.dtick == 86_400_000  # whole days
    one = charts.size_history_figure([(datetime.date(2025, 3, 14), 109)])
    assert one.layout.yaxis.dtick == 1 and one.layout.yaxis.range == (107, 111)  # no "109, 109"
    page = charts.size_history_chart(points)
    assert page.startswith('<div class="segnb-chart segnb-size-history" data-points="3"')
    assert "cdn" not in page.lower() and "<script src" not in page  # offline
    offline = charts.size_history_chart(points, include_js=True)
    assert len(offline) > 1_000_000 and "cdn.plot.ly" not in offline.split("Plotly.newPlot")[-1]
    assert "no versions yet" in charts.size_history_chart([])
    rows = [
        {"bucket": "a & <b>", "segment": 5, "segment_share": 0.5, "population": 10,
         "population_share": 0.1, "tgi": 500.0},
        {"bucket": "(no value)", "segment": 5, "segment_share": 0.5, "population": 90,
         "population_share": 0.9, "tgi": float("nan")},
    ]  # fmt: skip
    bars = charts.insights_chart("city", rows, label="City")
    assert 'data-field="city"' in bars and "segnb-insights-chart" in bars
    traces = plotted(bars)[0]
    assert [t["name"] for t in traces] == ["population", "segment"]
    assert traces[1]["text"] == ["TGI —", "TGI 500"]
    assert "segnb-sizes-chart" in charts.sizes_chart(
        [("vip", 1200, "active"), ("old", None, "failed")]
    )


def test_segment_report_sections(ws):
    report = SegmentReport(ws, "active_buyers")
    header = report.header()
    assert header.data["segment"]["name"] == "active_buyers"
    assert "active_buyers" in header._repr_html_() and "Q4" in header._repr_html_()
    history = report.size_history()
    sizes = [ws.estimate(BUYERS, as_of=d) for d in DAYS]
    assert list(history.data["history"]["size"]) == sizes
    (line,) = plotted(history.html)[0]
    assert [x[:10] for x in line["x"]] == [d.isoformat() for d in DAYS]  # by date
    assert line["y"] == sizes
    insights = report.insights()
    frame = insights.data["insights"]
    assert frame.equals(ws.segment("active_buyers").insights())
    shown = insights.data["fields"]
    assert shown[0] == "trade_cnt_7d"  # the rule is about purchases: the most distinctive tag
    assert insights.html.count("segnb-insights-chart") == len(shown) == 12
    assert report.model().html == ""  # rules segments have no model
    definition = report.definition()
    assert definition.data["text"] == BUYERS and "SELECT" in definition.data["sql"].upper()
    sample = report.sample(5)
    assert (
        list(sample.data["sample"]["user_id"])
        == sorted(ws.segment("active_buyers").members().to_pyarrow().column(0).to_pylist())[:5]
    )
    assert [s.name for s in report.sections()] == [
        "header",
        "history",
        "insights",
        "model",
        "definition",
        "sample",
        "footer",
    ]
    sets = SegmentReport(ws, "loyal").definition()
    assert sets.data["text"] == "active_buyers & members"


def test_overview_sections(ws):
    overview = OverviewReport(ws)
    frame = overview.frame
    assert set(frame["name"]) == {"active_buyers", "members", "loyal"}
    assert frame.set_index("name").loc["loyal", "size"] == ws.segment("loyal").size
    header = overview.header()
    assert header.data["counts"] == {"active": 3}
    assert "segnb-sizes-chart" in overview.sizes().html
    assert overview.table().html.count("<tr>") == 1 + 3
    assert "No notebook runs yet" in overview.runs().html


def test_query_string_picks_the_segment_never_the_warehouse(monkeypatch):
    monkeypatch.setenv("QUERY_STRING", "segment=loyal&url=postgres://evil&as_of=2025-03-01")
    got = parameters(segment="active_buyers", url="duckdb:///w.duckdb", as_of=None)
    assert got == {"segment": "loyal", "url": "duckdb:///w.duckdb", "as_of": "2025-03-01"}
    monkeypatch.delenv("QUERY_STRING")
    assert parameters(segment="x")["segment"] == "x"


def test_templates_are_clean_and_parameterised():
    nbformat = pytest.importorskip("nbformat")
    for name, wanted in (("segment_report.ipynb", "segment"), ("segments_overview.ipynb", "url")):
        nb = nbformat.read(template_path(name), as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and f"{wanted} = None" in tagged[0].source
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def static_page(report_warehouse, jupyter_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "active_buyers.html"
    return render_html(out, "active_buyers", url=f"duckdb:///{report_warehouse}")


def test_static_html_report(static_page):
    page = static_page.read_text()
    assert "<title>active_buyers · segnb report</title>" in page
    assert re.search(r'<h1 class="segnb-title"[^>]*>active_buyers ', page)
    assert page.count('class="segnb-chart segnb-size-history"') == 1
    assert page.count('class="segnb-chart segnb-insights-chart"') == 12
    assert 'data-field="trade_cnt_7d"' in page and "TGI" in page
    assert "SegmentReport.open" not in page and "segment = None" not in page  # no code
    assert "Traceback" not in page


def test_static_overview_and_errors(report_warehouse, jupyter_env, tmp_path):
    url = f"duckdb:///{report_warehouse}"
    out = render_html(tmp_path / "all.html", overview=True, url=url)
    page = out.read_text()
    assert "Segments overview" in page and "segnb-sizes-chart" in page
    assert all(name in page for name in ("active_buyers", "members", "loyal"))
    with pytest.raises(
        ReportError, match=r"no segment named 'active_buyer'; did you mean 'active_buyers'"
    ):
        render_html(tmp_path / "x.html", "active_buyer", url=url)
    assert not (tmp_path / "x.html").exists()
    with pytest.raises(ReportError, match="one of them"):
        render_html(tmp_path / "y.html", "loyal", overview=True, url=url)


def test_cli_report_calls_one_function(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_render(out, name, **kwargs):
        seen["html"] = (out, name, kwargs)
        return tmp_path / "out.html"

    def fake_serve(name, **kwargs):
        seen["serve"] = (name, kwargs)
        return "report server stopped"

    monkeypatch.setattr("segnb.reports.render.render_html", fake_render)
    monkeypatch.setattr("segnb.reports.render.serve_report", fake_serve)
    assert cli.main(["report", "vip", "--html", "out.html", "--url", "duckdb:///w.duckdb",
                     "--as-of", str(AS_OF)]) == 0  # fmt: skip
    assert seen["html"] == ("out.html", "vip", {
        "overview": False, "url": "duckdb:///w.duckdb", "catalog": None, "schema": None,
        "as_of": AS_OF,
    })  # fmt: skip
    assert f"wrote {tmp_path / 'out.html'}" in capsys.readouterr().out
    assert cli.main(["report", "--overview", "--port", "8899", "--open"]) == 0
    name, kwargs = seen["serve"]
    assert name is None and kwargs["overview"] and kwargs["port"] == 8899
    assert kwargs["open_browser"]


def test_cli_report_checks_before_it_serves(report_warehouse, capsys):
    url = f"duckdb:///{report_warehouse}"
    assert cli.main(["report", "active_buyer", "--url", url]) == 2  # nothing is served
    err = capsys.readouterr().err
    assert "did you mean 'active_buyers'" in err and "Traceback" not in err
    assert cli.main(["report", "active_buyers", "--url", "duckdb:///nowhere.duckdb"]) == 2
    assert "no DuckDB warehouse" in capsys.readouterr().err


def test_a_report_that_cannot_be_made_is_a_notice():
    from segnb.errors import SegmentNotFoundError
    from segnb.reports.notice import Notice, viewable

    def missing(name):
        raise SegmentNotFoundError(f"no segment named {name!r}")

    page = viewable(missing, "vip")
    assert isinstance(page, Notice) and page.header().data == {"error": "no segment named 'vip'"}
    assert "cannot be shown" in page.header()._repr_html_()
    assert page.insights()._repr_html_() == "" and page.sizes().data == {}
    page.close()
    with pytest.raises(AttributeError):
        page.nothing_like_this  # noqa: B018
