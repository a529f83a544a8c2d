"""Messages raised below the front ends name fields, never CLI syntax: a console user is not told
about flags they never typed. engine/, store/ and kpconsole's core (all but cli/ and tui/)
raise :class:`~kpconsole.errors.InvalidField` with ``{field}`` in the message (the CLI words it
as its flag, the console as the field's words) and say what to do as a :class:`~store.errors.Remedy`
(the CLI words it as a command line, the console as the screen to go to)."""

from __future__ import annotations

import ast
import re
from collections import Counter

import pytest

from conftest import REPO
from kpconsole.cli import flag
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import InvalidField

#: The front ends, whose messages may speak their own syntax: the command line, the console, and
#: the SSH forced command (it parses the command line a login sends, so it names its options).
FRONT_ENDS = ("kpconsole/cli/", "kpconsole/tui/", "kpconsole/ssh/commands.py")

#: ``kpconsole`` followed by one of its commands: a command line in a message (the product's
#: name after an article, "not a kpconsole model", is not CLI syntax).
COMMAND = re.compile(r"(?<!\ba )kpconsole (?:" + "|".join(
    [*GROUPS, "init", "demo", "tui", "audit", "recommend", "serve-ssh", "ssh-entry", "refresh"]) + r")\b")


def cli_syntax_in_raised_messages(root=REPO) -> Counter:
    """How many ``raise`` statements per core file carry ``--`` or a ``kpconsole`` command."""
    found: Counter = Counter()
    paths = [p for package in ("engine", "store", "kpconsole") for p in (root / package).rglob("*.py")]
    for path in paths:
        relative = path.relative_to(root).as_posix()
        if relative.startswith(FRONT_ENDS):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                text = " ".join(c.value for c in ast.walk(node.exc) if isinstance(c, ast.Constant) and isinstance(c.value, str))
                if "--" in text or COMMAND.search(text):
                    found[relative] += 1
    return found


def test_no_message_below_the_front_ends_speaks_cli_syntax():
    assert cli_syntax_in_raised_messages() == Counter(), "messages naming flags or commands below the front ends"


def test_the_check_sees_a_flag_in_a_planted_message(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "bad.py").write_text(
        'def f(x):\n    raise ValueError(f"--k {x}: too small")\n'
        'def g(x):\n    raise ValueError(f"run kpconsole model list first")\n'
        'def h(x):\n    raise ValueError(f"{x} is not a kpconsole model")\n')
    assert cli_syntax_in_raised_messages(tmp_path) == Counter({"engine/bad.py": 2})


@pytest.mark.parametrize(("field", "cli", "console"), [
    ("test_ratio", "--test-ratio 1.5: must be between 0 and 1", "test ratio 1.5: must be between 0 and 1"),
    ("ks", "--k 0: every k must be at least 1", "ks 0: every k must be at least 1"),
])
def test_each_front_end_words_the_field_its_own_way(field, cli, console):
    error = InvalidField("{" + field + "} " + cli.split(" ", 2)[1] + " " + cli.split(" ", 2)[2], field)
    assert error.worded(flag) == cli and str(error) == console


def test_the_command_line_and_the_console_word_the_same_error(workspace, cli):
    from kpconsole.services.model_requests import TrainRequest

    with pytest.raises(InvalidField) as raised:
        TrainRequest(data="x", algo="als", test_ratio=1.5)
    assert str(raised.value) == "test ratio 1.5: must be between 0 and 1"
    result = cli("--workspace", str(workspace), "model", "train", "--data", "x", "--algo", "als", "--test-ratio", "1.5")
    assert result.code == 1 and result.stderr == "kpconsole: --test-ratio 1.5: must be between 0 and 1\n"


def test_a_remedy_is_a_command_line_on_the_command_line_and_a_screen_in_the_console(workspace, cli):
    from kpconsole.tui.failures import one_line
    from store.errors import NotFound, Remedy

    error = NotFound("no model 99", Remedy("list them with", "model list"))
    assert str(error) == "no model 99 (list them with: model list)"
    assert one_line(error) == "no model 99 (see the Models screen, key 3)"
    result = cli("--workspace", str(workspace), "model", "show", "99")
    assert result.code == 1 and result.stderr == "kpconsole: no model 99 (train one with: kpconsole model train --data NAME)\n"
