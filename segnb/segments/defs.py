"""Segments as code (SPEC §7): one TOML file per segment, exported and applied.

``export(ctx, dir)`` writes ``<name>.toml`` for every visible segment: the
rule text as written (comments kept) or the set expression, the method and
its inputs, and the SPEC §2 metadata. ``apply(ctx, dir)`` makes the store
match the files: it reads and checks *every* file first (a bad one is named
with its line and column, and then nothing is applied), plans each segment
as ``create``, ``redefine``, ``unchanged``, ``drift`` (differs, but its
method cannot be redefined from a file) or ``delete`` (``prune=True``:
stored, no file; refused while a kept segment uses it), and carries the plan
out in dependency order (a set after its inputs). A redefinition is a new
version with the history kept; applying the same files twice writes nothing.

Upload segments are exported with the list file's checksum and match
report; their members are the uploaded ids, not reproducible from the
definition file. A missing upload is created again only from its list file
when that file is still there with the same checksum.

Examples
--------
>>> export(ctx, "segments/")                          # doctest: +SKIP
>>> plan = apply(ctx, "segments/", dry_run=True)      # doctest: +SKIP
>>> [(s.name, s.action, s.size_change) for s in plan]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from segnb.errors import DefinitionFileError, SegnbError
from segnb.lang.nodes import InSegment, Score, SegmentRef, walk
from segnb.lang.serial import from_json
from segnb.segments.context import Context
from segnb.segments.create import create_with, redefine
from segnb.segments.defs_files import OPTION_KEYS, Def, read_dir
from segnb.segments.deftoml import dumps, key_line, where
from segnb.segments.graph import Graph
from segnb.segments.lifecycle import delete_segment
from segnb.segments.options import options
from segnb.segments.sets import set_size
from segnb.segments.status import definition_of

__all__ = ["DefPlan", "Defs", "PlanStep", "apply", "export", "file_name", "plan", "sha256_of"]

NOT_REPRODUCIBLE = (
    "members are the uploaded ids: they are not reproducible from this file; checksum and "
    "report describe the list file that made them"
)


@dataclass(frozen=True)
class PlanStep:
    """One segment of a plan: what apply does to it, and its estimated size."""

    name: str
    action: str  # create | redefine | unchanged | drift | delete
    method: str
    file: str | None
    size: int | None = None  # estimated size after apply
    current: int | None = None  # size now
    reason: str = ""

    @property
    def size_change(self) -> int | None:
        if self.action == "delete":
            return None if self.current is None else -self.current
        if self.size is None:
            return None
        return self.size - (self.current or 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "size_change": self.size_change}

    def __str__(self) -> str:
        mark = {"create": "+", "redefine": "~", "delete": "-", "drift": "!"}.get(self.action, "=")
        size = "" if self.size is None else f" {self.size:,}"
        change = self.size_change
        delta = "" if change is None or self.action == "unchanged" else f" ({change:+,})"
        why = f"  {self.reason}" if self.reason else ""
        return f"{mark} {self.action:<9} {self.name} [{self.method}]{size}{delta}{why}"


class DefPlan(list):
    """The plan of :func:`apply` (a list of :class:`PlanStep`); ``applied`` tells if it ran."""

    applied: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self:
            out[step.action] = out.get(step.action, 0) + 1
        return out

    def to_frame(self):
        import pandas as pd

        cols = ["name", "action", "method", "size", "current", "size_change", "file", "reason"]
        return pd.DataFrame([{c: s.to_dict()[c] for c in cols} for s in self], columns=cols)

    def __str__(self) -> str:
        head = ", ".join(f"{n} {a}" for a, n in sorted(self.counts().items())) or "no segments"
        verb = "applied" if self.applied else "plan (nothing written)"
        return "\n".join([f"{verb}: {head}", *map(str, self)])

    __repr__ = __str__


# -- export -----------------------------------------------------------------------


def file_name(name: str) -> str:
    """A file name for segment ``name`` (the name itself is inside the file)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".") or "segment"


