"""The house: layer contracts, no import cycles, no deferred imports, modules of a readable size."""

from __future__ import annotations

import ast
import pathlib

import segnb

ROOT = pathlib.Path(segnb.__file__).parent
PYPROJECT = ROOT.parent / "pyproject.toml"
#: where a function-level import is right: a face loaded only when asked for
LAZY_FACES = {"segnb.magics", "segnb.widgets"}


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def test_the_import_contract_holds():
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0


def _function_level_imports(tree):
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            yield from (n for n in names if n == "segnb" or n.startswith("segnb."))


def test_function_level_imports_only_load_faces_lazily():
    found = [
        (module, imported)
        for module, _, tree in _modules()
        for imported in _function_level_imports(tree)
    ]
    assert len(found) <= 10, found
    for module, imported in found:
        assert any(imported == f or imported.startswith(f + ".") for f in LAZY_FACES), (
            module,
            imported,
        )


def test_no_import_cycles():
    """Top-level imports (TYPE_CHECKING ones included) form no cycle between modules."""
    names = {name for name, _, _ in _modules()}
    graph: dict[str, set[str]] = {}
    for name, _, tree in _modules():
        edges = set()
        for node in tree.body if isinstance(tree, ast.Module) else []:
            stack = [node]
            while stack:  # module level, and inside if-blocks (TYPE_CHECKING, try)
                item = stack.pop()
                if isinstance(item, ast.ImportFrom) and item.level == 0 and item.module:
                    base = item.module
                    for alias in item.names:
                        edges.add(
                            f"{base}.{alias.name}" if f"{base}.{alias.name}" in names else base
                        )
                elif isinstance(item, ast.Import):
                    edges.update(a.name for a in item.names)
                elif isinstance(item, (ast.If, ast.Try)):
                    stack.extend(item.body + item.orelse + getattr(item, "handlers", []))
                elif isinstance(item, ast.ExceptHandler):
                    stack.extend(item.body)
        graph[name] = {
            e for e in edges if e in names and e != name and not name.startswith(e + ".")
        }
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_modules_stay_small():
    big = {
        name: n
        for name, path, _ in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not big, f"modules over 500 lines (split by concept): {big}"
