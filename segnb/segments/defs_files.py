"""Reading segment definition files: each checked against the catalog and the rules.

:func:`read_dir` reads every ``.toml`` file of a directory and checks it
(TOML syntax, known keys, options, the rule or set expression); any problem
raises one :class:`~segnb.errors.DefinitionFileError` that names each bad
file with its line and column, so nothing is applied from such a directory.

Examples
--------
>>> [d.name for d in read_dir(ctx, "segments/")]     # doctest: +SKIP
['buyers', 'vip', 'vip_buyers']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segnb.errors import DefinitionFileError, RuleError, SegnbError
from segnb.lang.parse import is_set_expression, parse
from segnb.lang.serial import to_json
from segnb.segments.context import Context
from segnb.segments.deftoml import key_line, load, where
from segnb.segments.options import options

__all__ = ["COMMON_KEYS", "METHOD_KEYS", "OPTION_KEYS", "Def", "read_dir"]

#: the SPEC §2 options a file holds, as the file names them -> the store's column
OPTION_KEYS = {
    "group": "group_name", "description": "description", "refresh": "refresh",
    "scenario": "scenario", "timezone": "timezone", "expires": "expires_at",
    "time_sensitive": "time_sensitive", "email": "email", "scope": "scope",
    "shared_with": "shared_with",
}  # fmt: skip
#: each method's own keys in a file
METHOD_KEYS = {
    "rules": {"rule"},
    "sets": {"expression"},
    "table": {"table", "query", "id_column"},
    "lookalike": {"seed", "size", "audience", "settings"},
    "prediction": {
        "audience",
        "positive",
        "negative",
        "tendency",
        "model",
        "exclude",
        "train_lag_days",
        "settings",
    },
    "upload": {"upload"},
}
COMMON_KEYS = {"name", "method", "entity", "owner", "status", *OPTION_KEYS}


@dataclass
class Def:
    """One checked definition file."""

    path: Path
    name: str
    method: str
    entity: str
    opts: dict[str, Any]  # as options() takes them
    inputs: dict[str, Any]  # as create_with() takes them
    definition: dict[str, Any]  # for the dependency graph
    text: str | None = None  # rule or set expression


def _check(ctx: Context, path: Path, doc: dict[str, Any], raw: str) -> Def:
    def fail(key: str | None, message: str, line: int | None = None, column: int | None = None):
        line = line if line is not None else (key_line(raw, key) if key else None)
        raise DefinitionFileError(f"{where(path, line, column)}: {message}")

    for key in ("name", "method"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            fail(key, f'needs {key} = "…" (text)', None if key in doc else 1)
    method = doc["method"]
    if method not in METHOD_KEYS:
        fail("method", f"method {method!r} is not one of {', '.join(METHOD_KEYS)}")
    known = COMMON_KEYS | METHOD_KEYS[method]
    for key in doc:
        if key not in known:
            fail(key, f"unknown key {key!r} for a {method} segment "
                      f"(keys: {', '.join(sorted(known))})")  # fmt: skip
    entity = doc.get("entity")
    try:
        ent = ctx.entity(entity)
    except SegnbError as exc:
        fail("entity", str(exc))
    opts = {("tz" if k == "timezone" else k): doc[k] for k in OPTION_KEYS if k in doc}
    try:
        options(ctx, **{**opts, "expires": None})
    except SegnbError as exc:
        bad = next((k for k in OPTION_KEYS if k in str(exc)), None)
        fail(bad, str(exc))
    text, inputs, definition = None, {}, {}
    if method in ("rules", "sets"):
        key = "rule" if method == "rules" else "expression"
        text = doc.get(key)
        if not isinstance(text, str) or not text.strip():
            fail(key, f"a {method} segment needs {key} = '''…'''", None if key in doc else 1)
        if method == "sets" and not is_set_expression(text):
            fail(key, f"expression {text.strip()!r} is not a set expression like 'vip & active'")
        try:
            tree = parse(text, ctx.catalog, ent)
        except RuleError as exc:
            start = key_line(raw, key) or 1
            first = raw.splitlines()[start - 1] if raw.splitlines() else ""
            multi = first.rstrip().endswith("'''") or first.rstrip().endswith('"""')
            line = start + (exc.line or 1) - (0 if multi else 1)
            column = exc.column if multi or exc.column is None else exc.column + first.find("=") + 3
            fail(key, f"{exc.message}" + (f" (did you mean {exc.suggestion!r}?)"
                                          if exc.suggestion else ""), line, column)  # fmt: skip
        definition = {("rule" if method == "rules" else "sets"): to_json(tree)}
        inputs = {"rules": text.strip()} if method == "rules" else {"expression": text.strip()}
        text = text.strip()
    elif method == "table":
        inputs = {k: doc.get(k) for k in ("table", "query", "id_column") if doc.get(k)}
    elif method == "lookalike":
        inputs = {"seed": doc.get("seed"), "size": doc.get("size"), "audience": doc.get("audience"),
                  **doc.get("settings", {})}  # fmt: skip
        definition = {"inputs": {"seed": doc.get("seed"), "audience": doc.get("audience")}}
    elif method == "prediction":
        keys = ("audience", "positive", "negative", "tendency", "model", "exclude")
        inputs = {k: doc[k] for k in keys if k in doc}
        inputs.update(doc.get("settings", {}))
        definition = {"inputs": {k: doc.get(k) for k in ("audience", "positive", "negative")}}
    elif method == "upload":
        upload = doc.get("upload")
        if not isinstance(upload, dict) or not upload.get("file"):
            fail("upload", "an upload segment needs an [upload] table with its file")
        inputs = {"path": upload["file"], "id_type": upload.get("id_type"),
                  "column": upload.get("column")}  # fmt: skip
        definition = {"checksum": upload.get("checksum")}
    return Def(path, doc["name"], method, ent.name, opts, inputs, definition, text)


def read_dir(ctx: Context, directory: Any) -> list[Def]:
    """Every ``.toml`` file of ``directory`` checked; any problem raises, naming them all."""
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise DefinitionFileError(f"{folder}: no such directory of segment definitions")
    found, problems, names = [], [], {}
    for path in sorted(folder.glob("*.toml")):
        try:
            doc, raw = load(path)
            item = _check(ctx, path, doc, raw)
        except DefinitionFileError as exc:
            problems.append(str(exc))
            continue
        if item.name in names:
            problems.append(f"{where(path, key_line(raw, 'name'))}: segment {item.name!r} is "
                            f"also defined in {names[item.name].name}")  # fmt: skip
            continue
        names[item.name] = path
        found.append(item)
    if problems:
        head = f"{len(problems)} bad definition file{'s' if len(problems) > 1 else ''}"
        raise DefinitionFileError(f"{head}; nothing was applied:\n" + "\n".join(problems), problems)
    return found