def sha256_of(path: Any) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def document(row: Any) -> dict[str, Any]:
    """The file's content of one stored segment."""
    definition = definition_of(row, strict=False)
    method = row["method"]
    doc: dict[str, Any] = {
        "#": f"segment {row['name']!r}: segnb defs apply makes the store match this file",
        "name": row["name"], "method": method, "entity": row["entity"],
    }  # fmt: skip
    if method == "rules":
        doc["rule"] = definition.get("text")
    elif method == "sets":
        doc["expression"] = definition.get("text")
    elif method == "table":
        doc.update({k: definition.get(k) for k in ("table", "query", "id_column")})
    elif method == "lookalike":
        inputs = definition.get("inputs", {})
        doc.update(seed=inputs.get("seed"), size=definition.get("size"),
                   audience=inputs.get("audience"))  # fmt: skip
        doc["settings"] = _plain(definition.get("settings"))
    elif method == "prediction":
        inputs = definition.get("inputs", {})
        doc.update({k: inputs.get(k) for k in ("audience", "positive", "negative")})
        doc.update({k: definition.get(k) for k in ("tendency", "model", "train_lag_days")})
        doc["exclude"] = list(definition.get("exclude") or [])
        doc["settings"] = _plain(definition.get("settings"))
    elif method == "upload":
        report = definition.get("report") or {}
        doc["#upload"] = NOT_REPRODUCIBLE
        doc["upload"] = {
            "file": definition.get("file"), "id_type": definition.get("id_type"),
            "column": definition.get("column"),
            "checksum": definition.get("checksum") or sha256_of(definition.get("file") or ""),
            "reproducible": False,
            **{f"report_{k}": v for k, v in report.items() if isinstance(v, (int, str))},
        }  # fmt: skip
    for key, column in OPTION_KEYS.items():
        value = row[column]
        doc[key] = list(value) if key == "shared_with" else value
    doc["owner"] = row["owner"]
    return {k: v for k, v in doc.items() if not (k == "settings" and not v)}


def _plain(settings: Any) -> dict[str, Any]:
    ok = (str, int, float, bool)
    return {k: v for k, v in (settings or {}).items() if isinstance(v, ok)}


def export(ctx: Context, directory: Any) -> list[Path]:
    """Write one ``.toml`` file per visible segment into ``directory``; the paths written."""
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    written, taken = [], set()
    for row in ctx.visible_rows(None):
        base = file_name(row["name"])
        stem, n = base, 2
        while stem.lower() in taken:
            stem, n = f"{base}-{n}", n + 1
        taken.add(stem.lower())
        path = folder / f"{stem}.toml"
        text = dumps(document(row))
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# -- planning and applying -------------------------------------------------------------


def _uses(item: Def) -> set[str]:
    if item.method in ("rules", "sets"):
        return _tree_names(next(iter(item.definition.values())))
    return {v for v in item.definition.get("inputs", {}).values() if v}


def _tree_names(tree: Any) -> set[str]:
    return {n.name for n in walk(from_json(tree)) if isinstance(n, (InSegment, Score, SegmentRef))}


def _option_changes(ctx: Context, item: Def, row: Any) -> dict[str, Any]:
    """The options of ``item`` that differ from ``row``'s, as ``redefine`` takes them."""
    want = options(ctx, **{**item.opts, "expires": None})
    changed = {}
    for key, column in OPTION_KEYS.items():
        if key == "expires":
            if item.opts.get("expires") != row["expires_at"]:
                changed["expires"] = item.opts.get("expires")
            continue
        if key not in item.opts and key != "group":
            continue
        value = want[column]
        current = list(row[column]) if column == "shared_with" else row[column]
        if value != current:
            changed["tz" if key == "timezone" else key] = item.opts.get(
                "tz" if key == "timezone" else key
            )
    return changed


