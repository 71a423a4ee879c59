"""A deterministic e-commerce demo warehouse (``segnb demo``, SPEC §1).

:func:`generate` writes a DuckDB file with users, daily tag snapshots,
behaviour events, merchants, a hidden ground truth for model evaluation and
the catalog that describes them (``segnb_catalog``). Everything is generated
inside DuckDB from hash-based pseudo-random numbers (a stable mixer of ``(id,
day, salt)`` under the seed, :mod:`segnb.demo.mixer`), so the same seed, end
date and sizes give the same table contents on any number of threads and
DuckDB versions, and ten million users take minutes, not hours. Tag
snapshots and events are stored ordered by date, as a warehouse partitioned
by day keeps them: reading the latest snapshot reads that day's rows only.

How the data hangs together: every user has a latent purchase propensity
``p`` (the probability of at least one purchase in a week), driven by a hidden
engagement score, membership and acquisition channel, and drifting slowly
over the range. Daily activity and purchases are drawn from it; the tags
``trade_cnt_7d``, ``total_spend``, ``member_level`` and ``last_login_days``
are computed from the generated events, so rules over tags and over events
agree. ``ground_truth.will_purchase`` is drawn from ``p`` for the 7 days after
``end`` and never appears in ``events``.

This module checks the arguments, writes the file (to a temporary name,
moved into place when complete) and runs the steps; the SQL of each step and
the value distributions are in :mod:`segnb.demo.synth`.

Examples
--------
>>> from segnb.demo.warehouse import generate
>>> info = generate("warehouse.duckdb", users=10_000, days=30, seed=1)  # doctest: +SKIP
>>> info.rows["users"]                                                  # doctest: +SKIP
10000
"""

from __future__ import annotations

import contextlib
import datetime
import operator
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from segnb.demo.synth import ORDER, SCHEMA, TABLES, Synthesis
from segnb.errors import SegnbError, WarehouseError

__all__ = ["DEMO_CATALOG", "TABLES", "DemoError", "DemoInfo", "demo_catalog", "generate"]

MAX_USERS = 1_000_000_000
MAX_DAYS = 3_650
#: users x days generated per chunk: bounds memory and paces the progress bar
CHUNK_USER_DAYS = 6_000_000


class DemoError(SegnbError, ValueError):
    """Arguments that cannot describe a demo warehouse (e.g. ``users=0``)."""


@dataclass(frozen=True)
class DemoInfo:
    """What :func:`generate` wrote: where, how much, covering which dates."""

    path: Path
    users: int
    days: int
    seed: int
    start: datetime.date
    end: datetime.date
    rows: Mapping[str, int] = field(hash=False)
    seconds: float = field(compare=False)

    @property
    def url(self) -> str:
        """The connection URL of the warehouse, for ``segnb.connect``."""
        return f"duckdb:///{self.path}"


# -- the catalog --------------------------------------------------------------

#: the demo warehouse's catalog (TOML), also stored in its ``segnb_catalog`` table
DEMO_CATALOG = (Path(__file__).parent / "demo_catalog.toml").read_text(encoding="utf-8")


def demo_catalog() -> dict[str, Any]:
    """The demo warehouse's catalog as a dict (``DEMO_CATALOG`` parsed).

    Examples
    --------
    >>> demo_catalog()["entities"]["users"]["tags"]["table"]
    'user_tags'
    """
    return tomllib.loads(DEMO_CATALOG)


# -- the generator -------------------------------------------------------------


def generate(
    path: str | os.PathLike = "warehouse.duckdb",
    *,
    users: int = 100_000,
    days: int = 60,
    seed: int = 0,
    end: datetime.date | str | None = None,
    progress: bool = False,
    overwrite: bool = False,
) -> DemoInfo:
    """Write the demo e-commerce warehouse to a DuckDB file.

    Parameters
    ----------
    path
        The DuckDB file to create.
    users
        Number of users (1 to 1,000,000,000); merchants are ``max(50, users // 100)``.
    days
        Number of days of tag snapshots and events (1 to 3,650).
    seed
        Seed of the pseudo-random numbers; the same seed, end and sizes give
        the same table contents.
    end
        Last day of the data, inclusive (a date or ``"YYYY-MM-DD"``); default yesterday.
    progress
        Show a progress bar on stderr.
    overwrite
        Replace ``path`` if it exists (otherwise that is an error).

    Returns
    -------
    DemoInfo
        Where the warehouse is, its date range and row count per table.

    Raises
    ------
    DemoError
        For arguments out of range.
    WarehouseError
        If ``path`` exists and ``overwrite`` is False, or the file cannot be written.

    Examples
    --------
    >>> info = generate("demo.duckdb", users=2_000, days=30, overwrite=True)  # doctest: +SKIP
    >>> import segnb; ws = segnb.connect(info.url)                         # doctest: +SKIP
    """
    users, days, seed, end = _check_args(users, days, seed, end)
    target = Path(os.fspath(path)).expanduser()
    if target.is_dir():
        raise WarehouseError(
            f"{str(target)!r} is a directory; give a file name such as warehouse.duckdb"
        )
    if target.exists() and not overwrite:
        raise WarehouseError(
            f"{str(target)!r} already exists; pass overwrite=True (--force on the command line) "
            "to replace it, or choose another path"
        )
    if not target.parent.is_dir():
        raise WarehouseError(
            f"cannot write {str(target)!r}: directory {str(target.parent)!r} does not exist"
        )

    started = time.perf_counter()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        rows = _Writer(tmp, users, days, seed, end, progress).run()
        _remove(Path(f"{target}.wal"))
        os.replace(tmp, target)
    except BaseException as exc:
        _remove(tmp)
        if isinstance(exc, (OSError, *_duckdb_resource_errors())):
            raise WarehouseError(
                f"could not write the demo warehouse {str(target)!r}: {exc}"
            ) from exc
        raise
    return DemoInfo(
        path=target,
        users=users,
        days=days,
        seed=seed,
        start=end - datetime.timedelta(days=days - 1),
        end=end,
        rows=rows,
        seconds=time.perf_counter() - started,
    )


