"""``segnb run``: execute a saved notebook with papermill and record the run.

The notebook runs in a fresh kernel with its parameters cell overridden
(``-p name value``, and always ``as_of``), in the notebook's directory. The
executed copy is kept under a runs directory as the run log, and the run is
recorded in the store's ``segnb_notebook_runs`` table: start, end, status,
the error with the failing cell, and the segments it created or refreshed.

The kernel learns its run's id from the ``SEGNB_NOTEBOOK_RUN`` environment
variable, and every segment version it writes is recorded with it (see
:data:`segnb.store.store.NOTEBOOK_RUN_ENV`); that is how the run knows what
it touched. A notebook saved without kernel metadata runs in this Python's
own kernel (``python3``).

Examples
--------
>>> run = run_notebook("daily.ipynb", {"region": "south"}, as_of="2025-04-01")   # doctest: +SKIP
>>> print(run)                                                                  # doctest: +SKIP
run 7 of daily.ipynb as of 2025-04-01 succeeded in 12.3s; executed copy runs/daily...ipynb
  active_buyers   refresh  version 4  1,234 users
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segnb.config import SegNB
from segnb.errors import InvalidValueError, SegnbError, WarehouseError
from segnb.refresh.notify import Mailer, notify_failed, notify_refreshed
from segnb.refresh.schedule import parse_time, zone
from segnb.refresh.session import Target, workspace
from segnb.store.store import NOTEBOOK_RUN_ENV, utcnow
from segnb.times import as_date, today

if TYPE_CHECKING:
    from segnb.refresh.session import Target
    from segnb.workspace import Workspace

__all__ = [
    "NotebookRun",
    "notebook_runs",
    "parse_value",
    "run_notebook",
    "scheduled_now",
]

RUNS_DIR = "runs"
_SKIPPED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


@dataclass
class NotebookRun:
    """One execution of a notebook: what ran, how it ended, what it touched."""

    id: int | None
    notebook: str
    output: str
    parameters: dict[str, Any]
    as_of: dt.date | None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str = "running"  # running | succeeded | failed
    error: str | None = None
    failed_cell: int | None = None  # index in the source notebook (0-based)
    failed_source: str | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    recorded: bool = False  # whether the store holds it
    notified: dict[str, str] = field(default_factory=dict)  # segment -> e-mail status
    seconds: float | None = None  # how long the notebook ran

    @property
    def failed(self) -> bool:
        return self.status != "succeeded"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 0 on success, 1 when the notebook failed."""
        return 0 if self.status == "succeeded" else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        ident = f"run {self.id}" if self.id is not None else "run (not recorded)"
        took = f" in {self.seconds:.1f}s" if self.seconds is not None else ""
        text = (
            f"{ident} of {self.notebook} as of {self.as_of} {self.status}{took}; "
            f"executed copy {self.output}"
        )
        if self.error:
            where = f" in cell {self.failed_cell}" if self.failed_cell is not None else ""
            text += f"\n  error{where}: {self.error}"
            if self.failed_source:
                first = (
                    self.failed_source.strip().splitlines()[0] if self.failed_source.strip() else ""
                )
                text += f"\n  cell {self.failed_cell} starts: {first[:100]}"
        for s in self.segments:
            size = f"  {s['size']:,}" if s.get("size") is not None else ""
            version = f"  version {s['version']}" if s.get("version") is not None else ""
            error = f"  {s['error']}" if s.get("error") else ""
            mail = self.notified.get(s["segment"])
            mail = f"  (e-mail {mail})" if mail else ""
            text += (
                f"\n  {s['segment']:<20} {s['kind']:<8} {s['status']}{version}{size}{error}{mail}"
            )
        if not self.recorded:
            text += "\n  (not recorded in a segment store: no warehouse named; pass --url)"
        return text

    __repr__ = __str__