def _estimate(ctx: Context, item: Def, as_of: Any = None) -> int | None:
    try:
        if item.method == "rules":
            tz = item.opts.get("tz") or ctx.tz
            return int(ctx.members(item.text, as_of, item.entity, tz=tz).count().execute())
        if item.method == "sets":
            return set_size(ctx, item.text)
    except SegnbError:
        return None
    return None


def _step(ctx: Context, item: Def, row: Any, as_of: Any = None) -> PlanStep:
    file = str(item.path)
    if row is None:
        if item.method == "upload" and sha256_of(item.inputs["path"]) != item.definition.get(
            "checksum"
        ):
            return PlanStep(item.name, "drift", item.method, file, reason=(
                "an upload's members are not reproducible from its definition, and its list "
                f"file {item.inputs['path']!r} is gone or changed; upload it again (ws.upload)"
            ))  # fmt: skip
        return PlanStep(item.name, "create", item.method, file, size=_estimate(ctx, item, as_of))
    version = ctx.store.version_row(row["id"], row["current_version"]) if (
        row["current_version"] is not None) else None  # fmt: skip
    current = None if version is None else int(version["size"])
    if row["entity"] != item.entity:
        return PlanStep(item.name, "drift", item.method, file, current=current, reason=(
            f"the store's segment holds {row['entity']}, the file {item.entity}; delete or "
            "rename one"))  # fmt: skip
    changed = _option_changes(ctx, item, row)
    stored = definition_of(row, strict=False)
    if item.method in ("rules", "sets") and row["method"] in ("rules", "sets"):
        same = (stored.get("text") or "").strip() == item.text
        if same and not changed:
            return PlanStep(item.name, "unchanged", item.method, file, current, current)
        what = ", ".join(([] if same else ["rule" if item.method == "rules" else "expression"])
                         + sorted(changed))  # fmt: skip
        size = current if same else _estimate(ctx, item, as_of)
        return PlanStep(item.name, "redefine", item.method, file, size, current, f"changed: {what}")
    if row["method"] != item.method:
        return PlanStep(item.name, "drift", item.method, file, current=current, reason=(
            f"stored as a {row['method']} segment; a file cannot change that (delete it "
            "first, or rename)"))  # fmt: skip
    if _inputs_differ(item, stored) or changed:
        return PlanStep(item.name, "drift", item.method, file, current=current, reason=(
            f"differs from the store ({', '.join(sorted(changed)) or 'inputs'}); a "
            f"{item.method} segment is not redefined from a file: delete it and apply"))  # fmt: skip
    return PlanStep(item.name, "unchanged", item.method, file, current, current)


def _inputs_differ(item: Def, stored: dict[str, Any]) -> bool:
    if item.method == "table":
        return any(stored.get(k) != item.inputs.get(k) for k in ("table", "query", "id_column"))
    if item.method == "lookalike":
        return (stored.get("inputs", {}).get("seed"), stored.get("size")) != (
            item.inputs.get("seed"), item.inputs.get("size"))  # fmt: skip
    if item.method == "prediction":
        keys = ("audience", "positive", "negative")
        return any(stored.get("inputs", {}).get(k) != item.inputs.get(k) for k in keys) or any(
            stored.get(k) != item.inputs.get(k) for k in ("tendency", "model") if k in item.inputs
        )
    if item.method == "upload":
        return bool(item.definition.get("checksum")) and stored.get("checksum") not in (
            None, item.definition["checksum"])  # fmt: skip
    return False


