"""The ``kpconsole`` command: one sub-command group per area, the TUI when given no arguments."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from kpconsole import exit_codes
from kpconsole.cli import audit as audit_cli
from kpconsole.cli import common, demo, workspace
from kpconsole.cli import recommend as recommend_cli
from kpconsole.cli import refresh as refresh_cli
from kpconsole.cli import ssh as ssh_cli
from kpconsole.cli import tui as tui_cli
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import USER_ERRORS
from kpconsole.failure_lines import one_line_errors
from kpconsole.shell_completion import completed_words

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
refresh_cli.register(app)
ssh_cli.register(app, run_cli=lambda argv: main(argv))

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
    from kpconsole.tui.launch import open_console

    open_console(workspace_opt, mouse=not no_mouse)


#: Request fields named otherwise than the parameter that sets them.
PARAMETER_OF = {"ks": "k", "weights": "weight", "params": "param", "body": "body_file", "question": "question_id"}


def flag(field: str, command: Any = None) -> str:
    """How the command line names a request field: the option or argument of ``command`` that
    sets it (``--test-ratio``, ``-k``, ``QUESTION_ID``), else ``--`` and the field with dashes."""
    name = PARAMETER_OF.get(field, field)
    for param in command.params if command is not None else ():
        if param.name == name:
            if param.param_type_name == "argument":
                return param.metavar or param.name.upper()
            return max(param.opts, key=lambda opt: (opt.startswith("--"), -len(opt)))
    return "--" + name.replace("_", "-")


def running_command(args: list[str]) -> Any:
    """The (sub-)command ``args`` runs, found as Click finds it, or ``None`` (best effort: it
    only chooses the words of a message)."""
    try:
        command = typer.main.get_command(app)
        ctx = command.make_context("kpconsole", list(args), resilient_parsing=True)
        while hasattr(command, "resolve_command"):  # a group
            rest = [*getattr(ctx, "protected_args", getattr(ctx, "_protected_args", [])), *ctx.args]
            name, sub, rest = command.resolve_command(ctx, rest)
            if sub is None:
                break
            ctx = sub.make_context(name, rest, parent=ctx, resilient_parsing=True)
            command = sub
        return command
    except Exception:  # noqa: BLE001 — a line that does not parse names no command
        return None


def main(argv: list[str] | None = None) -> None:
    """Run a command line: errors are one line on stderr (exit 2 for usage, 1 otherwise); bugs
    are logged to the workspace, never shown as a traceback (it may hold secrets)."""
    args = sys.argv[1:] if argv is None else list(argv)
    common.root_options.workspace = None  # a command run in the same process before (over SSH) set it
    with one_line_errors(lambda: common.root_options.workspace):
        try:
            code = load_groups(invoked_group(completed_words() or args))(args=args, prog_name="kpconsole",
                                                                         standalone_mode=False)
        except typer.TyperException as exc:  # usage errors (bad option, missing argument, …)
            sys.stderr.write(f"kpconsole: {_usage_line(exc)}\n")
            sys.exit(getattr(exc, "exit_code", exit_codes.USAGE))
        except typer.Abort:
            sys.stderr.write("kpconsole: aborted\n")
            sys.exit(exit_codes.FAILURE)
        except USER_ERRORS as exc:  # the core names its fields; the command line names its flags
            if not hasattr(exc, "worded"):
                raise
            command = running_command(args)
            sys.stderr.write(f"kpconsole: {exc.worded(lambda field: flag(field, command)).splitlines()[0]}\n")
            sys.exit(exit_codes.FAILURE)
    sys.exit(code if isinstance(code, int) else exit_codes.OK)


def _usage_line(exc: typer.TyperException) -> str:
    """``kpconsole data synth: invalid value for OUT: … (see: kpconsole data synth --help)``."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "kpconsole"
    return f"{path.removeprefix('kpconsole').strip() + ': ' if path != 'kpconsole' else ''}{message} (see: {path} --help)"
