"""``kpconsole serve-ssh``: the console over SSH without the host's sshd (asyncssh).

* **Authentication**: public keys only, against the keys registered with ``kpconsole access
  grant --key`` — the key decides the person, and the person's grant the role; the SSH user
  name is ignored. ``publickey`` is the only method offered (no password, no
  keyboard-interactive, no ``none``), so a client cannot even send a password. Every login
  is audited, and so is every connection that ends without one — once, with the user name it
  gave, the fingerprints of the keys it offered and its address (:meth:`_Connection.connection_lost`).
* **Algorithms**: modern ones only (:mod:`kpconsole.ssh.algorithms`); an old client is refused
  during the key exchange.
* **Sessions**: each session runs its own process, ``python -m kpconsole.ssh.child``
  (:mod:`kpconsole.ssh.sessions`): on a real pseudo-terminal for an interactive login or
  ``ssh -t`` (the TUI, window-size changes passed through), on pipes for ``ssh host CMD``
  (the CLI command, with its exit status). No PTY and no command → a hint and exit 2.
  Closing the connection hangs up that process group; detached jobs it started live on.
* **Identity to the child**: a one-time ticket through an inherited pipe
  (:mod:`kpconsole.ssh.tickets`). Nothing in the child's environment or command line names
  a person, so no local user can gain a role by setting a variable or calling the child.
* **Limits** (:class:`Limits`): people logged in at once, connections still logging in (in
  all and per address), login timeout, idle timeout (no data either way), failed logins per
  address in a sliding window, keys tried per connection, sessions per connection, command
  length; terminal sizes are clamped (:mod:`kpconsole.ssh.sessions`). Forwarding, agent,
  X11, SFTP and SCP are off. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from asyncssh.sftp import MIN_SFTP_VERSION

from kpconsole import access
from kpconsole.errors import USER_ERRORS
from kpconsole.identity import Actor
from kpconsole.ssh import algorithms, commands, hostkey, sessions, tickets
from store.workspace import Workspace

CHILD = ("-m", "kpconsole.ssh.child")
TERM_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")  # what a session's TERM may be; else "dumb"
SHOWN_CHARS = 64  # of a client's user name or disconnect reason, as kept in the audit log


@dataclass(frozen=True)
class Limits:
    """What one server allows (docs/ssh.md says why each default is what it is)."""

    max_connections: int = 16  # people logged in at once
    idle_timeout_s: float = 1800.0  # a login with no data either way for this long is closed
    login_timeout_s: float = 30.0  # from the TCP connection to a completed login
    max_failed_logins: int = 5  # per remote address within failed_window_s
    failed_window_s: float = 300.0
    max_pending_logins: int = 256  # connections not logged in yet, in all; more are closed at once
    max_pending_per_address: int = 64  # the same, from one remote address
    max_auth_tries: int = 6  # different keys one connection may offer
    max_sessions: int = 10  # open sessions (channels) on one connection
    max_command_bytes: int = 8192  # the command of one exec request, UTF-8


def _shown(text: str) -> str:
    """Client-chosen text as the audit log keeps it: one printable line, at most SHOWN_CHARS."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def _ending(exc: Exception | None) -> str:
    """How a connection that did not log in ended, in words, from asyncssh's exception."""
    if isinstance(exc, asyncssh.ConnectionLost):  # end of file, a reset, or asyncssh's login timer
        return "login timeout" if "timeout" in exc.reason.lower() else "the client closed the connection"
    if isinstance(exc, asyncssh.DisconnectError):  # sent by either side
        kind = {asyncssh.KeyExchangeFailed: "key exchange failed", asyncssh.ProtocolError: "protocol error",
                asyncssh.ProtocolNotSupported: "unsupported protocol"}
        reason = exc.reason.split(", sent ")[0]  # asyncssh's "no matching …" goes on to list both offers
        return f"{kind.get(type(exc), 'disconnected')}: {_shown(reason)}"
    return "closed"