#: the kernel of this Python (ipykernel's), for notebooks saved without kernel metadata
NATIVE_KERNEL = "python3"


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill's CLI reads it: True/False/None, int, float, else text."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def scheduled_now(at: str, tz: str | None, now: dt.datetime | None = None) -> bool:
    """Whether it is ``at`` (HH:MM) in ``tz`` now, or up to 30 minutes later.

    Cron runs in the machine's time zone; a schedule in another zone with
    daylight saving is installed at every machine time it can fall on and
    this guard lets the right one through, once a day, following cron's rule
    at the changes of the clock: a time that a change skips (02:30 on the
    spring-forward day) runs right after the change, and a time that occurs
    twice (01:30 on the fall-back day) runs at its first occurrence only.
    The comparison is between instants, never wall-clock readings.
    """
    hour, minute = parse_time(at)
    now = now or dt.datetime.now(dt.timezone.utc)
    place = zone(tz)
    local = now.astimezone(place)
    for day in (local.date(), local.date() - dt.timedelta(days=1)):
        # fold=0: the first of a repeated time; a skipped time maps to the instant after the gap
        intended = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=place)
        if dt.timedelta(0) <= now - intended.astimezone(dt.timezone.utc) < dt.timedelta(minutes=30):
            return True
    return False


# -- running ----------------------------------------------------------------------


def run_notebook(
    notebook: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    as_of: Any = None,
    output_dir: str | os.PathLike | None = None,
    url: str | None = None,
    catalog: str | None = None,
    schema: str | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    progress: bool = False,
    mailer: Any = "config",
    record: bool | None = None,
    tz: str | None = None,
) -> NotebookRun:
    """Execute ``notebook`` with papermill, keep the executed copy and record the run.

    Parameters
    ----------
    notebook
        A saved ``.ipynb``; its cell tagged ``parameters`` gets the values.
    parameters
        Values for the parameters cell (``-p name value`` on the command line).
    as_of
        The run's date T, passed as the ``as_of`` parameter (ISO text);
        default today in ``tz`` (default ``SegNB.timezone``, else local time).
    output_dir
        Where the executed copy goes (default: ``runs/`` next to the notebook).
    url, catalog, schema
        The warehouse whose store records the run (default: ``segnb.toml``
        or ``warehouse.duckdb`` in the working directory). Without one the
        run still executes, unrecorded, unless ``record=True``.
    kernel_name, timeout
        The Jupyter kernel (default: the notebook's, else this Python's
        ``python3``) and a per-cell time limit.
    mailer
        Notifications for the segments the run wrote or failed to write:
        a :class:`segnb.refresh.notify.Mailer`, None, or ``"config"``.

    Returns
    -------
    NotebookRun
        ``status`` is ``succeeded`` or ``failed``; a failure is returned, not raised.
    """
    import nbformat

    source = Path(notebook).resolve()
    if source.suffix != ".ipynb" or not source.is_file():
        raise InvalidValueError(f"{os.fspath(notebook)!r} is not a notebook file (.ipynb)")
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as exc:
        raise InvalidValueError(f"{source} is not a readable notebook: {_first(exc)}") from None
    language = None
    if kernel_name is None and not (nb.metadata.get("kernelspec") or {}).get("name"):
        kernel_name, language = NATIVE_KERNEL, "python"  # saved without kernel metadata
    params = dict(parameters or {})
    given = params.pop("as_of", None)
    if as_of is not None and given is not None and as_date(given) != as_date(as_of):
        raise InvalidValueError(f"as_of given twice ({given} and {as_of}); give it once")
    given = as_of if as_of is not None else given
    day = as_date(given) if given is not None else today(tz or _tz())
    params["as_of"] = day.isoformat()
    target = _target(url, catalog, schema, record)
    out_dir = Path(output_dir).resolve() if output_dir else source.parent / RUNS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    started = utcnow()
    output = _output_path(out_dir, source.stem, started, day)
    run = NotebookRun(None, str(source), str(output), params, day, started)
    if target is not None:
        with _store(target) as ws:
            run.id = _record_start(ws, run)
            run.recorded = True
    began = time.perf_counter()
    try:
        with _environment(NOTEBOOK_RUN_ENV, None if run.id is None else str(run.id)):
            _execute(source, output, params, kernel_name, timeout, progress, language)
        run.status = "succeeded"
    except Exception as exc:
        run.status = "failed"
        run.error, run.failed_cell, run.failed_source = _failure(exc, output)
    run.finished_at = utcnow()
    run.seconds = round(time.perf_counter() - began, 2)
    if target is not None:
        with _store(target) as ws:
            _record_end(ws, run)
            run.segments = _touched(ws, run.id)
            run.notified = _notify(ws, run, mailer)
    _stamp(output, run)
    return run


