"""Parsing a magic's line: words, options and positionals of one verb, as a :class:`Command`.

The line is split like a shell would (quotes group words and are removed),
but the spans of the words are kept so that a verb whose last positional is
a rule (``%segment estimate count(purchase, T-6..T) >= 2``) receives the
rule text exactly as typed, quotes included. Options are ``--name value``,
``--name=value`` or a ``--flag``, before or after the positionals.
Every mistake is an IPython ``UsageError`` of one line, with the nearest
option or verb suggested.

Examples
--------
>>> from segnb.magics.verbs import SEGMENT_VERBS
>>> cmd = Command.parse("segment", SEGMENT_VERBS, "list --group Q4")
>>> cmd.verb, cmd.options["group"]
('list', 'Q4')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from IPython.core.error import UsageError

from segnb.hints import closest

__all__ = ["Arg", "Command", "Opt", "Verb", "Word", "split_words"]

_OPTION = re.compile(r"--[A-Za-z][A-Za-z0-9-]*(=.*)?\Z", re.S)


@dataclasses.dataclass(frozen=True)
class Word:
    """One word of the line: its unquoted text and where it stands in the raw line."""

    text: str
    start: int
    end: int
    quoted: bool = False
    closed: bool = True  # False: an opening quote was never closed

    @property
    def is_option(self) -> bool:
        return not self.quoted and bool(_OPTION.match(self.text))


def split_words(line: str) -> list[Word]:
    """Shell-like words of ``line`` with their spans; an unclosed quote runs to the end."""
    words: list[Word] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            break
        start, buf, quoted, closed = i, [], False, True
        while i < n and not line[i].isspace():
            ch = line[i]
            if ch in "\"'":
                quoted = True
                end = line.find(ch, i + 1)
                if end < 0:
                    buf.append(line[i + 1 :])
                    i, closed = n, False
                    break
                buf.append(line[i + 1 : end])
                i = end + 1
            else:
                buf.append(ch)
                i += 1
        words.append(Word("".join(buf), start, i, quoted, closed))
    return words


# -- value converters ------------------------------------------------------------


def to_date(text: str, what: str) -> dt.date | None:
    """A date from 'YYYY-MM-DD'; 'today' or 'None' (an unset papermill parameter) give None."""
    if text.strip().lower() in ("today", "none", "t"):
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a date; write YYYY-MM-DD (or 'today')") from None


def to_int(text: str, what: str, minimum: int | None = 0) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise UsageError(f"{what} must be at least {minimum}, not {value}")
    return value


def to_list(text: str, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise UsageError(f"{what} needs one or more names separated by commas")
    return items


# -- the grammar of a verb ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Opt:
    """An option: ``--name VALUE`` (``metavar`` set) or a flag (``metavar`` None).

    ``kind`` tells completion what the value is: segment, group, entity,
    status, method, choice, date, path, var, number, text.
    """

    name: str
    help: str
    metavar: str | None = "VALUE"
    kind: str = "text"
    choices: tuple[str, ...] = ()
    convert: Callable[[str, str], Any] | None = None
    dest: str | None = None

    @property
    def key(self) -> str:
        return self.dest or self.name.replace("-", "_")

    @property
    def flag(self) -> bool:
        return self.metavar is None

    def value(self, text: str) -> Any:
        what = f"--{self.name}"
        if self.choices and text not in self.choices:
            guess = closest(text, self.choices)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise UsageError(f"{what} {text!r} is not one of {', '.join(self.choices)}{hint}")
        return self.convert(text, what) if self.convert else text

    def usage(self) -> str:
        return f"--{self.name}" if self.flag else f"--{self.name} {self.metavar}"


@dataclasses.dataclass(frozen=True)
class Arg:
    """A positional argument; ``rest`` takes the raw remainder of the line (a rule)."""

    name: str
    kind: str = "text"
    required: bool = True
    rest: bool = False
    convert: Callable[[str, str], Any] | None = None

    def usage(self) -> str:
        text = self.name.upper() + ("…" if self.rest else "")
        return text if self.required else f"[{text}]"


@dataclasses.dataclass(frozen=True)
class Verb:
    """One verb of a magic: ``%segment list [--group G] …``."""

    name: str
    help: str
    args: tuple[Arg, ...] = ()
    opts: tuple[Opt, ...] = ()

    def option(self, name: str) -> Opt | None:
        for opt in self.opts:
            if opt.name == name:
                return opt
        return None

    def usage(self, magic: str) -> str:
        parts = [f"%{magic} {self.name}".rstrip()]
        parts += [a.usage() for a in self.args]
        parts += [f"[{o.usage()}]" for o in self.opts]
        return " ".join(parts)

    def help_text(self, magic: str) -> str:
        lines = [self.usage(magic), "", self.help]
        if self.opts:
            lines.append("")
            width = max(len(o.usage()) for o in self.opts)
            for opt in self.opts:
                choices = f" ({', '.join(opt.choices)})" if opt.choices else ""
                lines.append(f"  {opt.usage():<{width}}  {opt.help}{choices}")
        return "\n".join(lines)


# -- the parsed command -----------------------------------------------------------


@dataclasses.dataclass
class Command:
    """A parsed magic line (and cell): verb, positionals, options and the cell body.

    ``help`` is True when ``--help`` was given; the magic then prints the
    verb's help instead of running it.
    """

    magic: str
    verb: str
    spec: Verb
    args: dict[str, Any]
    options: dict[str, Any]
    body: str | None = None
    line: str = ""
    help: bool = False

    @property
    def label(self) -> str:
        """The magic as typed: ``segment``, or ``%segment`` for the cell magic."""
        return self.magic if self.body is None else f"%{self.magic}"

    def __getitem__(self, key: str) -> Any:
        if key in self.args:
            return self.args[key]
        return self.options.get(key)

    def get(self, key: str, fallback: Any = None) -> Any:
        value = self[key]
        return fallback if value is None else value

    def given(self, key: str) -> bool:
        return self.options.get(key) is not None

    @classmethod
    def parse(
        cls,
        magic: str,
        verbs: Mapping[str, Verb],
        line: str,
        body: str | None = None,
        default: str | None = None,
    ) -> Command:
        """Parse ``line`` whose first word names one of ``verbs`` (or ``default`` when empty)."""
        words = split_words(line)
        if words and words[0].text in ("--help", "-h") and "help" in verbs:
            return cls.parse_verb(magic, verbs["help"], line[words[0].end :], body)
        if not words or words[0].is_option:
            if default is None:
                raise UsageError(
                    f"%{magic} needs a verb: one of {', '.join(verbs)} (%{magic} help lists them)"
                )
            name, rest = default, line
        else:
            name, rest = words[0].text, line[words[0].end :]
        spec = verbs.get(name)
        if spec is None:
            guess = closest(name, verbs)
            hint = f"; did you mean %{magic} {guess}?" if guess else ""
            raise UsageError(f"%{magic} has no verb {name!r}{hint} (verbs: {', '.join(verbs)})")
        return cls.parse_verb(magic, spec, rest, body)

    @classmethod
    def parse_verb(cls, magic: str, spec: Verb, line: str, body: str | None = None) -> Command:
        """Parse the options and positionals of one verb from ``line``."""
        words = split_words(line)
        label = magic if body is None else f"%{magic}"
        where = f"%{label} {spec.name}".rstrip()
        options: dict[str, Any] = {}
        positional: list[Word] = []
        gap = False  # an option came after the first positional
        i = 0
        while i < len(words):
            word = words[i]
            if word.text in ("--help", "-h") and not word.quoted:
                return cls(magic, spec.name, spec, {}, {}, body, line, help=True)
            if not word.is_option:
                if positional and gap and spec.args and spec.args[-1].rest:
                    raise UsageError(
                        f"{where}: put options before or after the rule, not inside it "
                        f"(at {word.text!r})"
                    )
                positional.append(word)
                i += 1
                continue
            if positional:
                gap = True
            name, _, inline = word.text[2:].partition("=")
            opt = spec.option(name)
            if opt is None:
                guess = closest(name, [o.name for o in spec.opts])
                hint = f"; did you mean --{guess}?" if guess else ""
                known = ", ".join(f"--{o.name}" for o in spec.opts) or "none"
                raise UsageError(f"{where}: unknown option --{name}{hint} (options: {known})")
            if opt.key in options:
                raise UsageError(f"{where}: --{name} is given twice")
            if opt.flag:
                if "=" in word.text:
                    raise UsageError(f"{where}: --{name} is a flag and takes no value")
                options[opt.key] = True
                i += 1
                continue
            if "=" in word.text:
                text = inline
                i += 1
            else:
                if i + 1 >= len(words) or words[i + 1].is_option:
                    raise UsageError(f"{where}: --{name} needs a value: {opt.usage()}")
                text = words[i + 1].text
                i += 2
            options[opt.key] = opt.value(text)
        for opt in spec.opts:
            options.setdefault(opt.key, False if opt.flag else None)
        args = cls._positionals(label, where, spec, positional, line)
        return cls(magic, spec.name, spec, args, options, body, line)

    @staticmethod
    def _positionals(
        magic: str, where: str, spec: Verb, words: list[Word], line: str
    ) -> dict[str, Any]:
        args: dict[str, Any] = {}
        specs = list(spec.args)
        for index, arg in enumerate(specs):
            if arg.rest:
                taken = words[index:]
                words = []
                text = line[taken[0].start : taken[-1].end].strip() if taken else ""
                if arg.required and not text:
                    raise UsageError(f"{where} needs {arg.usage()}: {spec.usage(magic)}")
                args[arg.name] = text or None
                continue
            if index < len(words):
                word = words[index]
                if not word.closed:
                    raise UsageError(f"{where}: unclosed quote in {line[word.start :].strip()!r}")
                args[arg.name] = (
                    arg.convert(word.text, arg.name.upper()) if arg.convert else word.text
                )
            elif arg.required:
                raise UsageError(f"{where} needs {arg.name.upper()}: {spec.usage(magic)}")
            else:
                args[arg.name] = None
        if len(words) > len(specs):
            extra = " ".join(w.text for w in words[len(specs) :])
            raise UsageError(f"{where}: unexpected {extra!r}; usage: {spec.usage(magic)}")
        return args


class Host(Protocol):
    """What a verb handler uses of the magics object (:class:`segnb.magics.magic.SegnbMagics`)."""

    settings: Any
    ws: Any
    owned: bool
    shell: Any

    def workspace(self, store: bool = False) -> Any: ...

    def attach(self, ws: Any, source: str, owned: bool) -> None: ...

    def close(self) -> None: ...

    def note(self, text: str) -> None: ...

    def ns(self) -> dict[str, Any]: ...
