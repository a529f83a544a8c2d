"""Shell completion: sub-commands, options, and the workspace's own names, as bash, zsh and fish
ask for them (the environment Typer's completion scripts set), through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import make_demo

from kpconsole.cli.read_commands import HEAVY_MODULES

REPORT_HEAVY = f"""
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("HEAVY " + json.dumps(sorted(m for m in {list(HEAVY_MODULES)!r} if m in sys.modules)) + "\\n"))
from kpconsole.cli import main
main([])
"""


def complete(line: str, shell: str = "bash") -> tuple[list[str], list[str]]:
    """What kpconsole offers for the last word of ``line``, and the heavy modules it loaded."""
    env = {**os.environ, "_KPCONSOLE_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        words = line.split(" ")
        env |= {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    else:  # fish also says what it wants: the candidates
        env |= {"_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_WORD_TO_COMPLETE": line.split(" ")[-1],
                "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    done = subprocess.run([sys.executable, "-c", REPORT_HEAVY], capture_output=True, text=True, env=env, timeout=120)
    heavy = next(json.loads(l[6:]) for l in done.stderr.splitlines() if l.startswith("HEAVY "))
    return done.stdout.split("\n"), heavy


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo(tmp_path_factory.mktemp("completion") / "demo")


def test_groups_commands_and_options_complete_without_a_workspace(tmp_path):
    offered, heavy = complete("kpconsole mo")
    assert offered[:1] == ["model"] and heavy == []
    offered, _ = complete("kpconsole model ")
    assert {"train", "list", "show", "evaluate", "compare", "update"} <= set(offered)
    offered, _ = complete("kpconsole model train --")
    assert {"--data", "--algo", "--epochs", "--json"} <= set(offered)
    offered, _ = complete(f"kpconsole -w {tmp_path / 'none'} data show ")  # no workspace there: nothing, no error
    assert [o for o in offered if o] == []


@pytest.mark.slow
def test_names_and_ids_come_from_the_workspace_the_line_names(demo):
    offered, heavy = complete(f"kpconsole -w {demo} data show p")
    assert offered[:1] == ["platform"] and heavy == []
    offered, heavy = complete(f"kpconsole model show --workspace {demo} ")
    assert {"1", "2"} <= set(offered) and heavy == []
    offered, _ = complete(f"kpconsole -w {demo} model train --data ")
    assert {"platform", "qc"} <= set(offered)
    for line in (f"kpconsole -w {demo} sim show ", f"kpconsole -w {demo} jobs logs ", f"kpconsole -w {demo} value show ",
                 f"kpconsole -w {demo} segment show "):
        offered, heavy = complete(line)
        assert {"1", "2"} <= set(offered) and heavy == [], line


@pytest.mark.slow
def test_zsh_and_fish_get_each_id_with_what_it_is(demo):
    offered, _ = complete(f"kpconsole -w {demo} model show ", "zsh")
    text = "\n".join(offered)
    assert '"1":"als on platform"' in text and '"2":"itemknn on platform"' in text
    offered, _ = complete(f"kpconsole -w {demo} model show ", "fish")
    assert "1\tals on platform" in offered


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script_that_calls_back_into_kpconsole(shell):
    done = subprocess.run([sys.executable, "-m", "kpconsole", "--show-completion", shell], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "_KPCONSOLE_COMPLETE" in done.stdout
