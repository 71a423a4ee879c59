"""Tab completion inside ``%%segment`` cells and ``%segment``/``%segnb`` lines.

An IPython completion matcher (API v2): it sees the whole cell and the
cursor, decides what is being typed — a verb, an option, an option's value,
a segment name, or a place in a rule — and offers the names the connected
catalog and store hold: tags, attributes, events, event fields, enum values
and segments. It never connects, never raises, and stays silent (letting
IPython's own completers speak) outside segnb's magics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from IPython.core.completer import CompletionContext, SimpleCompletion

from segnb.magics.command import Host, Verb, Word, split_words
from segnb.magics.verbs import CELL_VERB, SEGMENT_VERBS, SEGNB_VERBS, WIZARDS

__all__ = ["SegnbCompleter"]

_LINE_MAGIC = re.compile(r"(?<![%\w])%(segment|segnb)(?=\s|$)")
_CELL_MAGIC = re.compile(r"\s*%%segment(?=\s|$)")
_FRAGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
FUNCTIONS = ("count(", "did(", "sum(", "change(", "in_segment(", "score(", "first(", "last(",
             "days_since(", "avg(", "min(", "max(", "distinct(", "active_days(")  # fmt: skip
KEYWORDS = ("and", "or", "not", "in", "between", "is", "null", "true", "false", "where",
            "then", "within")  # fmt: skip
_EVENTS = r"count|did|sum|first|last|days_since|avg|min|max|distinct|active_days"
_FIELDS = r"sum|avg|min|max|distinct"
# an event after an event function's ( or after a sequence's then
_EVENT_CALL = re.compile(rf"(?:\b(?:{_EVENTS})\(\s*|\bdid\([^()]*\bthen\s+)\Z")
_EVENT_FIELD = re.compile(rf"\b(?:{_FIELDS})\(\s*([A-Za-z_]\w*)\.\Z")
_SEGMENT_CALL = re.compile(r"\b(?:in_segment|score)\(\s*\Z")
_TAG_CALL = re.compile(r"\bchange\(\s*\Z")
_WHERE = re.compile(
    rf"(?:\b(?:{_EVENTS})\(|\bthen)\s*([A-Za-z_]\w*)(?:\.\w+)?\s+where\b(?:(?!\bthen\b)[^)])*\Z"
)
_SETS_ONLY = re.compile(r"[\s\w&|()\-]*\Z")
_COMPARE_VALUE = re.compile(r"([A-Za-z_]\w*)\s*(?:=|==|!=|<>)\s*\Z")
_IN_VALUE = re.compile(
    r"([A-Za-z_]\w*)\s+(?:not\s+)?in\s*\((?:\s*(?:\"[^\"]*\"|'[^']*')\s*,)*\s*\Z"
)


class SegnbCompleter:
    """The matcher ``%load_ext segnb`` appends to ``ip.Completer.custom_matchers``."""

    matcher_api_version = 2
    matcher_identifier = "segnb.magics.completion"
    matcher_priority = 1.0

    def __init__(self, magics: Host) -> None:
        self.magics = magics
        self.__qualname__ = self.matcher_identifier  # IPython reads it of every matcher

    # -- the IPython entry point ------------------------------------------------------------

    def __call__(self, context: CompletionContext) -> dict[str, Any]:
        try:
            found = self.complete(context.full_text, context.cursor_line, context.cursor_position)
        except Exception:  # completion must never disturb the user
            found = None
        if not found:
            return {"completions": [], "suppress": False}
        fragment, items = found
        return {
            "completions": [SimpleCompletion(text, type=kind) for text, kind in items],
            "matched_fragment": fragment,
            "suppress": bool(items),
        }

    def complete(self, full_text: str, line: int, column: int):
        """``(fragment, [(text, type), …])`` for the cursor, or None outside segnb's magics."""
        lines = full_text.split("\n")
        before = "\n".join([*lines[:line], lines[line][:column]])
        cell = _CELL_MAGIC.match(full_text)
        if cell:
            header_end = full_text.find("\n")
            if header_end < 0 or len(before) <= header_end:
                return self._line(CELL_VERB, before[cell.end() :])
            return self._rule(before[header_end + 1 :])
        current = lines[line][:column]
        found = list(_LINE_MAGIC.finditer(current))
        if not found:
            return None
        hit = found[-1]
        verbs = SEGMENT_VERBS if hit.group(1) == "segment" else SEGNB_VERBS
        return self._verbs(verbs, current[hit.end() :])

    # -- lines -------------------------------------------------------------------------

    def _verbs(self, verbs: dict[str, Verb], text: str):
        words, fragment = _words(text)
        if not words:
            return fragment, _match(fragment, [(v, "verb") for v in verbs])
        spec = verbs.get(words[0].text)
        if spec is None:
            return None
        rest = text[words[0].end :]
        return self._line(spec, rest)

    def _line(self, spec: Verb, text: str):
        words, fragment = _words(text)
        if fragment.startswith("--"):
            return fragment, _match(fragment, [(f"--{o.name}", "option") for o in spec.opts])
        pending, positional, i = None, [], 0
        while i < len(words):
            word = words[i]
            if not word.is_option:
                positional.append(word)
            else:
                opt = spec.option(word.text[2:].partition("=")[0])
                if opt is not None and not opt.flag and "=" not in word.text:
                    if i + 1 == len(words):
                        pending = opt
                    i += 1
            i += 1
        quoted = bool(text) and _open_quote(text) is not None
        if pending is not None:
            items = self._values(pending.kind, pending.choices)
            return fragment, _quoted(_match(fragment, items), quoted)
        if spec.args and spec.args[-1].rest:
            start = positional[0].start if positional else len(text) - len(fragment)
            extra = []
            if not positional and spec.args[-1].kind == "segment-or-rule":
                extra = [(n, "segment") for n in self._segments()]
            return self._rule(text[start:], extra)
        if len(positional) < len(spec.args):
            items = self._values(spec.args[len(positional)].kind)
            return fragment, _quoted(_match(fragment, items), quoted)
        return None

    # -- values ----------------------------------------------------------------------------

    def _values(self, kind: str, choices: Iterable[str] = ()) -> list[tuple[str, str]]:
        if choices:
            return [(c, "choice") for c in choices]
        if kind == "segment-verb":
            return [(v, "verb") for v in SEGMENT_VERBS]
        if kind == "segnb-verb":
            return [(v, "verb") for v in SEGNB_VERBS]
        if kind == "wizard-app":
            return [(a, "app") for a in WIZARDS]
        if kind == "var":
            return [(k, "variable") for k in self.magics.ns() if not k.startswith("_")]
        ws = self.magics.ws
        if ws is None:
            return []
        if kind == "segment":
            return [(n, "segment") for n in self._segments()]
        if kind == "group":
            return [(g, "group") for g in self._groups()]
        if kind == "entity":
            return [(e, "entity") for e in ws.catalog.entities]
        ent = ws.entity(None)
        ids = list(getattr(ent, "id_columns", None) or [ent.id])
        if kind == "attribute":
            return [(i, "id") for i in ids if i != ent.id] + [
                (a, "attribute") for a in ent.attributes
            ]
        if kind == "id-type":
            return [(i, "id") for i in ids]
        if kind == "feature":
            return [(t, "tag") for t in ent.tag_names] + [
                (e, "event") for e in ws.catalog.event_names(ent)
            ]
        return []

    def _segments(self) -> list[str]:
        try:
            return list(self.magics.workspace(store=True).segment_names())
        except Exception:  # e.g. a read-only warehouse without a store
            return []

    def _groups(self) -> list[str]:
        try:
            return list(self.magics.workspace(store=True).groups)
        except Exception:
            return []

    # -- rules -----------------------------------------------------------------------------

    def _rule(self, before: str, extra: list[tuple[str, str]] | None = None):
        ws = self.magics.ws
        if ws is None:
            return None
        quote = _open_quote(before)
        if quote is not None:
            return self._string_values(ws, before, quote)
        match = _FRAGMENT.search(before)
        fragment = match.group() if match else ""
        prefix = before[: len(before) - len(fragment)]
        ent = ws.entity(None)
        catalog = ws.catalog
        if _EVENT_CALL.search(prefix):
            items = [(e, "event") for e in catalog.event_names(ent)]
        elif m := _EVENT_FIELD.search(prefix):
            items = [(f, "field") for f in _event_fields(catalog, ent, m.group(1))]
        elif _SEGMENT_CALL.search(prefix):
            items = [(n, "segment") for n in self._segments()]
        elif _TAG_CALL.search(prefix):
            items = [(t, "tag") for t in ent.tag_names]
        elif m := _WHERE.search(prefix):
            items = [(f, "field") for f in _event_fields(catalog, ent, m.group(1))]
            items += [(k, "keyword") for k in KEYWORDS if k != "where"]
        else:
            items = [(t, "tag") for t in ent.tag_names]
            items += [(a, "attribute") for a in ent.attributes]
            items += [(f, "function") for f in FUNCTIONS]
            if prefix.strip():
                items += [(k, "keyword") for k in KEYWORDS if k != "where"]
            if _SETS_ONLY.match(prefix) and not _has_keyword(prefix):
                items += [(n, "segment") for n in self._segments()]
        items = list(extra or []) + items
        return fragment, _match(fragment, items)

    def _string_values(self, ws: Any, before: str, quote: int):
        fragment = before[quote + 1 :]
        head = before[:quote]
        match = _COMPARE_VALUE.search(head) or _IN_VALUE.search(head)
        if not match:
            return None
        ent = ws.entity(None)
        name = match.group(1)
        if not (ent.has_tag(name) or name in ent.attributes):
            return None
        field = ent.tag(name) if ent.has_tag(name) else ent.attributes[name]
        if field.type != "enum":
            return None
        values, _ = ws.catalog.values(ent, name, limit=200)
        return fragment, _match(fragment, [(str(v), "value") for v in values])


