"""``kpconsole ssh-entry --as NAME``: the forced command of an OpenSSH ``authorized_keys`` line.

sshd has already checked the key; the line (written by ``kpconsole access grant --key``) names
the person and the key's fingerprint. sshd sets ``SSH_ORIGINAL_COMMAND`` (what the client asked
to run; empty for an interactive login), ``SSH_CONNECTION`` (client address first) and, when it
allocated a terminal, ``SSH_TTY``. The person's role comes from the workspace at every login,
so ``access revoke`` takes effect at once even if the line stays in ``authorized_keys``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kpconsole import access, exit_codes
from kpconsole.failure_lines import one_line
from kpconsole.errors import PermissionDenied
from kpconsole.identity import remote_addr_from_env
from kpconsole.ssh import commands
from store.workspace import Workspace


def ssh_entry(ws_root: Path, person: str, key: str | None, run_cli: commands.CommandLine) -> int:
    """Serve one OpenSSH login as ``person`` (a command through ``run_cli``); the exit status."""
    ws = Workspace.open(ws_root)
    remote = remote_addr_from_env()
    try:
        actor = access.actor_for_person(ws, person, ssh_key=key, remote_addr=remote)
    except PermissionDenied as exc:
        commands.audit_refusal(ws, None, "ssh.login", str(exc), ssh_key=key, remote_addr=remote, person=person)
        sys.stderr.write(f"kpconsole: {one_line(exc)}\n")
        return exit_codes.FAILURE
    command = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    has_terminal = sys.stdin.isatty() and sys.stdout.isatty()
    commands.audit_login(ws, actor, "openssh " + ("command" if command.strip() else "console"))
    return commands.dispatch(actor, ws, command, has_terminal=has_terminal, run_cli=run_cli)