class _Connection(asyncssh.SSHServer):
    """One client connection: its authentication, person, activity, sessions and processes."""

    def __init__(self, server: ConsoleServer) -> None:
        self.server = server
        self.limits = server.limits
        self.conn: asyncssh.SSHServerConnection | None = None
        self.addr = "?"
        self.username: str | None = None
        self.person: str | None = None
        self.fingerprint: str | None = None
        self.actor: Actor | None = None
        self.last_activity = time.monotonic()
        self.children: set[asyncio.subprocess.Process] = set()
        self.sessions: set[_Session] = set()
        self._candidate: tuple[str, str] | None = None
        self._offered: dict[str, str | None] = {}  # key fingerprint → the person it is registered to
        self._auth_began = False
        self._failure_counted = False
        self._audited = False  # its refusal is in the audit log already (or summarised on purpose)
        self._closed_because: str | None = None
        self._sessions_refused = False

    # --- connection ---------------------------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.addr = str(peer[0]) if peer else "?"
        crowded = self.server.crowded(self.addr)
        if crowded:  # closed before the key exchange: cheap, and audited once per address and window
            self._audited = True
            if self.server.first_notice(crowded, self.addr):
                self._refuse(crowded)
            conn.abort()
            return
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for proc in list(self.children):
            if proc.returncode is None:
                asyncio.get_running_loop().create_task(sessions.end_process_group(proc))
        if self.person is None and not self._audited:
            self._audit_no_login(exc)
        elif self.person and isinstance(exc, asyncssh.ProtocolError):  # e.g. a packet over asyncssh's 256 KiB
            commands.audit_refusal(self.server.ws, self.actor, "ssh.session", f"connection closed: {_ending(exc)}")

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    # --- authentication -----------------------------------------------------------------

    def begin_auth(self, username: str) -> bool:
        self._auth_began = True
        self.username = username
        if self.server.logged_in() >= self.limits.max_connections:
            self._audited = True
            self._refuse("too many connections")
            self.conn.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, "too many connections, try again later")
        elif self.server.blocked(self.addr):
            self._audited = True
            if self.server.first_notice("too many failed logins from this address", self.addr):
                self._refuse("too many failed logins from this address")
            self.conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                                 "too many failed logins from your address, try again later")
        return True  # authentication is required: never a login by the "none" method

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        if fingerprint not in self._offered:
            if len(self._offered) >= self.limits.max_auth_tries:
                self._closed_because = f"more than {self.limits.max_auth_tries} keys offered"
                self._count_failure()
                self.conn.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many authentication failures")
                return False
            self._offered[fingerprint] = None
        grant = access.person_for_key(self.server.ws, fingerprint)
        if grant is None or not algorithms.accept_signatures(key):
            self._count_failure()
            return False
        self._offered[fingerprint] = grant.person
        self._candidate = (grant.person, fingerprint)
        return True

    def auth_completed(self) -> None:
        person, fingerprint = self._candidate
        try:
            actor = access.actor_for_person(self.server.ws, person, ssh_key=fingerprint, remote_addr=self.addr)
        except USER_ERRORS as exc:  # revoked between key check and now
            self._audited = True
            self._refuse(str(exc), ssh_key=fingerprint)
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, "access revoked")
            return
        self.person, self.fingerprint, self.actor = person, fingerprint, actor
        self.touch()
        commands.audit_login(self.server.ws, actor, "serve-ssh")

    def _count_failure(self) -> None:
        """Count this connection once as a failed login of its address."""
        if not self._failure_counted:
            self._failure_counted = True
            self.server.record_failure(self.addr)

    def _audit_no_login(self, exc: Exception | None) -> None:
        """The one audit row of a connection that ended without a login: who, which keys, from where, why."""
        keys = list(self._offered)
        registered = sorted({person for person in self._offered.values() if person})
        if not self._auth_began:
            what = "closed before authenticating"
        elif registered:
            what = f"the key of {', '.join(registered)} was offered but not signed with an accepted algorithm"
        elif keys:
            what = "no registered key offered"
        else:
            what = "no key offered"
        if self._auth_began:
            self._count_failure()
        why = self._closed_because or _ending(exc)
        detail = f"{what} ({why})" + (f": {', '.join(keys)}" if keys else "")
        self._refuse(detail, ssh_key=keys[0] if keys else None, params={"keys": keys})

    def _refuse(self, detail: str, *, ssh_key: str | None = None, params: dict | None = None) -> None:
        commands.audit_refusal(self.server.ws, None, "ssh.login", detail, ssh_key=ssh_key, remote_addr=self.addr,
                               person="unknown", target=f"user {_shown(self.username)}" if self.username else None,
                               params=params)

    # --- sessions -----------------------------------------------------------------------

    def session_requested(self) -> tuple[asyncssh.SSHServerChannel, Awaitable[_Session]]:
        """A new session channel; :meth:`_admit` decides whether it opens."""
        return self.conn.create_server_channel(), self._admit()

    async def _admit(self) -> _Session:
        """A session, unless this connection has :attr:`Limits.max_sessions` open (then a clean refusal)."""
        await asyncio.sleep(0)  # a close read together with this request is cleaned up on this loop turn
        most = self.limits.max_sessions
        if len(self.sessions) >= most:
            if not self._sessions_refused:  # once per connection
                self._sessions_refused = True
                commands.audit_refusal(self.server.ws, self.actor, "ssh.session",
                                       f"more than {most} sessions on one connection")
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_RESOURCE_SHORTAGE, f"at most {most} sessions per connection")
        session = _Session(self)
        self.sessions.add(session)
        return session