def _words(text: str) -> tuple[list[Word], str]:
    """The finished words of ``text`` and the fragment being typed (after the last space)."""
    words = split_words(text)
    if words and words[-1].end == len(text) and words[-1].closed:
        return words[:-1], words[-1].text
    if words and not words[-1].closed:
        return words[:-1], words[-1].text
    return words, ""


def _match(fragment: str, items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    low = fragment.lower()
    seen: dict[str, str] = {}
    for text, kind in items:
        if text.lower().startswith(low) and text not in seen:
            seen[text] = kind
    return list(seen.items())


def _quoted(items: list[tuple[str, str]], inside: bool) -> list[tuple[str, str]]:
    """Values with spaces in quotes, unless the user already opened one."""
    if inside:
        return items
    return [(f'"{t}"' if any(c.isspace() for c in t) else t, kind) for t, kind in items]


def _open_quote(text: str) -> int | None:
    """Offset of the quote that opens a string still open at the end of ``text``."""
    opened: int | None = None
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if opened is None:
            if ch == "#":
                end = text.find("\n", i)
                if end < 0:
                    return None
                i = end
            elif ch in "\"'":
                opened, quote = i, ch
        elif ch == "\\":
            i += 1
        elif ch == quote or ch == "\n":
            opened = None
        i += 1
    return opened


def _event_fields(catalog: Any, ent: Any, event: str) -> list[str]:
    source = catalog.event_source(ent, event)
    return list(source.fields) if source is not None else []


def _has_keyword(text: str) -> bool:
    words = set(re.findall(r"[A-Za-z_]\w*", text.lower()))
    return bool(words & {"and", "or", "not", "in", "between", "is"})
