"""Opening the console from a command line: check for a terminal, open the workspace, run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kpconsole.errors import NoTerminal


def open_console(workspace: Path | None, *, mouse: bool = True) -> None:
    """Run the console on this terminal over the workspace ``workspace`` names (or the default);
    :class:`~kpconsole.errors.NoTerminal` when stdin or stdout is not a terminal (or TERM=dumb)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TERM", "") == "dumb":
        raise NoTerminal("the console needs a terminal (use `ssh -t HOST kpconsole`), or give a command: kpconsole --help")
    from kpconsole.session import open_session
    from kpconsole.tui.app import run_console

    run_console(open_session(workspace), mouse=mouse)
