"""``kpconsole ssh-entry`` (OpenSSH forced command) and ``kpconsole serve-ssh`` (built-in server)."""

from __future__ import annotations

import ipaddress
import signal
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from kpconsole.cli import common
from kpconsole.errors import ConsoleError
from kpconsole.session import resolve_workspace

_run_cli: list[Callable[[list[str]], object]] = []
"""The CLI's own ``main``, handed in by :func:`register` (this module may not import it)."""


def register(app: typer.Typer, run_cli: Callable[[list[str]], object]) -> None:
    """Add ``ssh-entry`` and ``serve-ssh``; a command that arrives over SSH runs through ``run_cli``."""
    _run_cli[:] = [run_cli]
    app.command("ssh-entry")(ssh_entry)
    app.command("serve-ssh")(serve_ssh)


def ssh_entry(
    person: Annotated[str, typer.Option("--as", help="The person this authorized_keys line belongs to.")],
    key: Annotated[str | None, typer.Option("--key", help="The fingerprint of the key (for the audit log).")] = None,
    workspace: common.WorkspaceOpt = None,
) -> None:
    """Forced command for OpenSSH (written by `access grant --key`): the console, or the command
    in $SSH_ORIGINAL_COMMAND, as PERSON with their role."""
    from kpconsole.ssh.entry import ssh_entry as entry

    raise typer.Exit(entry(resolve_workspace(common.workspace_path(workspace)), person, key, _run_cli[0]))


def serve_ssh(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless you say otherwise).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="TCP port (0: any free one).")] = 2222,
    max_connections: Annotated[int, typer.Option("--max-connections", min=1, help="People logged in at once "
                                                 "(connections still logging in have their own limits: "
                                                 "docs/ssh.md).")] = 16,
    idle_timeout: Annotated[float, typer.Option("--idle-timeout", min=1, help="Seconds without data either way "
                                                "before a session is closed.")] = 1800.0,
    max_failed_logins: Annotated[int, typer.Option("--max-failed-logins", min=1, help="Failed logins per address "
                                                   "in 5 minutes before it is refused.")] = 5,
    workspace: common.WorkspaceOpt = None,
) -> None:
    """Serve the console over SSH (public-key auth against `kpconsole access` keys; admin)."""
    import asyncio  # here, not at the top: every other command would pay for it

    from kpconsole.ssh.server import Limits, serve

    session = common.session(workspace)
    with session.action("ssh.serve", params={"host": host, "port": port}):
        pass
    if not _is_loopback(host):
        common.note(f"kpconsole: warning: listening on {host}, reachable from other machines")
    limits = Limits(max_connections=max_connections, idle_timeout_s=idle_timeout, max_failed_logins=max_failed_logins)
    root = resolve_workspace(common.workspace_path(workspace))

    async def run() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await serve(root, host=host, port=port, limits=limits, announce=_announce)
        except asyncio.CancelledError:
            common.note("kpconsole: SSH console stopped")

    try:
        asyncio.run(run())
    except OSError as exc:
        raise ConsoleError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def _announce(line: str) -> None:
    """One unwrapped line on stderr (scripts read the port and host key from it)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
