"""The workspace store: layout, SQLite settings, migrations, refusal of newer workspaces."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import tree_state
from store import migrations
from store.errors import WorkspaceMissing, WorkspaceTooNew
from store.workspace import Workspace


def test_init_creates_folders_and_database_with_safe_settings(tmp_path, cli):
    root = tmp_path / "w"
    result = cli("init", "--workspace", str(root), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["created"] is True
    for folder in ("data", "models", "logs"):
        assert (root / folder).is_dir()
    ws = Workspace.open(root)
    assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ws.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert ws.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5_000
    assert ws.schema_version == migrations.latest()
    tables = set(ws.db.table_names())
    assert {"datasets", "jobs", "audit"} <= tables


def test_init_twice_is_harmless(tmp_path, cli):
    root = tmp_path / "w"
    assert cli("init", "-w", str(root)).code == 0
    again = cli("init", "-w", str(root), "--json")
    assert again.code == 0 and again.json()["created"] is False


def test_workspace_from_environment_variable(tmp_path, cli, monkeypatch):
    root = tmp_path / "from-env"
    monkeypatch.setenv("KPCONSOLE_WORKSPACE", str(root))
    assert cli("init").code == 0
    assert (root / "state.db").exists()


def test_default_workspace_is_per_user_xdg_path(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cli("init").code == 0
    assert (tmp_path / "xdg" / "kpconsole" / "workspace" / "state.db").exists()


def test_opening_an_older_workspace_upgrades_it(tmp_path):
    root = tmp_path / "old"
    (root / "data").mkdir(parents=True)
    conn = sqlite3.connect(root / "state.db")
    first_version, _name, first_up = migrations.discover()[0]
    conn.isolation_level = None
    conn.execute("BEGIN")
    first_up(conn)
    conn.execute(f"PRAGMA user_version = {first_version}")
    conn.execute("COMMIT")
    conn.close()
    ws = Workspace.open(root)
    assert ws.schema_version == migrations.latest()
    assert "datasets" in ws.db.table_names()


def test_a_newer_workspace_is_refused_and_left_alone(workspace, cli):
    ws = Workspace.open(workspace)
    ws.conn.execute("PRAGMA user_version = 9999")
    ws.close()
    before = tree_state(workspace)
    with pytest.raises(WorkspaceTooNew, match="newer than this kpconsole"):
        Workspace.open(workspace)
    result = cli("data", "list", "-w", str(workspace))
    assert result.code == 1
    assert result.stderr.count("\n") == 1 and "schema version 9999" in result.stderr
    assert tree_state(workspace) == before
    conn = sqlite3.connect(workspace / "state.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 9999


def test_missing_workspace_names_the_fix(tmp_path, cli):
    result = cli("data", "list", "-w", str(tmp_path / "nowhere"))
    assert result.code == 1
    assert "kpconsole init --workspace" in result.stderr
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(WorkspaceMissing):
        Workspace.open(tmp_path / "nowhere")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path, cli):
    root = tmp_path / "junk"
    root.mkdir()
    (root / "state.db").write_bytes(b"this is not sqlite" * 100)
    result = cli("data", "list", "-w", str(root))
    assert result.code == 1 and "not a kpconsole database" in result.stderr


def test_transaction_rolls_back_everything_on_error(workspace):
    ws = Workspace.open(workspace)
    with pytest.raises(RuntimeError):
        with ws.transaction() as conn:
            conn.execute(
                "INSERT INTO jobs (kind, params, status, started_by, created_at) VALUES ('x', '{}', 'queued', 'me', 'now')"
            )
            raise RuntimeError("boom")
    assert ws.conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0


def test_a_migration_numbered_below_one_already_applied_still_runs(tmp_path, monkeypatch):
    """Migrations are tracked one by one, not only by the highest number."""
    root = tmp_path / "w"
    known = migrations.discover()
    first, last = known[0], known[-1]
    monkeypatch.setattr(migrations, "discover", lambda: [first, last])
    Workspace.create(root).close()
    ran = []

    def late_up(conn):
        ran.append(True)
        conn.execute("CREATE TABLE late_feature (id INTEGER PRIMARY KEY)")

    middle = (first[0] + 1, "m_late_feature", late_up)
    assert middle[0] < last[0]
    monkeypatch.setattr(migrations, "discover", lambda: [first, middle, last])
    ws = Workspace.open(root)
    assert ran == [True] and "late_feature" in ws.db.table_names()
    assert ws.schema_version == last[0]
    Workspace.open(root)
    assert ran == [True]  # applied once