def _tz() -> str | None:

    return SegNB().timezone or None


def _target(url, catalog, schema, record) -> Target | None:

    if record is False:
        return None
    try:
        return Target.resolve(url, catalog, schema=schema)
    except WarehouseError:
        if record or url is not None:
            raise
        return None


@contextlib.contextmanager
def _store(target: Target) -> Iterator[Workspace]:

    with workspace(target) as ws:
        yield ws


@contextlib.contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    """``name=value`` in this process's environment (the kernel inherits it) for the block."""
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _output_path(out_dir: Path, stem: str, started: dt.datetime, day: dt.date) -> Path:
    base = f"{stem}.{started:%Y%m%dT%H%M%S}.as-of-{day}"
    path = out_dir / f"{base}.ipynb"
    n = 1
    while path.exists():
        n += 1
        path = out_dir / f"{base}.{n}.ipynb"
    return path


def _execute(source: Path, output: Path, params, kernel_name, timeout, progress, language) -> None:
    import papermill

    papermill.execute_notebook(
        str(source),
        str(output),
        parameters=params,
        kernel_name=kernel_name,
        language=language,
        cwd=str(source.parent),
        progress_bar=progress,
        execution_timeout=timeout,
    )


def _failure(exc: Exception, output: Path) -> tuple[str, int | None, str | None]:
    """The error text, and the failing cell's index and source in the *source* notebook."""
    from papermill.exceptions import PapermillExecutionError

    error = f"{type(exc).__name__}: {_first(exc)}"
    if isinstance(exc, PapermillExecutionError):
        error = f"{exc.ename}: {_first_text(exc.evalue)}" if exc.evalue else exc.ename
    index, source, shown = _failed_cell(output)
    if shown and (not isinstance(exc, PapermillExecutionError) or not exc.evalue):
        error = shown  # e.g. a magic's UsageError, which IPython prints instead of raising
    return error, index, source


def _failed_cell(output: Path) -> tuple[int | None, str | None, str | None]:
    """Index and source of the failing cell, and the error it showed (if any)."""
    import nbformat

    try:
        nb = nbformat.read(output, as_version=4)
    except Exception:
        return None, None, None
    position = 0
    for cell in nb.cells:
        if _SKIPPED_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        meta = cell.get("metadata", {}).get("papermill", {})
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors or meta.get("exception") is True or meta.get("status") == "running":
            if errors:
                shown = f"{errors[0].get('ename')}: {_first_text(errors[0].get('evalue', ''))}"
            else:
                printed = [o.get("text", "") for o in outputs if o.get("name") == "stderr"]
                shown = _first_text(printed[-1]) if printed else None
            return position, cell.source, shown
        position += 1
    return None, None, None


def _first(exc: BaseException) -> str:
    return _first_text(str(exc)) or type(exc).__name__


def _first_text(text: str) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()  # colours of IPython tracebacks
    return text.splitlines()[0] if text else ""


# -- the record -------------------------------------------------------------------------


