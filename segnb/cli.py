"""The ``segnb`` command: parse the arguments, call one library function, print."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from segnb import __version__, connection
from segnb.demo import warehouse
from segnb.errors import SegnbError
from segnb.refresh import due, runs, schedule, session
from segnb.reports import render
from segnb.store.store import remove_store

__all__ = ["build_parser", "main"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segnb", description="Audience segmentation and AI user prediction."
    )
    parser.add_argument("--version", action="version", version=f"segnb {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="write a demo e-commerce warehouse (DuckDB file)")
    demo.add_argument("--path", default="warehouse.duckdb", help="file to write (warehouse.duckdb)")
    demo.add_argument("--users", type=_positive, default=100_000, help="number of users (100000)")
    demo.add_argument(
        "--days", type=_positive, default=60, help="days of snapshots and events (60)"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (0)")
    demo.add_argument("--end", type=_date, default=None, help="last day of data (yesterday)")
    demo.add_argument("--force", action="store_true", help="overwrite an existing file")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")

    for name, text in (
        ("estimate", "print how many entities a rule selects"),
        ("sql", "print the SQL a rule compiles to"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("rule", help="rule text, or - to read it from standard input")
        _connection_args(cmd)
        cmd.add_argument("--as-of", type=_date, default=None, help="the date T (today)")
        cmd.add_argument("--entity", default=None, help="target object (first in the catalog)")
        if name == "sql":
            cmd.add_argument("--dialect", default=None, help="SQL dialect (the warehouse's own)")

    catalog = sub.add_parser("catalog", help="list tags, attributes and events")
    _connection_args(catalog)
    catalog.add_argument("--entity", default=None, help="target object (first in the catalog)")
    doctor = sub.add_parser(
        "doctor", help="check that the warehouse's layout lets date scans read only those days"
    )
    _connection_args(doctor)
    _refresh_commands(sub)
    _defs_commands(sub)
    return parser


def _defs_commands(sub) -> None:
    defs = sub.add_parser("defs", help="segments as code: export or apply TOML definition files")
    verbs = defs.add_subparsers(dest="defs_command", required=True, metavar="ACTION")
    export = verbs.add_parser("export", help="write one TOML file per segment into DIR")
    apply = verbs.add_parser("apply", help="make the store match the files of DIR")
    apply.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    apply.add_argument("--prune", action="store_true", help="delete segments that have no file")
    apply.add_argument("--as-of", type=_date, default=None, help="the date T of new versions")
    for cmd in (export, apply):
        cmd.add_argument("dir", metavar="DIR", help="directory of the definition files")
        _store_args(cmd)


def _time(text: str) -> str:

    try:
        hour, minute = schedule.parse_time(text)
    except SegnbError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return f"{hour:02d}:{minute:02d}"


def _refresh_commands(sub) -> None:
    """``run``, ``refresh``, ``schedule``, ``report`` and ``runs`` (segnb.refresh, segnb.reports)."""
    run = sub.add_parser("run", help="execute a notebook with papermill and record the run")
    run.add_argument("notebook", help="the notebook (.ipynb); its 'parameters' cell gets -p values")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="a parameter (repeatable)")  # fmt: skip
    run.add_argument(
        "--as-of", type=_date, default=None, help="the date T, passed as as_of (today)"
    )
    run.add_argument(
        "--output", default=None, help="folder of executed copies (runs/ by the notebook)"
    )
    run.add_argument("--kernel", default=None, help="Jupyter kernel (the notebook's)")
    run.add_argument("--timeout", type=float, default=None, help="seconds per cell (no limit)")
    run.add_argument("--progress", action="store_true", help="papermill's progress bar")
    _schedule_guard(run)
    _store_args(run)
    run.add_argument("--tz", default=None, help="time zone of today's as_of and --only-at (local)")

    refresh = sub.add_parser("refresh", help="refresh segments (--due: daily ones that are stale)")
    refresh.add_argument("names", nargs="*", metavar="NAME", help="segments to refresh")
    which = refresh.add_mutually_exclusive_group()
    which.add_argument("--due", action="store_true", help="daily segments older than their today")
    which.add_argument("--all", action="store_true", help="every unexpired segment")
    refresh.add_argument(
        "--as-of", type=_date, default=None, help="the date T (each segment's today)"
    )
    refresh.add_argument("--quiet", action="store_true", help="no progress bar")
    _schedule_guard(refresh)
    _store_args(refresh)
    refresh.add_argument("--tz", default=None, help="time zone for T and --only-at (local time)")

    schedule = sub.add_parser(
        "schedule", help="run a notebook (or the due refresh) daily with cron"
    )
    schedule.add_argument("notebook", nargs="?", default=None, help="the notebook to run")
    schedule.add_argument(
        "--due-refresh", action="store_true", help="schedule `segnb refresh --due`"
    )
    schedule.add_argument("--daily", type=_time, default=None, metavar="HH:MM", help="time of day")
    schedule.add_argument("--tz", default=None, help="time zone of --daily (the machine's)")
    action = schedule.add_mutually_exclusive_group()
    action.add_argument("--print", action="store_true", help="show the cron line, install nothing")
    action.add_argument("--list", action="store_true", help="list segnb's cron entries")
    action.add_argument("--remove", action="store_true", help="remove the entry of NOTEBOOK")
    schedule.add_argument("--output", default=None, help="folder of executed copies (for run)")
    schedule.add_argument("--tabfile", default=None, help="a crontab file instead of the user's")
    schedule.add_argument("--url", default=None, help="warehouse URL passed on to the command")
    schedule.add_argument("--catalog", default=None, help="catalog file passed on to the command")

    report = sub.add_parser("report", help="serve a segment's report with Voila, or --html once")
    report.add_argument("name", nargs="?", default=None, metavar="NAME", help="the segment")
    report.add_argument("--overview", action="store_true", help="the report of all segments")
    report.add_argument("--html", default=None, metavar="OUT", help="write static HTML to OUT")
    report.add_argument("--port", type=_positive, default=None, help="port on 127.0.0.1 (free one)")
    report.add_argument("--open", action="store_true", help="open the page in a browser")
    report.add_argument("--as-of", type=_date, default=None, help="date of the insights' tags")
    _store_args(report)

    runs = sub.add_parser("runs", help="recorded notebook runs, newest first")
    runs.add_argument("notebook", nargs="?", default=None, help="only runs of this notebook")
    runs.add_argument("--limit", type=_positive, default=20, help="how many (20)")
    _store_args(runs)


def _schedule_guard(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--only-at", type=_time, default=None, metavar="HH:MM",
                     help="do nothing unless it is HH:MM in --tz (for cron across time zones)")  # fmt: skip


def _store_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--url", default=None, help="warehouse URL (segnb.toml's url)")
    cmd.add_argument("--catalog", default=None, help="catalog file (segnb.toml)")
    cmd.add_argument("--schema", default=None, help="schema of the segment store (segnb)")


def _connection_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--url", default=None, help="warehouse URL (segnb.toml's url)")
    cmd.add_argument("--catalog", default=None, help="catalog file (segnb.toml)")
    cmd.add_argument("--tz", default=None, help="time zone for T (local time)")


def _version() -> str:

    return __version__


def _rule_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def _workspace(args: argparse.Namespace):

    return connection.connect(args.url, args.catalog, tz=args.tz, read_only=True)


def run_demo(args: argparse.Namespace) -> str:

    info = warehouse.generate(
        args.path,
        users=args.users,
        days=args.days,
        seed=args.seed,
        end=args.end,
        progress=not args.quiet and sys.stderr.isatty(),
        overwrite=args.force,
    )
    if args.force:
        remove_store(info.path)  # the segments of the replaced data go with it
    return (
        f"wrote {info.path}: {info.users:,} users, {info.days} days ending {info.end} "
        f"in {info.seconds:.1f}s\n"
        f'try: segnb estimate "count(purchase, T-6..T) >= 2" --url duckdb:///{info.path}'
    )


def run_estimate(args: argparse.Namespace) -> str:
    ws = _workspace(args)
    return str(ws.estimate(_rule_text(args.rule), as_of=args.as_of, entity=args.entity))


def run_sql(args: argparse.Namespace) -> str:
    ws = _workspace(args)
    return ws.sql(_rule_text(args.rule), as_of=args.as_of, dialect=args.dialect, entity=args.entity)


def run_catalog(args: argparse.Namespace) -> str:
    ws = _workspace(args)
    return ws.catalog.describe(args.entity).to_string(index=False)


class _Report(str):
    exit_code = 0


def run_doctor(args: argparse.Namespace) -> str:
    findings = _workspace(args).doctor()
    report = _Report("\n".join(str(f) for f in findings) or "no tags or events tables")
    report.exit_code = int(any(not f.ok for f in findings))
    return report


def _off_schedule(args: argparse.Namespace) -> str | None:
    """A note when ``--only-at`` says this is not the time (cron runs both DST candidates)."""

    if args.only_at is None or runs.scheduled_now(args.only_at, args.tz):
        return None
    return f"not {args.only_at} in {args.tz or 'local time'} now; nothing to do"


def run_run(args: argparse.Namespace):

    note = _off_schedule(args)
    if note:
        return note
    return runs.run_notebook(
        args.notebook,
        {name: runs.parse_value(value) for name, value in args.parameter},
        as_of=args.as_of,
        output_dir=args.output,
        url=args.url,
        catalog=args.catalog,
        schema=args.schema,
        kernel_name=args.kernel,
        timeout=args.timeout,
        progress=args.progress,
        tz=args.tz,
    )


def run_refresh(args: argparse.Namespace):

    if not (args.names or args.due or args.all):
        raise SegnbError("name segments to refresh, or use --due or --all")
    if args.names and (args.due or args.all):
        raise SegnbError("name segments or use --due/--all, not both")
    note = _off_schedule(args)
    if note:
        return note
    target = session.Target.resolve(args.url, args.catalog, schema=args.schema, tz=args.tz)
    with session.workspace(target) as ws:
        return due.refresh_segments(
            ws,
            args.names or None,
            due=args.due,
            all=args.all,
            as_of=args.as_of,
            progress=not args.quiet and sys.stderr.isatty(),
        )


def run_schedule(args: argparse.Namespace) -> str:

    if args.list:
        found = schedule.list_schedules(args.tabfile)
        if not found:
            return "no segnb schedules"
        return "\n".join(
            f"{s.daily} {s.tz or 'local time'}  {s.kind} {s.target}\n  {s.line}" for s in found
        )
    target = {"notebook": args.notebook, "due_refresh": args.due_refresh}
    if args.remove:
        gone = schedule.remove_schedules(**target, tabfile=args.tabfile)
        return "\n".join(f"removed: {s.line}" for s in gone)
    if args.daily is None:
        raise SegnbError("schedule needs --daily HH:MM (or --list / --remove)")
    plan = schedule.plan_schedule(
        **target, daily=args.daily, tz=args.tz, url=args.url, catalog=args.catalog,
        output_dir=args.output,
    )  # fmt: skip
    if args.print:
        return plan.line
    installed = schedule.install_schedule(plan, args.tabfile)
    where = args.tabfile or "your crontab"
    return f"installed in {where}:\n{installed.line}"


def run_report(args: argparse.Namespace) -> str:
    options = {
        "overview": args.overview, "url": args.url, "catalog": args.catalog,
        "schema": args.schema, "as_of": args.as_of,
    }  # fmt: skip
    if args.html:
        path = render.render_html(args.html, args.name, **options)
        return f"wrote {path}"
    return render.serve_report(args.name, port=args.port, open_browser=args.open, **options)


def run_runs(args: argparse.Namespace) -> str:

    target = session.Target.resolve(args.url, args.catalog, schema=args.schema)
    with session.workspace(target, read_only=True) as ws:  # it only lists
        frame = runs.notebook_runs(ws, args.notebook, limit=args.limit)
    return "no notebook runs recorded" if frame.empty else frame.to_string(index=False)


def run_defs(args: argparse.Namespace) -> str:
    target = session.Target.resolve(args.url, args.catalog, schema=args.schema)
    with session.workspace(target, read_only=args.defs_command == "export") as ws:
        if args.defs_command == "export":
            paths = ws.defs.export(args.dir)
            files = f"{len(paths)} definition file{'s' if len(paths) != 1 else ''}"
            return f"wrote {files} to {args.dir}"
        return str(
            ws.defs.apply(args.dir, dry_run=args.dry_run, prune=args.prune, as_of=args.as_of)
        )


COMMANDS = {
    "demo": run_demo,
    "estimate": run_estimate,
    "sql": run_sql,
    "catalog": run_catalog,
    "doctor": run_doctor,
    "run": run_run,
    "refresh": run_refresh,
    "schedule": run_schedule,
    "report": run_report,
    "runs": run_runs,
    "defs": run_defs,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segnb`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        result = COMMANDS[args.command](args)
        print(result)
    except SegnbError as exc:
        print(f"segnb {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(getattr(result, "exit_code", 0))  # a failed run or refresh: 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
