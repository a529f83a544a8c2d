"""The executable: a line of only the console's options opens the console without the CLI's
parser (typer, Click, Rich — about 0.1 s of the start a person watches); every other line is the
CLI's, with the same one-line failures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import probe_entry

from kpconsole.entry import console_options

LOADED = '{"code": code, "loaded": [m for m in ("typer", "click", "rich", "kpconsole.cli") if m in sys.modules]}'


def probe(*args: str, env: dict[str, str] | None = None) -> tuple[dict, str]:
    return probe_entry(args, LOADED, check=False, stdin=subprocess.DEVNULL, timeout=120, env=env)


@pytest.mark.parametrize(("argv", "expected"), [
    ([], (None, True)),
    (["-w", "ws"], (Path("ws"), True)),
    (["--workspace", "ws", "--no-mouse"], (Path("ws"), False)),
    (["--no-mouse", "--workspace=ws"], (Path("ws"), False)),
    (["data", "list"], None),
    (["tui"], None),
    (["--help"], None),
    (["-w"], None),                     # the CLI words the missing value
    (["-w", "--no-mouse"], None),
    (["--workspace="], None),
    (["-w", "ws", "model", "list"], None),
])
def test_only_the_consoles_own_options_open_it_directly(argv, expected):
    assert console_options(argv) == expected


def test_the_console_starts_without_the_cli_parser_and_words_a_missing_terminal(tmp_path):
    result, stderr = probe("--workspace", str(tmp_path / "ws"))
    assert result == {"code": 2, "loaded": []}
    assert "kpconsole: the console needs a terminal (use `ssh -t HOST kpconsole`)" in stderr
    assert "Traceback" not in stderr


def test_a_command_line_goes_through_the_cli(tmp_path):
    result, stderr = probe("--workspace", str(tmp_path / "nothing"), "data", "list")
    assert result["code"] == 1 and "kpconsole.cli" in result["loaded"]
    assert f"kpconsole: no workspace at {tmp_path / 'nothing'}" in stderr


def test_shell_completion_is_the_clis_even_with_no_words(tmp_path):
    import os

    env = {**os.environ, "_KPCONSOLE_COMPLETE": "complete_bash", "COMP_WORDS": "kpconsole da", "COMP_CWORD": "1"}
    result, _ = probe(env=env)
    assert "kpconsole.cli" in result["loaded"]
