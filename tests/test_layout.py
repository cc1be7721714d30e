"""The layout rules of the two packages, checked on their source.

* No import circle inside ``cerulean`` or ``neuro_compat``, and ``cerulean``
  never imports ``neuro_compat``: data flows one way.
* No import of the distribution's own modules inside a function or under
  ``if TYPE_CHECKING:``: those are how circles hide.
* paramiko only where SSH is spoken: cerulean's ``_ssh``/``_sftp`` and the
  terminal that owns the connection; never in neuro_compat, which works
  through cerulean's file systems and terminals.

The graph is built from the source with :mod:`ast` (nothing is imported),
from the imports at module level. ``from package import name`` counts as
an import of the module ``package.name`` where that is a module, else of
``package`` itself. The implicit import of a module's parent packages is
left out: every module would otherwise depend on ``cerulean/__init__.py``,
which imports the whole public API.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cerulean", "neuro_compat")

PARAMIKO_ALLOWED = {
    "cerulean": ("cerulean._ssh.", "cerulean._sftp.", "cerulean.ssh_terminal"),
    # None: neuro_compat reaches SSH and SFTP only through cerulean.
    "neuro_compat": (),
}
"""Module names (or prefixes, ending in ``.``) that may import paramiko."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _targets(node: ast.Import | ast.ImportFrom, importer: str) -> Iterator[str]:
    """The modules an import statement loads (ours or not)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        package = importer if _is_package(importer) else importer.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        yield candidate if candidate in MODULES else base


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, with whether it runs when the module loads
    (True) or hides in a function, a class or a TYPE_CHECKING block."""
    def visit(node: ast.AST, loads: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, loads
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                    ast.ClassDef, ast.Lambda)):
                yield from visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), False)
                for stmt in child.orelse:
                    yield from visit(ast.Module(body=[stmt], type_ignores=[]), loads)
            else:
                yield from visit(child, loads)
    yield from visit(tree, True)


def _scan() -> tuple[dict[str, set[str]], set[str], dict[str, set[str]]]:
    """(module-level import graph among our modules, hidden imports of our
    modules as "importer -> imported", modules importing each third-party
    top-level name)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    hidden: set[str] = set()
    third_party: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        for node, loads in _imports(tree):
            for target in _targets(node, name):
                top = target.partition(".")[0]
                if top not in PACKAGES:
                    third_party.setdefault(top, set()).add(name)
                elif not loads:
                    hidden.add(f"{name} -> {target}")
                elif target in MODULES and target != name:
                    graph[name].add(target)
    return graph, hidden, third_party


GRAPH, HIDDEN, THIRD_PARTY = _scan()


def _cycle(graph: dict[str, set[str]], members: set[str]) -> list[str] | None:
    """One import circle among members, as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node] & members):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(members):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle(package: str) -> None:
    members = {name for name in MODULES if name.partition(".")[0] == package}
    circle = _cycle(GRAPH, members)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_cerulean_never_imports_neuro_compat() -> None:
    offenders = sorted(name for name, targets in GRAPH.items()
                       if name.startswith("cerulean")
                       and any(t.startswith("neuro_compat") for t in targets))
    offenders += sorted(entry for entry in HIDDEN if entry.startswith("cerulean")
                        and " -> neuro_compat" in entry)
    assert not offenders


@pytest.mark.parametrize("package", PACKAGES)
def test_no_hidden_imports_of_our_modules(package: str) -> None:
    found = {entry for entry in HIDDEN if entry.partition(".")[0] == package
             or entry.partition(" ")[0] == package}
    assert sorted(found) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_paramiko_only_where_ssh_is_spoken(package: str) -> None:
    allowed = PARAMIKO_ALLOWED[package]
    users = {name for name in THIRD_PARTY.get("paramiko", set())
             if name.partition(".")[0] == package}
    assert sorted(name for name in users if not any(
        name == prefix or (prefix.endswith(".") and name.startswith(prefix))
        for prefix in allowed)) == []


def test_neuro_compat_has_no_paramiko_allowance() -> None:
    # The rule above with an exception added would no longer be the rule:
    # what neuro_compat needs of SSH belongs in cerulean (issue 13).
    assert PARAMIKO_ALLOWED["neuro_compat"] == ()


def test_the_checker_sees_what_it_checks() -> None:
    # A checker that parsed nothing would pass every rule above.
    assert "cerulean.path" in MODULES and "cerulean._sftp.channel" in MODULES
    assert "cerulean._records" in GRAPH["cerulean.path"]
    assert "cerulean.path" in GRAPH["cerulean.file_system_impl"]
    assert "cerulean.ssh_terminal" in THIRD_PARTY["paramiko"]
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    import a\n"
                     "def f():\n    import b\n"
                     "import c\n")
    assert [(next(_targets(node, "x")), loads) for node, loads in _imports(tree)] == [
        ("typing", True), ("a", False), ("b", False), ("c", True)]
