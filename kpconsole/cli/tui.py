"""``kpconsole tui``: open the console (the same as ``kpconsole`` with no command)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from kpconsole.cli import common
from kpconsole.tui.themes import THEMES


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


def tui(
    workspace: common.WorkspaceOpt = None,
    no_mouse: Annotated[bool, typer.Option("--no-mouse", help="Keyboard only: leave the mouse to the terminal.")] = False,
    theme: Annotated[str | None, typer.Option(
        "--theme", help="ansi-dark, ansi-light, textual-dark or textual-light [default: $KPCONSOLE_THEME, else "
                        "textual-dark on truecolor terminals, ansi-dark elsewhere]", show_default=False)] = None,
) -> None:
    """Open the console on this terminal (needs one: use `ssh -t HOST kpconsole tui`)."""
    from kpconsole.tui.launch import open_console

    if theme is not None:
        if theme not in THEMES:
            raise typer.BadParameter(f"{theme!r} is not one of {', '.join(THEMES)}", param_hint="--theme")
        os.environ["KPCONSOLE_THEME"] = theme
    common.root_options.workspace = common.workspace_path(workspace)
    open_console(common.root_options.workspace, mouse=not no_mouse)
