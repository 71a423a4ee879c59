"""Rule text -> tokens: the lexer of the rule language (see :mod:`segnb.lang.parse`).

Examples
--------
>>> [(t.kind, t.value) for t in tokenize("a >= T-6")]  # doctest: +NORMALIZE_WHITESPACE
[(TokenKind.IDENT, 'a'), (TokenKind.GE, None), (TokenKind.IDENT, 'T'),
 (TokenKind.NUMBER, -6), (TokenKind.EOF, None)]
>>> TokenKind.GE == ">=", f"{TokenKind.DOTDOT}"
(True, '..')
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from segnb.errors import RuleSyntaxError

__all__ = ["Token", "TokenKind", "fail", "tokenize"]


class TokenKind(str, Enum):
    """The kinds of token. Each member equals (and prints as) its text: the
    punctuation itself, or a word for names and literals."""

    IDENT = "ident"  # a bare name or keyword: value is the text
    QNAME = "qname"  # a `backtick` name: value is the name
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    EOF = "eof"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    DOT = "."
    DOTDOT = ".."
    AT = "@"
    AMP = "&"
    PIPE = "|"
    MINUS = "-"
    PLUS = "+"
    EQ = "="
    NE = "!="
    LTGT = "<>"
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQEQ = "=="
    ANDAND = "&&"
    OROR = "||"
    BANG = "!"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"TokenKind.{self.name}"


K = TokenKind


@dataclass(frozen=True)
class Token:
    """One token of the rule text: its kind, value (names, literals) and offsets."""

    kind: TokenKind
    value: Any
    start: int
    end: int


_SPACE = re.compile(r"(?:\s+|#[^\n]*)+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DATE = re.compile(r"\d{1,4}-\d{1,2}-\d{1,2}(?!\d)")
_STRICT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_NUMBER = re.compile(r"[+-]?\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?(?:[eE][+-]?\d+(?:_\d+)*)?")
_WORD = re.compile(r"[^\W\d]\w*|\w+")
DATE_HINT = "a date is written YYYY-MM-DD (2024-08-06), or T, T-6, T+1: days from the run date T"
_PUNCT = {k.value: k for k in K if len(k.value) == 2}
_PUNCT1 = {k.value: k for k in K if len(k.value) == 1}
_STRING_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_ODD_CHARS = {
    "\u201c": "use straight quotes: \" or '",
    "\u201d": "use straight quotes: \" or '",
    "\u2018": "use straight quotes: \" or '",
    "\u2019": "use straight quotes: \" or '",
    ";": "a rule is one expression: join conditions with and / or",
    "[": 'lists of values go in parentheses: city in ("a", "b")',
    "{": 'lists of values go in parentheses: city in ("a", "b")',
}


def fail(text: str, message: str, start: int, end: int, **kw: Any) -> RuleSyntaxError:
    return RuleSyntaxError(message, text=text, start=start, end=end, **kw)


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The tokens of ``text[start:end]`` (offsets into ``text``), ending with an eof token."""
    end = len(text) if end is None else end
    pos, out = start, []
    while True:
        space = _SPACE.match(text, pos, end)
        if space:
            pos = space.end()
        if pos >= end:
            break
        ch = text[pos]
        nxt = text[pos + 1] if pos + 1 < end else ""
        if ch in "\"'":
            tok = _string(text, pos, end)
        elif ch == "`":
            tok = _backtick(text, pos, end)
        elif "0" <= ch <= "9" or (ch in "+-" and "0" <= nxt <= "9"):
            tok = _number_or_date(text, pos, end)
        elif m := _IDENT.match(text, pos, end):
            tok = Token(K.IDENT, m.group(), pos, m.end())
        elif pos + 2 <= end and text[pos : pos + 2] in _PUNCT:
            tok = Token(_PUNCT[text[pos : pos + 2]], None, pos, pos + 2)
        elif ch in _PUNCT1:
            tok = Token(_PUNCT1[ch], None, pos, pos + 1)
        else:
            raise _bad_char(text, pos, end)
        out.append(tok)
        pos = tok.end
    last = out[-1].end if out else start
    out.append(Token(K.EOF, None, last, last))
    return out


def _bad_char(text: str, pos: int, end: int) -> RuleSyntaxError:
    ch = text[pos]
    word = _WORD.match(text, pos, end)
    if ch in _ODD_CHARS or not word:
        return fail(text, f"unexpected character {ch!r}", pos, pos + 1, hint=_ODD_CHARS.get(ch))
    name = word.group()
    return fail(
        text,
        f"unexpected character {ch!r}",
        pos,
        word.end(),
        suggestion=f"`{name}`",
        hint="names that are not plain ASCII identifiers go in backticks",
    )


def _string(text: str, pos: int, end: int) -> Token:
    quote, i, buf = text[pos], pos + 1, []
    while i < end and text[i] != "\n":
        ch = text[i]
        if ch == quote:
            return Token(K.STRING, "".join(buf), pos, i + 1)
        if ch == "\\":
            esc = text[i + 1] if i + 1 < end else ""
            if esc not in _STRING_ESCAPES or not esc:
                shown = "\\" + esc
                raise fail(
                    text,
                    f"unknown escape {shown} in a string",
                    i,
                    i + 1 + len(esc),
                    hint="the escapes are \\\\ \\\" \\' \\n \\t",
                )
            buf.append(_STRING_ESCAPES[esc])
            i += 2
            continue
        if ch == "\x00" or "\ud800" <= ch <= "\udfff":
            raise fail(
                text,
                f"a string cannot hold {'a NUL character' if ch == chr(0) else 'a broken character'}"
                f" ({ch!r})",
                i,
                i + 1,
                hint="remove it; values are plain text",
            )
        buf.append(ch)
        i += 1
    raise fail(text, "unterminated string", pos, i, hint=f"close the string with {quote}")


def _backtick(text: str, pos: int, end: int) -> Token:
    i, buf = pos + 1, []
    while i < end and text[i] != "\n":
        if text[i] == "`":
            if i + 1 < end and text[i + 1] == "`":
                buf.append("`")
                i += 2
                continue
            if not buf:
                raise fail(text, "empty name ``", pos, i + 1, hint="write a name between backticks")
            return Token(K.QNAME, "".join(buf), pos, i + 1)
        buf.append(text[i])
        i += 1
    raise fail(
        text, "unterminated name: the backtick is never closed", pos, i, hint="close it with `"
    )


def _number_or_date(text: str, pos: int, end: int) -> Token:
    m = _DATE.match(text, pos, end)
    if m:
        raw = m.group()
        if not _STRICT_DATE.match(raw):
            raise fail(
                text, f"bad date {raw}: write dates as YYYY-MM-DD", pos, m.end(), hint=DATE_HINT
            )
        try:
            value = dt.date(int(raw[:4]), int(raw[5:7]), int(raw[8:]))
        except ValueError as exc:
            raise fail(text, f"bad date {raw}: {exc}", pos, m.end(), hint=DATE_HINT) from None
        return Token(K.DATE, value, pos, m.end())
    m = _NUMBER.match(text, pos, end)
    raw = m.group().replace("_", "")
    try:
        value: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        raise fail(text, "number too long", pos, m.end()) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise fail(text, f"number too large: {m.group()}", pos, m.end())
    return Token(K.NUMBER, value, pos, m.end())
