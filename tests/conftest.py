"""Shared fixtures: real data paths, fresh workspaces, and a way to run the CLI in-process."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from kpconsole.session import Session, create_session

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
STACKEXCHANGE = SHARED_DATA / "stackexchange"
SE_SITES = sorted(p.name for p in STACKEXCHANGE.iterdir() if p.is_dir()) if STACKEXCHANGE.exists() else []
SAMPLE_DATA = REPO / "sample_data"


def qa_posts_of(folder: Path, dest: Path, *, texts: bool = True):
    """A Stack Exchange dump imported into ``dest`` (created) as routing's posts, with its
    answer and question bodies unless ``texts`` is false (titles and tags only)."""
    import polars as pl

    from engine.community.route_features import qa_posts
    from engine.data.stackexchange import import_dump

    dest.mkdir()
    import_dump(folder, dest)
    bodies = pl.scan_parquet(dest / "post_texts.parquet") if texts else None
    return qa_posts(pl.scan_parquet(dest / "items.parquet"), pl.scan_parquet(dest / "events.parquet"), bodies)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """No test reads the developer's own workspace or writes to their home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("KPCONSOLE_WORKSPACE", raising=False)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A fresh, initialised workspace folder."""
    root = tmp_path / "ws"
    create_session(root)
    return root


@pytest.fixture
def session(workspace) -> Session:
    return create_session(workspace)


def tree_state(root: Path) -> dict[str, str]:
    """Every file under ``root`` (except the SQLite files) with its SHA-256."""
    state = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("state.db"):
            state[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def run_cli(args: list[str], workspace: Path | None = None, env: dict | None = None):
    """Run ``kpconsole`` in a subprocess (exit codes and stderr exactly as a user sees them)."""
    import subprocess
    import sys

    full = [sys.executable, "-m", "kpconsole", *args]
    if workspace is not None:
        full[3:3] = ["--workspace", str(workspace)]
    run_env = {**os.environ, **(env or {})}
    return subprocess.run(full, capture_output=True, text=True, env=run_env, timeout=600)


_RUN_ENTRY = """
import json, sys
from kpconsole.entry import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
sys.stderr.write("\\nPROBE " + json.dumps({report}) + "\\n")
"""


def probe_entry(args, report: str, *, before: str = "", **run) -> tuple[dict, str]:
    """Run the executable (``kpconsole.entry.main``) on ``args`` in a fresh Python after the code
    ``before``; then the expression ``report`` (JSON-able; ``code`` is the exit code) and stderr."""
    import json
    import subprocess
    import sys

    script = before + _RUN_ENTRY.format(report=report)
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, **run)
    line = next(l for l in done.stderr.splitlines() if l.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE ")), done.stderr


def make_demo(root: Path) -> Path:
    """``kpconsole demo --reset`` into ``root``, in a fresh process as a person runs it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "kpconsole", "demo", "--workspace", str(root), "--reset"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return root


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def json(self):
        import json

        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys):
    """Run ``kpconsole ARGS`` in this process; returns exit code, stdout and stderr."""
    from kpconsole.cli import common, main

    def run(*args: str) -> CliResult:
        common.root_options.workspace = None
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture
def kp(cli, workspace):
    """``kpconsole --workspace <workspace> ARGS`` in this process, answering like :func:`run_cli`
    (``returncode``, ``stdout``, ``stderr``) without the start-up of a new interpreter."""
    import subprocess

    def run(args: list[str]) -> subprocess.CompletedProcess:
        result = cli("--workspace", str(workspace), *args)
        return subprocess.CompletedProcess(args, result.code, result.stdout, result.stderr)

    return run
