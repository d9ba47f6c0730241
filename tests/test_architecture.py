"""The layout's rules, checked on the source itself (see the README's layout section).

- at most one import cycle, of at most three modules (the Model/Functional/saving knot that
  Keras also has), counting imports placed inside functions too;
- no underscore name of one package used from another package;
- no source file over 600 lines;
- `import glassnet` loads neither matplotlib nor tqdm (training never plots; a bar imports
  tqdm when it is first shown).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "glassnet"
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def _package(module: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to: itself for a package's __init__, else its parent."""
    if modules[module].name == "__init__.py":
        return module
    parent = module.rpartition(".")[0]
    # a module at the top of glassnet is a package of its own (glassnet.losses, ...)
    return module if parent == "glassnet" else parent


def _resolve(module: str, level: int, target: str | None, modules) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    if modules[module].name != "__init__.py":
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str, modules: dict[str, Path]):
    """(imported module, imported name or None) for every import in the file, anywhere."""
    tree = ast.parse(modules[module].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module, modules)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full, None) if full in modules else (base, alias.name)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module in modules:
        for target, _ in _imports(module, modules):
            # importing a.b.c imports a and a.b too, but a package's __init__ that only
            # re-exports is not a dependency of its own submodules: count the leaf only
            if target in modules and target != module:
                graph[module].add(target)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components of two or more modules (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _reexporting_packages(graph, modules) -> set[str]:
    return {m for m in modules if modules[m].name == "__init__.py"}


def import_cycles() -> list[list[str]]:
    """Cycles among implementation modules. A package's __init__ only re-exports its
    submodules' names, so an edge *into* an __init__ from inside its own package is
    dropped (Python resolves it to the submodule that defines the name)."""
    modules = _modules()
    graph = import_graph()
    for module, targets in graph.items():
        graph[module] = {t for t in targets
                         if not (modules[t].name == "__init__.py"
                                 and (module + ".").startswith(t + "."))}
    return strongly_connected(graph)


def _private_definitions(module: str, modules) -> set[str]:
    """Underscore names a module defines: functions, classes, globals, attributes it sets."""
    tree = ast.parse(modules[module].read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            names.add(node.attr)      # writing another object's _x does not define it
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def cross_package_private_uses() -> list[str]:
    """`from other.package import _x`, `other_module._x`, and `obj._x` where `_x` is
    defined only in other packages (as a method, function or attribute)."""
    modules = _modules()
    packages = {m: _package(m, modules) for m in modules}
    defined_in: dict[str, set[str]] = {}
    for module in modules:
        for name in _private_definitions(module, modules):
            defined_in.setdefault(name, set()).add(packages[module])
    problems = []
    for module, path in modules.items():
        package = packages[module]
        for target, name in _imports(module, modules):
            if name and name.startswith("_") and not name.startswith("__") \
                    and target in modules and packages[target] != package:
                problems.append(f"{module}: imports {target}.{name}")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            attr = node.attr
            if not attr.startswith("_") or attr.startswith("__"):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            owners = defined_in.get(attr, set())
            if owners and package not in owners:
                problems.append(f"{module}:{node.lineno}: uses .{attr} of "
                                f"{', '.join(sorted(owners))}")
    return problems


def test_at_most_one_small_import_cycle():
    cycles = import_cycles()
    assert len(cycles) <= 1 and all(len(c) <= 3 for c in cycles), cycles


def test_no_private_name_crosses_a_package():
    problems = cross_package_private_uses()
    assert not problems, "\n".join(problems)


def test_no_file_over_600_lines():
    long = {str(path.relative_to(SRC)): n for path in SRC.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_import_glassnet_loads_no_plotting_or_progress_bar():
    code = ("import sys, glassnet; "
            "print(sorted(m for m in ('matplotlib', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out


def test_test_files_have_unique_names():
    """pytest imports test modules by file name (no __init__.py in tests/): two files of
    the same name in different folders stop the whole collection."""
    names = [path.name for path in (SRC.parents[1] / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_the_checks_see_a_cycle_and_a_private_import(tmp_path):
    """The cycle finder is not vacuous: a two-module cycle is one component."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert strongly_connected(graph) == [["a", "b"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


if __name__ == "__main__":   # a report: python tests/test_architecture.py
    print("cycles:", import_cycles())
    print("private uses across packages:")
    for line in cross_package_private_uses():
        print("  ", line)
    print("files over 600 lines:",
          {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_LINES})
