"""The process behind one session of the built-in SSH server (``kpconsole serve-ssh``).

``python -m kpconsole.ssh.child --workspace WS --ticket-fd N [--command TEXT]``

The server starts one such process per session — on a fresh pseudo-terminal for an
interactive login or ``ssh -t``, on pipes otherwise — in a new session of its own, so that it
can end the process group when the connection closes while detached jobs (their own sessions)
go on. The person it acts as comes only from the one-time ticket read from fd ``N`` (see
:mod:`kpconsole.ssh.tickets`); then :func:`kpconsole.ssh.commands.dispatch` runs the console or
the command.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import termios
import traceback

from kpconsole import access, exit_codes
from kpconsole.failure_lines import one_line
from kpconsole.errors import USER_ERRORS
from kpconsole.ssh import commands, tickets
from store.workspace import Workspace


def _take_terminal() -> None:
    """Make our pseudo-terminal the controlling terminal (so resizes send us SIGWINCH)."""
    if os.isatty(0):
        try:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        except OSError:
            pass


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kpconsole.ssh.child", add_help=False)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--ticket-fd", type=int, required=True)
    parser.add_argument("--command", default="")
    return parser.parse_args(argv)


def serve(argv: list[str]) -> int:
    """Redeem the ticket and run what the client asked for; returns the exit status."""
    args = _parse(argv)
    token = tickets.read_token(args.ticket_fd)
    _take_terminal()
    ws = Workspace.open(args.workspace)
    ticket = tickets.redeem(ws, token)
    if ticket is None:
        commands.audit_refusal(ws, None, "ssh.session", "invalid, used or expired session ticket")
        sys.stderr.write("kpconsole: no valid session ticket (sessions are started by kpconsole serve-ssh)\n")
        return exit_codes.FAILURE
    try:
        actor = access.actor_for_person(ws, ticket.person, ssh_key=ticket.ssh_key, remote_addr=ticket.remote_addr)
    except USER_ERRORS as exc:
        commands.audit_refusal(ws, None, "ssh.session", str(exc), ssh_key=ticket.ssh_key,
                               remote_addr=ticket.remote_addr, person=ticket.person)
        sys.stderr.write(f"kpconsole: {one_line(exc)}\n")
        return exit_codes.FAILURE
    # the CLI loads only once the ticket is good: a refused session never pays for it
    from kpconsole.cli import main as run_cli

    return commands.dispatch(actor, ws, args.command, has_terminal=os.isatty(0) and os.isatty(1), run_cli=run_cli)


def main(argv: list[str]) -> int:
    """:func:`serve` with user errors as one line and bugs logged to the workspace, not shown."""
    try:
        return serve(argv)
    except USER_ERRORS as exc:
        sys.stderr.write(f"kpconsole: {(str(exc).splitlines() or [type(exc).__name__])[0]}\n")
        return exit_codes.FAILURE
    except Exception as exc:
        where = "no log"
        try:
            args = _parse(argv)
            path = os.path.join(args.workspace, "logs", "errors.log")
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(traceback.format_exc() + "\n")
            where = path
        except (OSError, SystemExit):
            pass
        sys.stderr.write(f"kpconsole: internal error ({type(exc).__name__}); details in {where}\n")
        return exit_codes.FAILURE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
