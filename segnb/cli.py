"""The ``segnb`` command: parse the arguments, call one library function, print."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from segnb.errors import SegnbError

__all__ = ["main", "build_parser"]


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
    demo.add_argument("--days", type=_positive, default=60, help="days of snapshots and events (60)")
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
    return parser


def _connection_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--url", default=None, help="warehouse URL (segnb.toml's url)")
    cmd.add_argument("--catalog", default=None, help="catalog file (segnb.toml)")
    cmd.add_argument("--tz", default=None, help="time zone for T (local time)")


def _version() -> str:
    from segnb import __version__

    return __version__


def _rule_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def _workspace(args: argparse.Namespace):
    from segnb.engine.workspace import connect

    return connect(args.url, args.catalog, tz=args.tz, read_only=True)


def run_demo(args: argparse.Namespace) -> str:
    from segnb.engine.demo import generate

    info = generate(
        args.path,
        users=args.users,
        days=args.days,
        seed=args.seed,
        end=args.end,
        progress=not args.quiet and sys.stderr.isatty(),
        overwrite=args.force,
    )
    return (
        f"wrote {info.path}: {info.users:,} users, {info.days} days ending {info.end} "
        f"in {info.seconds:.1f}s\n"
        f"try: segnb estimate \"count(purchase, T-6..T) >= 2\" --url duckdb:///{info.path}"
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


COMMANDS = {
    "demo": run_demo,
    "estimate": run_estimate,
    "sql": run_sql,
    "catalog": run_catalog,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segnb`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        print(COMMANDS[args.command](args))
    except SegnbError as exc:
        print(f"segnb {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
