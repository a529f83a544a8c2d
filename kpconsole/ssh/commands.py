"""What a person who came in over SSH may run, and running it as them.

Both ways in (OpenSSH's forced command and the built-in server's session process) end here
with an :class:`~kpconsole.identity.Actor` and the command text the client sent:

* no command and a terminal → the console (TUI) as that person;
* no command and no terminal → a one-line hint, exit 2;
* a command → split with :func:`shlex.split` (never a shell), checked against
  :data:`ALLOWED` (top-level groups; hidden ``_…`` sub-commands and ``--workspace``/``-w``
  refused: the workspace is fixed by whoever set up the entry), then run in this process
  through the normal CLI, so the same role checks and audit apply and the exit status is the
  CLI's own (0 ok, 1 failure or refused by role, 2 usage or not allowed over SSH).

The CLI is handed in (:data:`CommandLine`, :func:`kpconsole.cli.main`) by whoever starts the
way in, so this package never imports the CLI that starts it (``serve-ssh`` is a CLI command).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from kpconsole import access, exit_codes
from kpconsole.failure_lines import one_line
from kpconsole.identity import Actor
from kpconsole.session import Session
from store import audit
from store.workspace import Workspace

CommandLine = Callable[[list[str]], object]
"""Runs a ``kpconsole`` command line in this process, ending in ``SystemExit`` with its status."""

ALLOWED = ("data", "model", "recommend", "segment", "value", "community", "route", "sim", "jobs", "audit", "access")
HINT = (
    "kpconsole: no command and no terminal: use `ssh -t …` for the console, "
    "or give a command, e.g. `ssh … data list`"
)


class NotAllowed(Exception):
    """A command that may not run over SSH; the message is for the person."""


def parse_command(text: str) -> list[str]:
    """The argument list of ``text`` (a leading ``kpconsole`` is dropped)."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise NotAllowed(f"cannot parse the command ({exc})") from None
    if argv and Path(argv[0]).name == "kpconsole":
        argv = argv[1:]
    return argv


def check_allowed(argv: list[str]) -> None:
    """Refuse what may not run over SSH (see the module docstring)."""
    if not argv or argv[0] in ("-h", "--help"):
        return
    if argv[0] not in ALLOWED:
        raise NotAllowed(f"'{argv[0]}' is not available over SSH (available: {', '.join(ALLOWED)})")
    if len(argv) > 1 and argv[1].startswith("_"):
        raise NotAllowed(f"'{argv[0]} {argv[1]}' is not available over SSH")
    for arg in argv[1:]:
        if arg == "--":
            break
        if arg.startswith("--workspace") or (arg.startswith("-") and not arg.startswith("--") and "w" in arg[1:]):
            raise NotAllowed(
                f"{arg!r}: the workspace is fixed for SSH logins; -w/--workspace may not be given "
                "(write other short options separately)"
            )


def run_command_as(actor: Actor, ws_root: Path, argv: list[str], run_cli: CommandLine) -> int:
    """Run ``kpconsole ARGV`` through ``run_cli`` as ``actor`` on ``ws_root``; the exit status."""
    with access.acting_as(actor, ws_root):
        try:
            run_cli(["--workspace", str(ws_root), *argv])
        except SystemExit as exc:
            return exit_status(exc.code)
    return exit_codes.OK


def exit_status(code: object) -> int:
    """A ``SystemExit`` code as a process exit status."""
    if code is None:
        return exit_codes.OK
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return exit_codes.FAILURE


def run_console_as(actor: Actor, ws_root: Path, *, mouse: bool = True) -> int:
    """Open the TUI as ``actor``; returns the exit status."""
    if os.environ.get("TERM", "") in ("", "dumb"):
        sys.stderr.write("kpconsole: the console needs a real terminal type (TERM is dumb or unset)\n")
        return exit_codes.USAGE
    try:
        from kpconsole.tui.app import run_console
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("kpconsole.tui"):
            raise
        sys.stderr.write("kpconsole: the console is not available in this installation; give a command "
                         "instead, e.g. `ssh … data list`\n")
        return exit_codes.FAILURE
    with access.acting_as(actor, ws_root):
        run_console(Session(Workspace.open(ws_root), actor), mouse=mouse)
    return exit_codes.OK


def audit_refusal(ws: Workspace, actor: Actor | None, action: str, detail: str, *, ssh_key: str | None = None,
                  remote_addr: str | None = None, person: str | None = None, target: str | None = None,
                  params: dict | None = None) -> None:
    """Record a refused SSH login or command (no Session: the person may be unknown)."""
    audit.record(
        ws, actor=actor.name if actor else (person or "?"), role=str(actor.role) if actor else None,
        os_user=actor.os_user if actor else None, ssh_key=actor.ssh_key if actor else ssh_key,
        remote_addr=actor.remote_addr if actor else remote_addr, action=action, target=target,
        params=params, outcome="refused", detail=detail,
    )


def audit_login(ws: Workspace, actor: Actor, how: str) -> None:
    """Record a successful SSH login (``how``: ``openssh`` or ``serve-ssh``, console or command)."""
    audit.record(ws, actor=actor.name, role=str(actor.role), os_user=actor.os_user, ssh_key=actor.ssh_key,
                 remote_addr=actor.remote_addr, action="ssh.login", target=how, outcome="ok")


def dispatch(actor: Actor, ws: Workspace, command: str, *, has_terminal: bool, run_cli: CommandLine) -> int:
    """Run what an SSH client asked for as ``actor``: the console, a hint, or a CLI command."""
    if not command.strip():
        if not has_terminal:
            sys.stderr.write(HINT + "\n")
            return exit_codes.USAGE
        return run_console_as(actor, ws.root)
    try:
        argv = parse_command(command)
        check_allowed(argv)
    except NotAllowed as exc:
        audit_refusal(ws, actor, "ssh.exec", str(exc), target=command[:200])
        sys.stderr.write(f"kpconsole: {one_line(exc)}\n")
        return exit_codes.USAGE
    return run_command_as(actor, ws.root, argv, run_cli)
