"""The verbs of ``%segnb``: connect, demo, catalog, status, disconnect, wizard, browse, help."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from IPython.core.error import UsageError

import segnb
from segnb.connection import default_url
from segnb.demo.warehouse import generate
from segnb.hints import closest
from segnb.magics.command import Command, Host
from segnb.magics.results import ConnectionResult, Note
from segnb.magics.verbs import SEGNB_VERBS, WIZARDS
from segnb.store.store import remove_store
from segnb.workspace import Workspace

__all__ = ["HANDLERS", "connect_to"]

DEMO_FILE = "warehouse.duckdb"
SAMPLE_VALUES = 5


def redact(url: str) -> str:
    """``url`` without its password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
    return url


def _settings(m: Host) -> dict[str, Any]:
    s = m.settings
    return {
        "store_schema": s.store_schema,
        "owner": s.owner,
        "default_group": s.default_group,
        "timezone": s.timezone,
    }


def connect_to(
    m: Host,
    target: Any,
    *,
    catalog: str | None = None,
    tz: str | None = None,
    read_only: bool = False,
    source: str | None = None,
    announce: bool = False,
) -> ConnectionResult:
    """Connect the magics to ``target`` (a URL, a path, an Ibis backend or a Workspace)."""

    if isinstance(target, Workspace):
        ws, owned = target, False
        if tz:
            ws.tz = tz
    else:
        owned = isinstance(target, (str, os.PathLike)) or target is None
        zone = tz or m.settings.timezone or None
        ws = segnb.connect(target, catalog, tz=zone, read_only=read_only)
    if source is None:
        source = redact(os.fspath(target)) if isinstance(target, (str, os.PathLike)) else "default"
    m.attach(ws, source, owned)
    if announce:
        m.note(f"segnb: connected to {source} (SegNB.url)")
    return ConnectionResult(ws, source, _settings(m))


def connect(m: Host, cmd: Command) -> ConnectionResult:
    url, var = cmd["url"], cmd["var"]
    if url and var:
        raise UsageError("%segnb connect takes a URL or --var NAME, not both")

    source = None
    if var:
        ns = m.ns()
        if var not in ns:
            raise UsageError(f"%segnb connect --var {var}: no variable {var!r} in the notebook")
        target = ns[var]
        if isinstance(target, (str, os.PathLike)):
            source = redact(os.fspath(target))
        elif hasattr(target, "list_tables") and hasattr(target, "table"):
            source = f"Ibis backend in {var!r}"
        elif isinstance(target, Workspace):
            source = f"workspace in {var!r}"
        else:
            raise UsageError(
                f"%segnb connect --var {var}: {var!r} holds a {type(target).__name__}; it should "
                "hold an Ibis backend (ibis.duckdb.connect(...)), a URL or a segnb Workspace"
            )
    elif url:
        target = url
    else:
        target = m.settings.url or None
        if target is None:
            target = default_url()  # segnb.toml's url or ./warehouse.duckdb, else a clear error
    if cmd["catalog"] and isinstance(target, Workspace):
        raise UsageError("%segnb connect: --catalog does not apply to a Workspace (it has one)")
    return connect_to(
        m, target, catalog=cmd["catalog"], tz=cmd["tz"], read_only=cmd["read_only"], source=source
    )


def demo(m: Host, cmd: Command) -> ConnectionResult:

    path = Path(cmd.get("path", DEMO_FILE)).expanduser()
    sized = any(cmd.given(k) for k in ("users", "days", "seed", "end"))
    if path.exists() and not cmd["force"]:
        if sized:
            m.note(f"segnb: {path} exists and is used as it is; add --force to rebuild it")
    else:
        if m.ws is not None and m.owned:
            m.close()  # the file may be the one connected
        users = cmd.get("users", 100_000)
        m.note(f"segnb: writing a demo warehouse of {users:,} users to {path} …")
        info = generate(
            path,
            users=users,
            days=cmd.get("days", 60),
            seed=cmd.get("seed", 0),
            end=cmd["end"],
            overwrite=bool(cmd["force"]),
            progress=bool(m.settings.feedback),  # a text bar: nothing left behind in the notebook
        )
        if cmd["force"]:
            remove_store(info.path)  # the segments of the replaced data go with it
        m.note(
            f"segnb: wrote {info.users:,} users and {info.days} days of tags and events "
            f"ending {info.end} in {info.seconds:.1f}s"
        )
    return connect_to(m, str(path), source=f"duckdb:///{path}")


