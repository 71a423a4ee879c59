"""Rendering the report notebooks: once to static HTML, or served live by Voilà.

``render_html`` executes a template with papermill (parameters: segment,
warehouse URL, catalog, store schema, as-of date) and converts the result
with nbconvert, code hidden, into one self-contained HTML file — for
e-mail or a file share. ``serve`` starts Voilà on 127.0.0.1 with a
parameterised copy of the template; the page also takes ``?segment=NAME``
(and ``as_of``) in its query string.

Examples
--------
>>> render_html("report.html", "active_buyers", url="duckdb:///warehouse.duckdb")  # doctest: +SKIP
>>> with serve("active_buyers") as server:                                      # doctest: +SKIP
...     print(server.url)
http://127.0.0.1:51234/
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segnb.errors import NotAvailableError, SegnbError
from segnb.refresh.session import Target
from segnb.reports.page import open_workspace

__all__ = [
    "OVERVIEW_TEMPLATE",
    "SEGMENT_TEMPLATE",
    "ReportError",
    "ReportServer",
    "free_port",
    "render_html",
    "report_parameters",
    "serve",
    "serve_report",
    "template_path",
]

SEGMENT_TEMPLATE = "segment_report.ipynb"
OVERVIEW_TEMPLATE = "segments_overview.ipynb"


class ReportError(SegnbError, RuntimeError):
    """A report that could not be made (unknown segment, template error, server did not start)."""


def template_path(name: str) -> Path:
    """A notebook of ``templates/``: shipped in the package, or the source checkout's."""
    package = Path(__file__).resolve().parent.parent
    for folder in (package / "templates", package.parent / "templates"):
        if (folder / name).is_file():
            return folder / name
    raise NotAvailableError(f"the report template {name!r} is missing from this segnb install")


