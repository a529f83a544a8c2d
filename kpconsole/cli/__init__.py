"""The ``kpconsole`` command: one sub-command group per area, the TUI when given no arguments."""

from __future__ import annotations

import importlib
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from kpconsole import exit_codes
from kpconsole.cli import audit as audit_cli
from kpconsole.cli import common, demo, workspace
from kpconsole.cli import recommend as recommend_cli
from kpconsole.cli import ssh as ssh_cli
from kpconsole.cli import tui as tui_cli
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import USER_ERRORS
from kpconsole.session import resolve_workspace

app = typer.Typer(
    name="kpconsole",
    help="Operations console for a knowledge platform: data, recommenders, segments, value, community, simulation.",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
recommend_cli.register(app)
workspace.register(app)
demo.register(app)
tui_cli.register(app)
audit_cli.register(app)
ssh_cli.register(app)

ROOT_OPTIONS_WITH_VALUE = ("--workspace", "-w")


def invoked_group(argv: Sequence[str]) -> str | None:
    """The command group ``argv`` names (``data`` in ``-w W data list``), if any.

    >>> invoked_group(["--workspace", "data", "model", "list"]), invoked_group(["--help"])
    ('model', None)
    """
    words = iter(argv)
    for word in words:
        if word in ROOT_OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word if word in GROUPS else None
    return None


COMPLETE_VAR = "_KPCONSOLE_COMPLETE"


def completed_words() -> list[str]:
    """While the shell completes a word, the line it completes (without ``kpconsole``): bash
    passes it in ``COMP_WORDS``, zsh and fish in ``_TYPER_COMPLETE_ARGS``; else ``[]``."""
    if not os.environ.get(COMPLETE_VAR):
        return []
    line = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS", "")
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote in the word being typed
        words = line.split()
    return words[1:]


def load_groups(group: str | None) -> typer.Typer:
    """:data:`app` with its command groups: ``group`` (the one being run) with its commands,
    every other one by name and help only. A group's module, and what it imports, loads only
    when that group runs, so ``kpconsole model list`` does not pay for ``sim``'s imports."""
    app.registered_groups.clear()
    for name, spec in GROUPS.items():
        sub = importlib.import_module(spec.module).app if name == group else typer.Typer(help=spec.help)
        app.add_typer(sub, name=name)
    return app


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    workspace_opt: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace folder for every command (or set $KPCONSOLE_WORKSPACE).",
                     show_default=False),
    ] = None,
    no_mouse: Annotated[bool, typer.Option("--no-mouse", help="Console: keyboard only.")] = False,
) -> None:
    """With no command, open the console (needs a terminal: use `ssh -t`, or give a command)."""
    common.root_options.workspace = workspace_opt
    if ctx.invoked_subcommand is not None:
        return
    launch_tui(workspace_opt, mouse=not no_mouse)


def launch_tui(workspace_opt: Path | None, *, mouse: bool = True) -> None:
    """Open the Textual console when stdin and stdout are terminals; else a hint and exit 2."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TERM", "") == "dumb":
        sys.stderr.write(
            "kpconsole: the console needs a terminal (use `ssh -t HOST kpconsole`), or give a command: kpconsole --help\n"
        )
        raise typer.Exit(exit_codes.USAGE)
    from kpconsole.tui.app import run_console

    run_console(common.session(workspace_opt), mouse=mouse)


def _log_internal_error() -> Path | None:
    """Write the traceback to the workspace's logs/errors.log (or the user's cache); return where."""
    try:
        root = resolve_workspace(common.root_options.workspace)
        folder = root / "logs" if (root / "logs").is_dir() else Path.home() / ".cache" / "kpconsole"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "errors.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(traceback.format_exc() + "\n")
        return path
    except OSError:
        return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors are one line on stderr (exit 2 for usage, 1 otherwise); bugs are
    logged to the workspace, never shown as a traceback (it may hold secrets)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = load_groups(invoked_group(completed_words() or args))(args=args, prog_name="kpconsole",
                                                                     standalone_mode=False)
    except typer.TyperException as exc:  # usage errors (bad option, missing argument, …)
        sys.stderr.write(f"kpconsole: {_usage_line(exc)}\n")
        sys.exit(getattr(exc, "exit_code", exit_codes.USAGE))
    except typer.Abort:
        sys.stderr.write("kpconsole: aborted\n")
        sys.exit(exit_codes.FAILURE)
    except KeyboardInterrupt:
        sys.stderr.write("kpconsole: interrupted\n")
        sys.exit(130)
    except USER_ERRORS as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"kpconsole: {message}\n")
        sys.exit(exit_codes.FAILURE)
    except Exception as exc:
        where = _log_internal_error()
        sys.stderr.write(
            f"kpconsole: internal error ({type(exc).__name__}); details in {where or 'no log (unwritable)'}\n"
        )
        sys.exit(exit_codes.FAILURE)
    sys.exit(code if isinstance(code, int) else exit_codes.OK)


def _usage_line(exc: typer.TyperException) -> str:
    """``kpconsole data synth: invalid value for OUT: … (see: kpconsole data synth --help)``."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "kpconsole"
    return f"{path.removeprefix('kpconsole').strip() + ': ' if path != 'kpconsole' else ''}{message} (see: {path} --help)"