def catalog(m: Host, cmd: Command):
    """The catalog's describe() table with a column of sample values, indexed by kind and name."""
    ws = m.workspace()
    cat = ws.catalog
    ent = ws.entity(cmd["entity"])
    frame = cat.describe(ent)
    if not cmd["no_values"]:
        frame.insert(
            3,
            "values",
            [
                _sample(cat, ent, kind, name, typ)
                for kind, name, typ in zip(frame["kind"], frame["name"], frame["type"], strict=True)
            ],
        )
    return frame.set_index(["kind", "name"])  # what each row is, not a row number


def _sample(cat: Any, ent: Any, kind: str, name: str, typ: str) -> str:
    if kind not in ("tag", "attribute"):
        return ""
    if typ == "boolean":
        return "true, false"
    if typ != "enum":
        return ""
    values, more = cat.values(ent, name, limit=SAMPLE_VALUES)
    text = ", ".join(str(v) for v in values)
    return text + (", …" if more else "")


def status(m: Host, cmd: Command):
    if m.ws is None:
        return Note(
            "segnb: not connected; %segnb connect URL (or --var NAME), or %segnb demo"
            + (f"; SegNB.url is {m.settings.url!r}" if m.settings.url else "")
        )
    return ConnectionResult(m.ws, m.source or "", _settings(m))


def disconnect(m: Host, cmd: Command) -> Note:
    if m.ws is None:
        return Note("segnb: not connected")
    source, owned = m.source, m.owned
    m.close()
    return Note(f"segnb: disconnected from {source}" + ("" if owned else " (left open: not ours)"))


def _widget(m: Host, cmd: Command, cls_name: str):
    try:
        import segnb.widgets as widgets

        cls = getattr(widgets, cls_name)
    except (ImportError, AttributeError):
        raise UsageError(
            f"%segnb {cmd.verb} is not available in this version: the widget apps "
            f"(segnb.widgets.{cls_name}) are not built yet; use %%segment and %segment meanwhile"
        ) from None
    return cls(m.workspace(store=True))


def wizard(m: Host, cmd: Command):
    """The app of ``%segnb wizard [APP]`` on the connected workspace (default: the rule wizard)."""
    return _widget(m, cmd, WIZARDS[cmd["app"] or "rules"])


def browse(m: Host, cmd: Command):
    return _widget(m, cmd, "SegmentBrowser")


def help_(m: Host, cmd: Command) -> None:
    print(help_text("segnb", SEGNB_VERBS, cmd["topic"]))


def help_text(magic: str, verbs: dict[str, Any], topic: str | None) -> str:
    if topic:
        spec = verbs.get(topic)
        if spec is None:
            guess = closest(topic, verbs)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise UsageError(f"%{magic} has no verb {topic!r}{hint} (verbs: {', '.join(verbs)})")
        return spec.help_text(magic)
    width = max(len(v) for v in verbs)
    lines = [f"%{magic} VERB … (%{magic} help VERB, or %{magic} VERB --help, for its options)", ""]
    lines += [
        f"  {name:<{width}}  {spec.help.split('. ')[0].rstrip('.')}" for name, spec in verbs.items()
    ]
    return "\n".join(lines)


HANDLERS = {
    "connect": connect,
    "demo": demo,
    "catalog": catalog,
    "status": status,
    "disconnect": disconnect,
    "wizard": wizard,
    "browse": browse,
    "help": help_,
}
