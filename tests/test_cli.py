"""The command line as a person meets it: help, the TUI rule, JSON, errors without tracebacks."""

from __future__ import annotations

import json

from conftest import run_cli


def test_python_dash_m_and_help():
    result = run_cli(["--help"])
    assert result.returncode == 0 and "data" in result.stdout and "demo" in result.stdout


def test_no_arguments_without_a_terminal_gives_a_hint_and_exit_2(workspace):
    result = run_cli([], workspace)
    assert result.returncode == 2
    assert "ssh -t" in result.stderr and result.stderr.count("\n") == 1


def test_dumb_terminal_is_refused_too(workspace):
    result = run_cli([], workspace, env={"TERM": "dumb"})
    assert result.returncode == 2


def test_usage_error_is_one_line_with_exit_2(cli, workspace):
    result = cli("data", "ingest", "-w", str(workspace))
    assert result.code == 2 and result.stderr.count("\n") == 1 and "Missing argument" in result.stderr


def test_json_goes_to_stdout_and_nothing_else(cli, workspace):
    result = cli("data", "list", "-w", str(workspace), "--json")
    assert result.code == 0 and json.loads(result.stdout) == [] and result.stderr == ""


def test_internal_errors_are_logged_not_shown(cli, workspace, monkeypatch):
    from kpconsole.services import datasets

    def broken(session):
        secret = "hunter2"  # a local variable a traceback with locals would leak
        raise RuntimeError(f"bug near {len(secret)}")

    monkeypatch.setattr(datasets, "list_datasets", broken)
    result = cli("data", "list", "-w", str(workspace))
    assert result.code == 1
    assert "internal error (RuntimeError)" in result.stderr and "hunter2" not in result.stderr
    log = (workspace / "logs" / "errors.log").read_text()
    assert "RuntimeError: bug near 7" in log
