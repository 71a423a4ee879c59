"""Definition files: TOML written by hand-rolled, escaped output, read by ``tomllib``.

Each file holds one document of scalars, lists, dates and sub-tables. Long
text (a rule with its comments) is a multi-line literal string, so it reads
in the file as it was typed and diffs line by line in git. Errors name the
file, line and column (:class:`DefinitionFileError`).

Examples
--------
>>> print(dumps({"name": "vip", "rule": "is_member  # paid\\n"}), end="")
name = "vip"
rule = '''
is_member  # paid
'''
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import tomllib

from segnb.errors import DefinitionFileError

__all__ = ["dumps", "key_line", "load", "where"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _key(name: str) -> str:
    return name if _BARE.match(name) else _string(name)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _text(text: str) -> str:
    """A multi-line literal string when the text allows it (as typed), else escaped."""
    body = text.strip("\n") + "\n"
    safe = "'''" not in body and not any(
        (ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in body
    )
    return "'''\n" + body + "'''" if safe else _string(text.strip("\n"))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise DefinitionFileError(f"cannot write {value!r} to TOML")
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = [f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise DefinitionFileError(f"cannot write a {type(value).__name__} ({value!r}) to TOML")


def dumps(doc: dict[str, Any], *, text_keys: tuple[str, ...] = ("rule",)) -> str:
    """TOML of ``doc``: scalars first, then ``[sub]`` tables; None values are left out.

    Keys in ``text_keys`` are written as multi-line text; ``#``-keys are comments.
    """
    lines, tables = [], []
    for key, value in doc.items():
        if value is None:
            continue
        if key.startswith("#"):
            lines.extend(f"# {line}".rstrip() for line in str(value).splitlines())
        elif (
            isinstance(value, dict)
            and value
            and all(not isinstance(v, dict) for v in value.values())
        ):
            tables.append((key, value))
        elif key in text_keys and isinstance(value, str):
            lines.append(f"{_key(key)} = {_text(value)}")
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, table in tables:
        lines.append("")
        lines.append(f"[{_key(key)}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in table.items() if v is not None)
    return "\n".join(lines) + "\n"


def where(path: Path, line: int | None, column: int | None = None) -> str:
    """``file:line:column`` of a place in a definition file."""
    if line is None:
        return str(path)
    return f"{path}:{line}:{column or 1}"


def key_line(text: str, key: str) -> int | None:
    """The 1-based line where ``key = …`` is written at the top of a document, if found."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=", re.M)
    found = pattern.search(text)
    return None if found is None else text.count("\n", 0, found.start()) + 1


def load(path: Path) -> tuple[dict[str, Any], str]:
    """The document of a definition file and its text; a bad one names file, line and column."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DefinitionFileError(f"{where(path, line)}: not UTF-8 text") from None
    except OSError as exc:
        raise DefinitionFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT.search(message)
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        message = _AT.sub("", message).strip()
        raise DefinitionFileError(f"{where(path, line, column)}: {message}") from None
