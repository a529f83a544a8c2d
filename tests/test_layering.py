"""The layers import one way (kpconsole → engine, kpconsole → store), only store/ has SQL, and no
module imports itself back through others (lazy imports inside functions included)."""

from __future__ import annotations

import ast

import pytest

from conftest import REPO


def imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level module names each file of ``package`` imports (absolute imports)."""
    found: dict[str, set[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("engine", {"store", "kpconsole", "sqlite3", "sqlite_utils", "textual", "typer"}),
     ("store", {"engine", "kpconsole", "textual", "typer", "torch"})],
)
def test_layer_does_not_import_forbidden_packages(package, forbidden):
    offenders = {f: sorted(names & forbidden) for f, names in imported_modules(package).items() if names & forbidden}
    assert offenders == {}


def test_sql_connections_live_only_in_store():
    for package in ("engine", "kpconsole"):
        for path, names in imported_modules(package).items():
            assert not names & {"sqlite3", "sqlite_utils"}, f"{path} talks to SQLite; only store/ may"


def test_layering_check_sees_a_violation(tmp_path, monkeypatch):
    """The check above can fail: a planted import is reported."""
    fake = tmp_path / "engine"
    fake.mkdir()
    (fake / "bad.py").write_text("from store.workspace import Workspace\n")
    monkeypatch.setattr("test_layering.REPO", tmp_path)
    assert imported_modules("engine") == {"engine/bad.py": {"store"}}


def module_graph(packages: tuple[str, ...] = ("kpconsole", "engine", "store")) -> dict[str, set[str]]:
    """Each module of ``packages`` → the modules of theirs it imports anywhere in its body
    (inside functions too, and ``importlib.import_module("…")`` with a literal name), except
    under ``if TYPE_CHECKING:``. ``from a import b`` names ``a.b`` when that is a module, else
    ``a`` (a package's own ``__init__`` importing a sibling is not a cycle by itself)."""
    paths = {}
    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node.test)
                       for child in node.body for n in ast.walk(child)}
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in paths)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


def test_no_module_imports_itself_back():
    assert import_cycles(module_graph()) == []


def test_the_cycle_check_sees_a_planted_cycle_through_a_lazy_import(tmp_path, monkeypatch):
    fake = tmp_path / "kpconsole"
    (fake / "ui").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "ui" / "__init__.py").write_text("")
    (fake / "a.py").write_text("from kpconsole.ui import b\n")
    (fake / "ui" / "b.py").write_text("def later():\n    from .c import go\n")
    (fake / "ui" / "c.py").write_text("def go():\n    import kpconsole.a\n")
    (fake / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kpconsole import a\n")
    monkeypatch.setattr("test_layering.REPO", tmp_path)
    graph = module_graph(("kpconsole",))
    assert graph["kpconsole.d"] == set()  # a type-only import is no edge
    assert import_cycles(graph) == [["kpconsole.a", "kpconsole.ui.b", "kpconsole.ui.c"]]


def test_the_console_reads_through_the_core_not_the_store_or_the_engine():
    """The TUI imports store/ and engine/ only for types (under ``if TYPE_CHECKING:``): a read
    there would skip the core's checks."""
    around = {module: sorted(m for m in imports if m.split(".")[0] in ("store", "engine"))
              for module, imports in module_graph().items() if module.startswith("kpconsole.tui")}
    assert {m: found for m, found in around.items() if found} == {}