def _check_args(users: Any, days: Any, seed: Any, end: Any) -> tuple[int, int, int, datetime.date]:
    users = _whole("users", users, 1, MAX_USERS)
    days = _whole("days", days, 1, MAX_DAYS)
    seed = _whole("seed", seed, -(2**63), 2**63 - 1)
    if end is None:
        end = datetime.date.today() - datetime.timedelta(days=1)
    elif isinstance(end, str):
        try:
            end = datetime.date.fromisoformat(end)
        except ValueError:
            raise DemoError(f"end must be a date like 2025-03-31, not {end!r}") from None
    elif isinstance(end, datetime.datetime):
        end = end.date()
    elif not isinstance(end, datetime.date):
        raise DemoError(f"end must be a date, not {type(end).__name__}")
    if end.year < 1980 or end.year > 9000:
        raise DemoError(f"end must be a date between 1980 and 9000, not {end}")
    return users, days, seed, end


def _whole(name: str, value: Any, low: int, high: int) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)  # int, numpy integers; not floats or strings
    except TypeError:
        raise DemoError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise DemoError(f"{name} must be between {low:,} and {high:,}, not {number:,}")
    return number


def _duckdb_resource_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    return (duckdb.IOException, duckdb.OutOfMemoryException)


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)


class _Writer(Synthesis):
    """One generation run: a DuckDB file, a progress bar, and the SQL steps in order."""

    def __init__(
        self, path: Path, users: int, days: int, seed: int, end: datetime.date, progress: bool
    ) -> None:
        super().__init__(users, days, seed, end)
        self.path = path
        self.progress = progress
        self.chunk = max(1_000, CHUNK_USER_DAYS // days)
        self.chunks = -(-users // self.chunk)

    def run(self) -> dict[str, int]:
        import duckdb
        from tqdm import tqdm  # not tqdm.auto: that imports IPython

        # generated chunk by chunk of users into a staging file, then copied in date order
        stage = self.path.with_name(f"{self.path.name}.stage")
        _remove(stage)
        con = duckdb.connect(str(stage))
        bar = tqdm(
            total=4 * self.chunks + 3,
            desc="segnb demo",
            unit="step",
            file=sys.stderr,
            disable=not self.progress,
        )
        try:
            self.con = con
            with contextlib.suppress(duckdb.Error):  # refused in Jupyter without ipywidgets
                con.execute("SET enable_progress_bar = false")
            con.execute("SET preserve_insertion_order = false")
            con.execute(SCHEMA)
            self.create_macros()
            for index in range(self.chunks):
                lo = index * self.chunk
                hi = min(self.users, lo + self.chunk)
                steps = {
                    "users": lambda lo=lo, hi=hi: self.write_users(lo, hi),
                    "days": self.write_days,
                    "events": self.write_events,
                    "tags": self.write_tags,
                }
                for name, step in steps.items():
                    bar.set_postfix_str(f"users {lo + 1:,}-{hi:,}: {name}")
                    step()
                    bar.update()
            con.execute("DROP TABLE _ids; DROP TABLE _p; DROP TABLE _ud")
            bar.set_postfix_str("merchants")
            self.write_merchants()
            bar.update()
            bar.set_postfix_str("catalog")
            con.execute("INSERT INTO segnb_catalog VALUES ($1)", [DEMO_CATALOG])
            bar.update()
            bar.set_postfix_str("ordering by date")
            self._copy_ordered(con)
            rows = {t: con.execute(f"SELECT count(*) FROM out.{t}").fetchone()[0] for t in TABLES}
            con.execute("DETACH out")
            bar.set_postfix_str("done", refresh=False)
            bar.update()
            return rows
        finally:
            bar.close()
            con.close()
            _remove(stage)

    def _copy_ordered(self, con: Any) -> None:
        """Every table into the target file, in the order of ``ORDER`` (by date, then id)."""
        quoted = "'" + str(self.path).replace("'", "''") + "'"
        con.execute(f"ATTACH {quoted} AS out")
        con.execute("SET preserve_insertion_order = true")
        for table in TABLES:
            order = f" ORDER BY {ORDER[table]}" if table in ORDER else ""
            con.execute(f"CREATE TABLE out.{table} AS SELECT * FROM {table}{order}")
            con.execute(f"DROP TABLE {table}")  # frees the staging file's memory as it goes
        con.execute("CHECKPOINT out")
