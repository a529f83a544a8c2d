"""The ``kpconsole`` executable: the console when the line names no command, else the CLI.

Opening the console is the start a person watches. A line of only the console's own options
(``-w W``, ``--workspace=W``, ``--no-mouse``) opens it without loading the CLI's parser (typer,
Click and Rich: about 0.1 s of a 0.6 s start, see bench/tui.py); every other line, ``--help``
and shell completion included, goes to :func:`kpconsole.cli.main`. Failures are reported alike
either way (:func:`kpconsole.failure_lines.one_line_errors`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from kpconsole.shell_completion import completing


def console_options(argv: Sequence[str]) -> tuple[Path | None, bool] | None:
    """``(workspace, mouse)`` when ``argv`` holds only the console's options, else ``None``.

    >>> console_options(["-w", "ws", "--no-mouse"]), console_options([])
    ((PosixPath('ws'), False), (None, True))
    >>> console_options(["--workspace=ws"]), console_options(["data", "list"]), console_options(["-w"])
    ((PosixPath('ws'), True), None, None)
    """
    workspace: Path | None = None
    mouse = True
    words = iter(argv)
    for word in words:
        if word in ("-w", "--workspace"):
            value = next(words, None)
            if value is None or value.startswith("-"):
                return None  # the CLI words the usage error
            workspace = Path(value)
        elif word.startswith("--workspace=") and len(word) > len("--workspace="):
            workspace = Path(word.removeprefix("--workspace="))
        elif word == "--no-mouse":
            mouse = False
        else:
            return None
    return workspace, mouse


def main(argv: list[str] | None = None) -> None:
    """Open the console, or run the command line through the CLI."""
    args = sys.argv[1:] if argv is None else list(argv)
    options = None if completing() else console_options(args)
    if options is None:
        from kpconsole.cli import main as cli_main

        cli_main(args)
        return
    from kpconsole.failure_lines import one_line_errors
    from kpconsole.tui.launch import open_console

    workspace, mouse = options
    with one_line_errors(lambda: workspace):
        open_console(workspace, mouse=mouse)
