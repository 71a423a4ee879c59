"""``%segnb``, ``%segment`` and ``%%segment``: parse, call the engine, return a rich object.

The connection lives on the :class:`SegnbMagics` instance that
``%load_ext segnb`` registers on the shell (nothing module-level), and the
settings on its :class:`segnb.config.SegNB`, which ``%config SegNB.x = …``
reaches. Mistakes a user can fix (a bad rule, an unknown segment or option,
a date in the past) become IPython ``UsageError``s: one message, no traceback.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

from segnb.config import SegNB
from segnb.errors import RuleError, SegnbError
from segnb.magics import connection, define, lifecycle
from segnb.magics.command import Command
from segnb.magics.verbs import CELL_VERB, SEGMENT_VERBS, SEGNB_VERBS

__all__ = ["SegnbMagics"]

Handler = Callable[["SegnbMagics", Command], Any]


@magics_class
class SegnbMagics(Magics):
    """The magics of segnb; one instance per shell holds its connection and settings."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.settings = SegNB(parent=shell)
        self.ws: Any = None  # the connected segnb.Workspace
        self.source: str | None = None  # what it was connected to, for display
        self.owned = False  # whether the magics opened the connection (and so close it)
        self._store_key: tuple[str, str, str] | None = None
        self.settings.observe(self._timezone_changed, names=["timezone"])

    # -- state ------------------------------------------------------------------------

    def _timezone_changed(self, change: dict[str, Any]) -> None:
        if self.ws is not None:
            self.ws.tz = change["new"] or None

    def attach(self, ws: Any, source: str, owned: bool) -> None:
        """Use ``ws`` from now on, closing a connection the magics opened before."""
        if self.ws is not None and self.ws is not ws:
            self.close()
        self.ws, self.source, self.owned, self._store_key = ws, source, owned, None

    def close(self) -> None:
        """Forget the connection; close it when the magics opened it."""
        ws, owned = self.ws, self.owned
        self.ws, self.source, self.owned, self._store_key = None, None, False, None
        if ws is not None and owned:
            with contextlib.suppress(Exception):  # closing a broken connection is no error
                ws.con.disconnect()

    def workspace(self, store: bool = False) -> Any:
        """The connected workspace (connecting to ``SegNB.url`` when set); with ``store``,
        its segment store opened with the current schema, owner and default group."""
        if self.ws is None:
            if not self.settings.url:
                raise UsageError(
                    "not connected: run %segnb connect duckdb:///warehouse.duckdb "
                    "(or --var NAME for an Ibis backend), or %segnb demo"
                )
            connection.connect_to(self, self.settings.url, announce=True)
        if store:
            key = (self.settings.store_schema, self.settings.owner, self.settings.default_group)
            if key != self._store_key:
                self.ws.open_store(key[0], owner=key[1], default_group=key[2])
                self._store_key = key
        return self.ws

    def note(self, text: str) -> None:
        """Print a short note unless ``SegNB.feedback`` is off."""
        if self.settings.feedback:
            print(text)

    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns

    # -- the magics ----------------------------------------------------------------------

    @line_magic("segnb")
    def segnb_magic(self, line: str = "") -> Any:
        """Connect, make the demo warehouse, read the catalog, open the widget apps.

        ::

            %segnb connect duckdb:///warehouse.duckdb   # or postgres://…, or --var con
            %segnb demo [--users N] [--path P]           # demo warehouse, connected
            %segnb catalog [--entity E]                  # tags, types, events, sample values
            %segnb status | disconnect | wizard | browse | help [VERB]
        """
        cmd = Command.parse("segnb", SEGNB_VERBS, line, default="status")
        return self._run(cmd, connection.HANDLERS)

    @line_cell_magic("segment")
    def segment_magic(self, line: str = "", cell: str | None = None) -> Any:
        """Create, estimate, list and manage segments.

        ::

            %%segment active_buyers --group Q4 --refresh daily --expires 2026-12-31
            count(purchase, T-6..T) >= 2 and not is_black_list

            %segment estimate count(purchase, T-6..T) >= 2
            %segment list [--group G] [--search TEXT] [--status S] [--method M]
            %segment show|sql|members|history|insights|refresh|delete NAME
            %segment verify NAME ID        %segment export NAME out.parquet
            %segment extend NAME DATE      %segment upload NAME ids.csv --id-type device_id
            %segment lookalike NAME --seed SEED --size N
            %segment predict NAME --audience A --positive P --tendency high_recall
            %segment help [VERB]
        """
        if cell is None:
            cmd = Command.parse("segment", SEGMENT_VERBS, line)
            handlers = {**define.HANDLERS, **lifecycle.HANDLERS}
        else:
            cmd = Command.parse_verb("segment", CELL_VERB, line, body=cell)
            handlers = {"": define.create}
        return self._run(cmd, handlers)

    def _run(self, cmd: Command, handlers: dict[str, Handler]) -> Any:
        if cmd.help:
            print(cmd.spec.help_text(cmd.label))
            return None
        try:
            return handlers[cmd.verb](self, cmd)
        except SegnbError as exc:
            raise UsageError(self.message(exc, cmd)) from exc

    @staticmethod
    def message(exc: SegnbError, cmd: Command) -> str:
        """The error's text; a rule error in a cell counts lines as the cell shows them."""
        if (
            isinstance(exc, RuleError)
            and cmd.body is not None
            and exc.start is not None
            and exc.text is not None
            and cmd.body.startswith(exc.text)
        ):
            header = f"%{cmd.label} {cmd.line}".rstrip() + "\n"
            moved = copy.copy(exc)
            moved.text = header + cmd.body
            moved.start = exc.start + len(header)
            moved.end = None if exc.end is None else exc.end + len(header)
            return str(moved)
        return magic_hints(str(exc))


#: the Python-API hints of engine messages, as the magics would say them
_HINTS = (
    (re.compile(r"\(ws\.segments\(\) lists them\)"), "(%segment list shows them)"),
    (re.compile(r"ws\.segment\('([^']+)'\)\.refresh\(\)"), r"%segment refresh \1"),
    (re.compile(r"ws\.segment\('([^']+)'\)\.extend\(expires=\.\.\.\)"), r"%segment extend \1 DATE"),
)


def magic_hints(text: str) -> str:
    """``text`` with the Python calls it suggests replaced by the equivalent magics."""
    for pattern, replacement in _HINTS:
        text = pattern.sub(replacement, text)
    return text