class _Session(asyncssh.SSHServerProcess):
    """One session channel, run by :meth:`ConsoleServer.serve_session`; leaves its connection's count when closed."""

    def __init__(self, connection: _Connection) -> None:
        super().__init__(connection.server.serve_session, None, MIN_SFTP_VERSION, False)
        self.connection = connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.sessions.discard(self)
        super().connection_lost(exc)


class ConsoleServer:
    """The listening server; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, ws_root: Path, *, host: str = "127.0.0.1", port: int = 2222, limits: Limits = Limits(),
                 child_argv: Sequence[str] | None = None) -> None:
        self.ws = Workspace.open(ws_root)
        self.host, self.requested_port, self.limits = host, port, limits
        self.child_argv = list(child_argv) if child_argv else [sys.executable, *CHILD]
        self.connections: set[_Connection] = set()
        self._failures: dict[str, deque[float]] = {}
        self._noticed: dict[tuple[str, str], float] = {}
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._watchdog: asyncio.Task | None = None
        self._sessions: set[asyncio.Task] = set()
        self.host_key = hostkey.load_or_create(self.ws.root)

    async def start(self) -> int:
        """Listen; returns the bound port."""
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self), self.host, self.requested_port,
            server_host_keys=[self.host_key], encoding=None, line_editor=False, **algorithms.server_options(),
            public_key_auth=True, password_auth=False, kbdint_auth=False, host_based_auth=False, gss_host=None,
            login_timeout=self.limits.login_timeout_s, keepalive_interval=60, keepalive_count_max=3,
            agent_forwarding=False, x11_forwarding=False, allow_scp=False,
        )  # sessions: _Connection.session_requested
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
        window = self._failures.pop(addr, deque())
        while window and time.monotonic() - window[0] > self.limits.failed_window_s:
            window.popleft()
        if window:
            self._failures[addr] = window
        return window

    def record_failure(self, addr: str) -> None:
        self._failures[addr] = self._recent(addr)
        self._failures[addr].append(time.monotonic())

    def blocked(self, addr: str) -> bool:
        return len(self._recent(addr)) >= self.limits.max_failed_logins

    def logged_in(self) -> int:
        """How many connections have a person logged in."""
        return sum(1 for connection in self.connections if connection.person)

    def crowded(self, addr: str) -> str | None:
        """Why a new connection from ``addr`` must be closed at once, or None: too many still log in."""
        pending = [connection.addr for connection in self.connections if connection.person is None]
        if len(pending) >= self.limits.max_pending_logins:
            return f"too many connections still logging in (at most {self.limits.max_pending_logins})"
        if pending.count(addr) >= self.limits.max_pending_per_address:
            return ("too many connections still logging in from this address "
                    f"(at most {self.limits.max_pending_per_address})")
        return None

    def first_notice(self, reason: str, addr: str) -> bool:
        """Whether ``reason`` is new for ``addr`` in the current window (then audit it; later ones are not)."""
        now = time.monotonic()
        for key, at in list(self._noticed.items()):
            if now - at >= self.limits.failed_window_s:
                del self._noticed[key]
        if (reason, addr) in self._noticed:
            return False
        self._noticed[reason, addr] = now
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
        env["TERM"] = term if term and TERM_TYPE.fullmatch(term) else "dumb"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def serve_session(self, process: asyncssh.SSHServerProcess) -> None:
        """Run one session to its end (the process factory of every session channel)."""
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
        size, most = len(command.encode()), self.limits.max_command_bytes
        if size > most:
            commands.audit_refusal(self.ws, connection.actor, "ssh.exec", f"command of {size} bytes (at most {most})",
                                   target=_shown(command))
            process.stderr.write(f"kpconsole: the command is {size} bytes long; at most {most} are accepted\n".encode())
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