def plan(
    ctx: Context, items: list[Def], prune: bool = False, as_of: Any = None
) -> tuple[DefPlan, dict[str, Def]]:
    """The plan for ``items`` in dependency order; refusals raise before anything is written."""
    by_name = {item.name: item for item in items}
    rows = {r["name"]: r for r in ctx.visible_rows(None)}
    kept_rows = [r for n, r in rows.items() if n not in by_name]
    needs = {i.name: _uses(i) for i in items}
    graph = Graph(kept_rows)
    missing = []
    for item in items:
        for used in sorted(needs[item.name]):
            if used not in by_name and used not in rows:
                line = key_line(item.path.read_text(encoding="utf-8"),
                                "rule" if item.method == "rules" else "expression")  # fmt: skip
                missing.append(f"{where(item.path, line)}: uses segment {used!r}, which is "
                               "neither stored nor defined in the directory")  # fmt: skip
    if missing:
        raise DefinitionFileError(
            f"{len(missing)} unknown segment{'s' if len(missing) > 1 else ''}; nothing was "
            "applied:\n" + "\n".join(missing),
            missing,
        )
    out = DefPlan(_step(ctx, by_name[n], rows.get(n), as_of) for n in _order(list(by_name), needs))
    if prune:
        gone = [n for n in rows if n not in by_name]
        blocked = []
        for name in gone:
            users = {u for u, deps in needs.items() if name in deps}
            users |= {u.user for u in graph.users(name) if u.user not in gone}
            if users:
                blocked.append(f"{name!r} is used by {', '.join(map(repr, sorted(users)))}")
        if blocked:
            raise DefinitionFileError(
                "--prune refused (nothing was applied): " + "; ".join(blocked)
                + "; give them files or remove their users first", blocked,
            )  # fmt: skip
        order = Graph([rows[n] for n in gone]).order(gone)
        for name in reversed(order):  # users first
            row = rows[name]
            version = ctx.store.version_row(row["id"], row["current_version"]) if (
                row["current_version"] is not None) else None  # fmt: skip
            out.append(PlanStep(name, "delete", row["method"], None,
                                current=None if version is None else int(version["size"]),
                                reason="no file"))  # fmt: skip
    return out, by_name


def _order(names: list[str], needs: dict[str, set[str]]) -> list[str]:
    out, done = [], set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path or name not in needs:
            return
        for other in sorted(needs[name]):
            visit(other, (*path, name))
        done.add(name)
        out.append(name)

    for name in names:
        visit(name, ())
    return out


def apply(
    ctx: Context, directory: Any, *, dry_run: bool = False, prune: bool = False, as_of: Any = None
) -> DefPlan:
    """Make the store match the files of ``directory``; the plan (see the module docs).

    New versions (and the estimates of a dry run) are as of ``as_of`` (default: each
    segment's today).
    """
    items = read_dir(ctx, directory)
    steps, by_name = plan(ctx, items, prune, as_of)
    if dry_run:
        return steps
    for step in steps:
        if step.action == "create":
            item = by_name[step.name]
            create_with(ctx, item.method, item.name, as_of=as_of, entity=item.entity, **_create_opts(item),
                        **item.inputs)  # fmt: skip
        elif step.action == "redefine":
            item = by_name[step.name]
            row = ctx.find_row(item.name)
            kw = _option_changes(ctx, item, row)
            redefine(ctx, row, item.text, as_of, **kw)
        elif step.action == "delete":
            delete_segment(ctx, ctx.find_row(step.name))
    steps.applied = True
    return steps


def _create_opts(item: Def) -> dict[str, Any]:
    return dict(item.opts)


class Defs:
    """``ws.defs``: segment definitions as files (``export``, ``apply``)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def export(self, directory: Any) -> list[Path]:
        """Write one TOML file per visible segment; the paths written.

        Examples
        --------
        >>> ws.defs.export("segments/")       # doctest: +SKIP
        """
        return export(self.ctx, directory)

    def apply(
        self, directory: Any, dry_run: bool = False, prune: bool = False, as_of: Any = None
    ) -> DefPlan:
        """Make the store match ``directory``'s files; the plan as data (``.to_frame()``).

        Examples
        --------
        >>> print(ws.defs.apply("segments/", dry_run=True))   # doctest: +SKIP
        """
        return apply(self.ctx, directory, dry_run=dry_run, prune=prune, as_of=as_of)
