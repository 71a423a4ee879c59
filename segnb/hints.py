"""Did-you-mean: the nearest name among candidates, for every error that names something."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (for "did you mean"), or None.

    Examples
    --------
    >>> closest("cty", ["city", "channel"])
    'city'
    """
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return lowered[name.lower()]
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not found:
        found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        found = [lowered[f] for f in found]
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str], form: str = "{!r}") -> str:
    """``"; did you mean 'city'?"`` when a candidate is near ``name``, else ``""``.

    Examples
    --------
    >>> "no tag 'cty'" + did_you_mean("cty", ["city"])
    "no tag 'cty'; did you mean 'city'?"
    """
    guess = closest(str(name), candidates)
    return f"; did you mean {form.format(guess)}?" if guess else ""
