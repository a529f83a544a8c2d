"""The layers import one way (kpconsole → engine, kpconsole → store), and only store/ has SQL."""

from __future__ import annotations

import ast
from pathlib import Path

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