def report_parameters(
    segment: str | None = None,
    *,
    url: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    as_of: Any = None,
    cwd: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The template's parameters, with the warehouse named so it works from any directory."""

    target = Target.resolve(url, catalog, schema=schema, cwd=cwd)
    params = dict(target.parameters())
    if segment is not None:
        params["segment"] = segment
    if as_of is not None:
        params["as_of"] = str(as_of)
    return params


def check_report(
    segment: str | None = None,
    *,
    overview: bool = False,
    url: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    cwd: str | os.PathLike | None = None,
) -> None:
    """Check, before a report is made or served, that its warehouse, store and segment are there.

    Raises the segnb error a viewer would otherwise meet on the page (an
    unreachable warehouse, a missing store, an unknown segment with "did you
    mean"), so ``segnb report`` says it in the terminal and serves nothing.
    """
    _template(segment, overview)
    try:
        target = Target.resolve(url, catalog, schema=schema, cwd=cwd)
        ws = open_workspace(target.url, target.catalog, target.schema)
    except SegnbError as exc:
        raise ReportError(f"the report cannot be made: {exc}") from None
    try:
        if segment is not None:
            ws.segment(segment)
    except SegnbError as exc:
        raise ReportError(str(exc)) from None
    finally:
        with contextlib.suppress(Exception):
            ws.con.disconnect()


def _template(segment: str | None, overview: bool) -> Path:
    if overview == (segment is not None):
        raise ReportError("make a report of one SEGMENT or the --overview (one of them)")
    return template_path(OVERVIEW_TEMPLATE if overview else SEGMENT_TEMPLATE)


# -- static HTML ---------------------------------------------------------------------


def render_html(
    out: str | os.PathLike,
    segment: str | None = None,
    *,
    overview: bool = False,
    url: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    as_of: Any = None,
    kernel_name: str | None = None,
    timeout: float = 600,
    cwd: str | os.PathLike | None = None,
) -> Path:
    """Execute the report once (papermill) and write it as one static HTML file (nbconvert).

    Returns the path written. :class:`ReportError` names the failing cell's
    error (e.g. an unknown segment) when the report cannot be made.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter
    from papermill.exceptions import PapermillExecutionError

    template = _template(segment, overview)
    check_report(segment, overview=overview, url=url, catalog=catalog, schema=schema, cwd=cwd)
    params = report_parameters(segment, url=url, catalog=catalog, schema=schema, as_of=as_of,
                               cwd=cwd)  # fmt: skip
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="segnb-report-") as tmp:
        executed = Path(tmp) / "report.ipynb"
        try:
            papermill.execute_notebook(
                str(template), str(executed), parameters=params, kernel_name=kernel_name,
                cwd=tmp, progress_bar=False, execution_timeout=timeout,
            )  # fmt: skip
        except PapermillExecutionError as exc:
            what = f"segment {segment!r}" if segment else "the overview"
            raise ReportError(
                f"the report of {what} failed: {exc.ename}: {_clean(exc.evalue)}"
            ) from None
        nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = f"{segment} · segnb report" if segment else "Segments · segnb"
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def _clean(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text.splitlines()[0] if text else ""


# -- Voilà --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ReportServer:
    """A Voilà process serving one report on 127.0.0.1; stop it with :meth:`stop` (or ``with``)."""

    def __init__(self, process: subprocess.Popen, port: int, folder: Path, notebook: Path) -> None:
        self.process = process
        self.port = port
        self.folder = folder
        self.notebook = notebook

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> str:
        """What Voilà printed so far."""
        path = self.folder / "voila.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self, timeout: float = 60.0) -> ReportServer:
        """Return once *this* Voilà says it is running and accepts connections.

        A port that another program holds would accept connections too: the
        server's own announcement (``Voilà is running at: …:PORT/``) is required.
        :class:`ReportError` if it exits or is not ready after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        announced = f"127.0.0.1:{self.port}/"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ReportError(
                    f"Voilà exited with code {self.process.returncode}:\n{self.log[-2000:]}"
                )
            log = self.log
            if "running at" in log and announced in log.split("running at", 1)[1]:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", self.port), timeout=1),
                ):
                    return self
            time.sleep(0.2)
        self.stop()
        raise ReportError(f"Voilà did not start listening within {timeout:g}s:\n{self.log[-2000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Voilà and its kernels, and remove the report's temporary folder."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ReportServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.process.poll() is None else "stopped"
        return f"<segnb.ReportServer {self.url} {state}>"


def serve(
    segment: str | None = None,
    *,
    overview: bool = False,
    url: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    as_of: Any = None,
    port: int | None = None,
    ready_timeout: float = 60.0,
    cwd: str | os.PathLike | None = None,
) -> ReportServer:
    """Start Voilà on 127.0.0.1 serving the report; returns once it accepts connections."""
    import papermill

    template = _template(segment, overview)
    check_report(segment, overview=overview, url=url, catalog=catalog, schema=schema, cwd=cwd)
    params = report_parameters(segment, url=url, catalog=catalog, schema=schema, as_of=as_of,
                               cwd=cwd)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="segnb-voila-"))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", segment or "overview")
    notebook = folder / f"{stem}.ipynb"
    papermill.execute_notebook(  # parameters injected, nothing executed: Voilà runs it
        str(template), str(notebook), parameters=params, prepare_only=True, progress_bar=False
    )
    port = port or free_port()
    command = [
        sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
        "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--strip_sources=True",
        "--show_tracebacks=False", f"--Voila.root_dir={folder}",
    ]  # fmt: skip
    log = open(folder / "voila.log", "wb")  # noqa: SIM115 - the server writes it while it runs
    try:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    finally:
        log.close()
    server = ReportServer(process, port, folder, notebook)
    try:
        return server.wait_ready(ready_timeout)
    except BaseException:  # never leave a half-started server behind
        server.stop()
        raise


def serve_report(
    segment: str | None = None,
    *,
    open_browser: bool = False,
    announce: Callable[[str], None] = print,
    **options: Any,
) -> str:
    """Serve the report until interrupted (Ctrl-C, or SIGTERM); what ``segnb report`` runs."""

    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    server = serve(segment, **options)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops Voilà too
    try:
        announce(f"serving the report at {server.url} (Ctrl-C stops it)")
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    return "report server stopped"