def _record_start(ws: Workspace, run: NotebookRun) -> int:
    store = ws.store
    for _ in range(5):
        run_id = store.next_id("notebook_runs")
        try:
            store.insert("notebook_runs", {**_columns(run), "id": run_id})
            return run_id
        except SegnbError:
            continue  # another run took the id
    raise SegnbError("could not record the notebook run in the segment store; try again")


def _columns(run: NotebookRun) -> dict[str, Any]:
    return {
        "notebook": run.notebook, "output": run.output,
        "parameters": json.dumps(run.parameters, default=str), "as_of": run.as_of,
        "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
        "error": run.error, "failed_cell": run.failed_cell, "failed_source": run.failed_source,
        "host": socket.gethostname(), "pid": os.getpid(),
    }  # fmt: skip


def _record_end(ws: Workspace, run: NotebookRun) -> None:
    store = ws.store
    values = _columns(run)
    if run.id is not None and store.select("notebook_runs", {"id": run.id}, columns=("id",)):
        store.update("notebook_runs", {"id": run.id}, values)
    else:  # the notebook rebuilt the warehouse (e.g. `%segnb demo --force`): record it again
        run.id = _record_start(ws, run)


def _touched(ws: Workspace, run_id: int | None) -> list[dict[str, Any]]:
    """The segment runs the kernel recorded for this notebook run, oldest first."""
    if run_id is None:
        return []
    store = ws.store
    rows = store.db.dicts(
        f"SELECT r.segment_id, r.segment, r.kind, r.status, r.version, r.error, v.size "
        f"FROM {store.t('runs')} r LEFT JOIN {store.t('versions')} v "
        "ON v.segment_id = r.segment_id AND v.version = r.version "
        "WHERE r.notebook_run = ? ORDER BY r.id",
        (run_id,),
    )
    return [{**r, "size": None if r["size"] is None else int(r["size"])} for r in rows]


def _notify(ws: Workspace, run: NotebookRun, mailer: Any) -> dict[str, str]:

    if mailer == "config":
        mailer = Mailer.from_config()
    out: dict[str, str] = {}
    last = {t["segment_id"]: t for t in run.segments}  # one e-mail per segment: how it ended
    for touched in last.values():
        row = ws.store.segment_row_by_id(touched["segment_id"])
        if row is None or not row.get("email") or touched["status"] not in ("succeeded", "failed"):
            continue
        if touched["status"] == "succeeded":
            version = ws.store.version_row(row["id"], touched["version"])
            older = [
                v for v in ws.store.version_rows(row["id"]) if v["version"] < touched["version"]
            ]
            previous = int(older[-1]["size"]) if older else None
            status = notify_refreshed(ws, row, version, previous, mailer)
        else:
            status = notify_failed(
                ws, row, touched["error"] or run.error or "failed", run.as_of, mailer
            )
        if status:
            out[row["name"]] = status
    return out


def _stamp(output: Path, run: NotebookRun) -> None:
    """Keep the run's record in the executed copy's metadata (``metadata.segnb.run``)."""
    import nbformat

    with contextlib.suppress(Exception):
        nb = nbformat.read(output, as_version=4)
        record = {k: v for k, v in run.to_dict().items() if k != "notified"}
        nb.metadata["segnb"] = {"run": json.loads(json.dumps(record, default=str))}
        nbformat.write(nb, output)


def notebook_runs(ws: Workspace, notebook: str | None = None, limit: int | None = None):
    """Recorded notebook runs, newest first (a pandas DataFrame).

    Examples
    --------
    >>> notebook_runs(ws, limit=5)          # doctest: +SKIP
    """
    import pandas as pd

    where = {"notebook": str(Path(notebook).resolve())} if notebook else None
    rows = ws.store.select("notebook_runs", where, order="id DESC")
    if limit:
        rows = rows[:limit]
    cols = ["id", "notebook", "as_of", "started_at", "finished_at", "status", "error",
            "failed_cell", "output"]  # fmt: skip
    return pd.DataFrame([{c: r[c] for c in cols} for r in rows], columns=cols)
