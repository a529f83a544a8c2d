"""``kpconsole serve-ssh``: the console over SSH without the host's sshd (asyncssh).

* **Authentication**: public keys only, against the keys registered with ``kpconsole access
  grant --key`` — the key decides the person, and the person's grant the role; the SSH user
  name is ignored. Password and keyboard-interactive requests are offered only so that they
  can be refused and audited; every refusal (unknown key, password, keyboard-interactive,
  rate limit, too many connections) is written to the audit log, as is every login.
* **Sessions**: each session runs its own process, ``python -m kpconsole.ssh.child``
  (:mod:`kpconsole.ssh.sessions`): on a real pseudo-terminal for an interactive login or
  ``ssh -t`` (the TUI, window-size changes passed through), on pipes for ``ssh host CMD``
  (the CLI command, with its exit status). No PTY and no command → a hint and exit 2.
  Closing the connection hangs up that process group; detached jobs it started live on.
* **Identity to the child**: a one-time ticket through an inherited pipe
  (:mod:`kpconsole.ssh.tickets`). Nothing in the child's environment or command line names
  a person, so no local user can gain a role by setting a variable or calling the child.
* **Limits** (:class:`Limits`): concurrent connections, login timeout, idle timeout (no data
  either way), failed logins per address in a sliding window. Forwarding, agent, X11, SFTP and
  SCP are off. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from kpconsole import access
from kpconsole.errors import USER_ERRORS
from kpconsole.ssh import commands, hostkey, sessions, tickets
from store.workspace import Workspace

CHILD = ("-m", "kpconsole.ssh.child")


@dataclass(frozen=True)
class Limits:
    max_connections: int = 16
    idle_timeout_s: float = 1800.0
    login_timeout_s: float = 30.0
    max_failed_logins: int = 5  # per remote address within failed_window_s
    failed_window_s: float = 300.0


class _Connection(asyncssh.SSHServer):
    """One client connection: its authentication, person, activity and session processes."""

    def __init__(self, server: ConsoleServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.addr = "?"
        self.username: str | None = None
        self.person: str | None = None
        self.fingerprint: str | None = None
        self.last_activity = time.monotonic()
        self.children: set[asyncio.subprocess.Process] = set()
        self._candidate: tuple[str, str] | None = None
        self._refused_keys: set[str] = set()

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.addr = str(peer[0]) if peer else "?"
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for proc in list(self.children):
            if proc.returncode is None:
                asyncio.get_running_loop().create_task(sessions.end_process_group(proc))

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    # --- authentication -----------------------------------------------------------------

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if len(self.server.connections) > self.server.limits.max_connections:
            self._refuse("too many connections", count=False)
            self.conn.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, "too many connections, try again later")
        elif self.server.blocked(self.addr):
            if self.server.first_block_notice(self.addr):
                self._refuse("too many failed logins from this address", count=False)
            self.conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                                 "too many failed logins from your address, try again later")
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        grant = access.person_for_key(self.server.ws, fingerprint)
        if grant is None:
            if fingerprint not in self._refused_keys:
                self._refused_keys.add(fingerprint)
                self._refuse("unknown key", ssh_key=fingerprint)
            return False
        self._candidate = (grant.person, fingerprint)
        return True

    def password_auth_supported(self) -> bool:
        return True  # offered only to refuse and audit it

    def validate_password(self, username: str, password: str) -> bool:
        self._refuse("password authentication is refused: log in with a registered SSH key")
        return False

    def kbdint_auth_supported(self) -> bool:
        return True  # offered only to refuse and audit it

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> bool:
        self._refuse("keyboard-interactive authentication is refused: log in with a registered SSH key")
        return False

    def auth_completed(self) -> None:
        person, fingerprint = self._candidate
        self.person, self.fingerprint = person, fingerprint
        self.touch()
        try:
            actor = access.actor_for_person(self.server.ws, person, ssh_key=fingerprint, remote_addr=self.addr)
            commands.audit_login(self.server.ws, actor, "serve-ssh")
        except USER_ERRORS as exc:  # revoked between key check and now
            self._refuse(str(exc), ssh_key=fingerprint)
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, "access revoked")

    def _refuse(self, detail: str, *, ssh_key: str | None = None, count: bool = True) -> None:
        if count:
            self.server.record_failure(self.addr)
        commands.audit_refusal(self.server.ws, None, "ssh.login", detail, ssh_key=ssh_key, remote_addr=self.addr,
                               person="unknown", target=f"user {self.username}" if self.username else None)


class ConsoleServer:
    """The listening server; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, ws_root: Path, *, host: str = "127.0.0.1", port: int = 2222, limits: Limits = Limits(),
                 child_argv: Sequence[str] | None = None) -> None:
        self.ws = Workspace.open(ws_root)
        self.host, self.requested_port, self.limits = host, port, limits
        self.child_argv = list(child_argv) if child_argv else [sys.executable, *CHILD]
        self.connections: set[_Connection] = set()
        self._failures: dict[str, deque[float]] = {}
        self._block_noticed: dict[str, float] = {}
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._watchdog: asyncio.Task | None = None
        self._sessions: set[asyncio.Task] = set()
        self.host_key = hostkey.load_or_create(self.ws.root)

    async def start(self) -> int:
        """Listen; returns the bound port."""
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self), self.host, self.requested_port,
            server_host_keys=[self.host_key], process_factory=self._session, encoding=None, line_editor=False,
            login_timeout=self.limits.login_timeout_s, keepalive_interval=60, keepalive_count_max=3,
            agent_forwarding=False, x11_forwarding=False, allow_scp=False,
        )
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_idle())
        return self.port

    @property
    def port(self) -> int:
        return self._acceptor.get_port() if self._acceptor else self.requested_port

    @property
    def host_key_fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    async def stop(self) -> None:
        """Stop listening, close every connection and end every session process."""
        if self._watchdog:
            self._watchdog.cancel()
        if self._acceptor:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        children = [p for c in self.connections for p in c.children if p.returncode is None]
        for connection in list(self.connections):
            connection.conn.close()
        await asyncio.gather(*(sessions.end_process_group(p) for p in children), return_exceptions=True)
        if self._sessions:  # let each session record its end and reap its process
            await asyncio.wait(set(self._sessions), timeout=5)

    # --- limits -------------------------------------------------------------------------

    def _recent(self, addr: str) -> deque[float]:
        window = self._failures.setdefault(addr, deque())
        while window and time.monotonic() - window[0] > self.limits.failed_window_s:
            window.popleft()
        return window

    def record_failure(self, addr: str) -> None:
        self._recent(addr).append(time.monotonic())

    def blocked(self, addr: str) -> bool:
        return len(self._recent(addr)) >= self.limits.max_failed_logins

    def first_block_notice(self, addr: str) -> bool:
        """Whether this is the first refusal of ``addr`` in the current window (audit it once)."""
        last = self._block_noticed.get(addr)
        if last is not None and time.monotonic() - last < self.limits.failed_window_s:
            return False
        self._block_noticed[addr] = time.monotonic()
        return True

    async def _watch_idle(self) -> None:
        period = min(5.0, max(0.05, self.limits.idle_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            for connection in list(self.connections):
                idle = time.monotonic() - connection.last_activity
                if connection.person and idle > self.limits.idle_timeout_s:
                    connection.conn.disconnect(asyncssh.DISC_BY_APPLICATION, "idle timeout")

    # --- sessions -----------------------------------------------------------------------

    def _child_env(self, term: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
        env["TERM"] = term or "dumb"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        connection: _Connection = process.get_extra_info("connection").get_owner()
        task = asyncio.current_task()
        self._sessions.add(task)
        try:
            code = await self._run_session(connection, process)
        except Exception as exc:  # never let one session take the server down
            code = 1
            try:
                process.stderr.write(f"kpconsole: internal error ({type(exc).__name__})\r\n".encode())
            except (OSError, asyncssh.Error):
                pass
        finally:
            self._sessions.discard(task)
        try:
            process.exit(code)
        except (OSError, asyncssh.Error):
            pass

    async def _run_session(self, connection: _Connection, process: asyncssh.SSHServerProcess) -> int:
        connection.touch()
        if process.subsystem:
            process.stderr.write(b"kpconsole: SSH subsystems (sftp) are not available\r\n")
            return 2
        command = process.command or ""
        has_pty = process.get_terminal_type() is not None
        if not command.strip() and not has_pty:
            process.stderr.write((commands.HINT + "\n").encode())
            return 2
        token = tickets.issue(self.ws, connection.person, connection.fingerprint, connection.addr)
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, token.encode("ascii"))
            os.close(write_end)
            argv = [*self.child_argv, "--workspace", str(self.ws.root), "--ticket-fd", str(read_end)]
            if command:
                argv.append(f"--command={command}")
            run = sessions.run_on_pty if has_pty else sessions.run_on_pipes
            return await run(process, argv, self._child_env(process.get_terminal_type()), (read_end,),
                             connection.touch, connection.children.add)
        finally:
            os.close(read_end)


async def serve(ws_root: Path, *, host: str, port: int, limits: Limits, announce: Callable[[str], None] = print) -> None:
    """Run the server until cancelled (Ctrl-C or SIGTERM in the CLI)."""
    server = ConsoleServer(ws_root, host=host, port=port, limits=limits)
    bound = await server.start()
    announce(f"kpconsole: SSH console for {server.ws.root} listening on {host}:{bound} "
             f"(host key {server.host_key_fingerprint})")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
