"""``kpconsole serve-ssh``: real SSH on loopback with asyncssh's client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import asyncssh
import pytest

import test_jobs_kinds
from conftest import tree_state
from kpconsole import access
from kpconsole.identity import Actor, Role
from kpconsole.session import Session
from kpconsole.ssh import hostkey, tickets
from kpconsole.ssh.server import ConsoleServer, Limits
from store import audit, catalog
from store import jobs as jobs_store
from store.access import Ticket
from store.workspace import Workspace

pytestmark = pytest.mark.slow

# A stand-in for the console: proves it got the person through the ticket and reports its
# terminal size at start and after every SIGWINCH.
SIZE_REPORTER = r"""
import fcntl, signal, struct, sys, termios
from kpconsole.ssh import tickets
from store.workspace import Workspace

args = sys.argv[1:]
token = tickets.read_token(int(args[args.index("--ticket-fd") + 1]))
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
ticket = tickets.redeem(Workspace.open(args[args.index("--workspace") + 1]), token)

def size():
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
    return f"{cols}x{rows}"

def report(signum, frame):
    sys.stdout.write(f"resized {size()}\n")
    sys.stdout.flush()

signal.signal(signal.SIGWINCH, report)
sys.stdout.write(f"person {ticket.person} size {size()}\n")
sys.stdout.flush()
sys.stdin.read(1)
"""


class RunningServer:
    """A ConsoleServer on its own event loop in a thread (the test drives the client)."""

    def __init__(self, root: Path, **options) -> None:
        self.root, self.options = root, options
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.server: ConsoleServer | None = None
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = ConsoleServer(self.root, host="127.0.0.1", port=0, **self.options)
        self.port = self.loop.run_until_complete(self.server.start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    def __enter__(self) -> RunningServer:
        self.thread.start()
        assert self.ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(autouse=True)
def _job_modules(monkeypatch):
    for key, value in test_jobs_kinds.job_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def keys(workspace) -> dict[str, asyncssh.SSHKey]:
    """Private keys: alice (operator) and bob (analyst) registered; mallory's is not."""
    admin = Session(Workspace.open(workspace), Actor("root", Role.ADMIN, "root"))
    found = {name: asyncssh.generate_private_key("ssh-ed25519", comment=name) for name in ("alice", "bob", "mallory")}
    for name, role in (("alice", Role.OPERATOR), ("bob", Role.ANALYST)):
        pub = workspace.parent / f"{name}.pub"
        pub.write_bytes(found[name].export_public_key("openssh"))
        access.grant(admin, name, role, key_file=pub)
    return found


def connect(port: int, key: asyncssh.SSHKey | None = None, **options) -> asyncssh.SSHClientConnection:
    """An asyncssh client connection (a coroutine) to the test server as user ``anyone``."""
    options.setdefault("client_keys", [key] if key else None)
    return asyncssh.connect("127.0.0.1", port, username="anyone", known_hosts=None, agent_path=None, **options)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def read_until(stream, pattern: bytes, timeout: float = 60) -> bytes:
    seen = b""
    while not re.search(pattern, seen):
        chunk = await asyncio.wait_for(stream.read(65536), timeout)
        if not chunk:
            break
        seen += chunk
    return seen


def session_children(workspace: Path) -> list[int]:
    """Pids of session processes (``kpconsole.ssh.child``) serving this workspace."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"kpconsole.ssh.child" in argv and str(workspace).encode() in argv:
            found.append(int(proc.name))
    return found


def wait_for(predicate, timeout_s: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_registered_key_gets_the_console_on_a_terminal_and_can_exec(workspace, keys):
    pytest.importorskip("kpconsole.tui.app", reason="the console (kpconsole.tui) is not in this tree yet")

    async def scenario(port: int) -> tuple[bytes, list]:
        async with connect(port, keys["bob"], encoding=None) as conn:
            listed = [await conn.run(f"{area} list --json", check=False) for area in ("data", "model")]
            process = await conn.create_process(term_type="xterm-256color", term_size=(80, 24))
            screen = await read_until(process.stdout, b"Data")
            assert session_children(workspace), "one session process per session"
        return screen, listed

    with RunningServer(workspace) as server:
        screen, listed = run(scenario(server.port))
        wait_for(lambda: not session_children(workspace), 15, "the console to end with its connection")
    assert b"Data" in screen
    for result in listed:
        assert result.exit_status == 0, result.stderr
        assert json.loads(result.stdout) == []
    logins = audit.entries(Workspace.open(workspace), action="ssh.login", limit=5)
    assert {(e.actor, e.outcome, e.ssh_key, e.remote_addr) for e in logins} == \
        {("bob", "ok", keys["bob"].get_fingerprint("sha256"), "127.0.0.1")}


def test_unknown_keys_and_password_clients_are_refused_and_audited_once_per_connection(workspace, keys):
    eve = asyncssh.generate_private_key("ssh-ed25519", comment="eve")
    mallory_fp, eve_fp = keys["mallory"].get_fingerprint("sha256"), eve.get_fingerprint("sha256")
    ws = Workspace.open(workspace)

    def audited(count: int) -> list:
        """The ssh.login rows, oldest first, once there are ``count`` (each is written as its connection ends)."""
        return wait_for(lambda: len(rows := audit.entries(ws, action="ssh.login", limit=20)) >= count and rows,
                        15, f"{count} audited connections")[::-1]

    async def attempt(port: int, **options) -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(port, **options):
                pass

    with RunningServer(workspace, limits=Limits(max_failed_logins=100)) as server:
        offered = run(asyncssh.get_server_auth_methods("127.0.0.1", server.port, username="anyone"))
        audited(1)
        for count, options in enumerate([{"key": keys["mallory"]},
                                         {"password": "hunter2", "preferred_auth": "password"},
                                         {"password": "hunter2", "preferred_auth": "keyboard-interactive"},
                                         {"client_keys": [keys["mallory"], eve]}], start=2):
            run(attempt(server.port, **options))
            audited(count)
        refused = audited(5)
    assert offered == ["publickey"]  # so a client cannot even send a password
    assert len(refused) == 5 and all((e.outcome, e.actor, e.remote_addr, e.target) ==
                                     ("refused", "unknown", "127.0.0.1", "user anyone") for e in refused)
    closed = "(the client closed the connection)"
    assert [(e.detail, e.ssh_key, e.params) for e in refused] == [
        (f"no key offered {closed}", None, {"keys": []}),  # the probe for methods
        (f"no registered key offered {closed}: {mallory_fp}", mallory_fp, {"keys": [mallory_fp]}),
        (f"no key offered {closed}", None, {"keys": []}),  # password: not offered, so never sent
        (f"no key offered {closed}", None, {"keys": []}),  # keyboard-interactive: the same
        (f"no registered key offered {closed}: {mallory_fp}, {eve_fp}", mallory_fp, {"keys": [mallory_fp, eve_fp]}),
    ]


def test_analyst_exec_of_a_change_is_refused_and_changes_nothing(workspace, keys, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,kind,ts\n1,10,view,2024-01-01T00:00:00\n")

    async def scenario(port: int) -> asyncssh.SSHCompletedProcess:
        async with connect(port, keys["bob"]) as conn:
            return await conn.run(f"data ingest {events} --name theirs", check=False)

    with RunningServer(workspace) as server:
        before = tree_state(workspace)  # (the server has made its host key by now)
        result = run(scenario(server.port))
    assert result.exit_status == 1
    assert result.stderr == "kpconsole: bob (analyst) may not data.ingest: it needs the operator role\n"
    ws = Workspace.open(workspace)
    assert tree_state(workspace) == before and catalog.list_datasets(ws) == []
    entry = audit.entries(ws, action="data.ingest", limit=1)[0]
    assert (entry.actor, entry.outcome, entry.ssh_key, entry.remote_addr) == \
        ("bob", "refused", keys["bob"].get_fingerprint("sha256"), "127.0.0.1")


def test_without_terminal_or_command_a_session_is_refused_with_a_hint(workspace, keys):
    async def scenario(port: int) -> asyncssh.SSHCompletedProcess:
        async with connect(port, keys["bob"]) as conn:
            return await conn.run(check=False)

    with RunningServer(workspace) as server:
        result = run(scenario(server.port))
    assert result.exit_status == 2
    assert "no command and no terminal: use `ssh -t …` for the console" in result.stderr


def test_window_size_changes_reach_the_session_process(workspace, keys, tmp_path):
    reporter = tmp_path / "size_reporter.py"
    reporter.write_text(SIZE_REPORTER)

    async def scenario(port: int) -> tuple[bytes, bytes]:
        async with connect(port, keys["alice"], encoding=None) as conn:
            process = await conn.create_process(term_type="xterm", term_size=(80, 24))
            first = await read_until(process.stdout, rb"size \d+x\d+")
            process.change_terminal_size(132, 43)
            resized = await read_until(process.stdout, rb"resized \d+x\d+")
            process.stdin.write(b"q\n")  # the terminal is in line mode
            await process.wait_closed()
        return first, resized

    with RunningServer(workspace, child_argv=[sys.executable, str(reporter)]) as server:
        first, resized = run(scenario(server.port))
    assert b"person alice size 80x24" in first
    assert b"resized 132x43" in resized


def test_a_job_started_in_a_session_keeps_running_after_the_connection_drops(workspace, keys, tmp_path):
    gate = tmp_path / "gate"

    async def scenario(port: int) -> int:
        conn = await connect(port, keys["alice"], encoding=None)
        started = await conn.run(f"jobs start gate --param gate={gate} --json", check=False)
        assert started.exit_status == 0, started.stderr
        job_id = json.loads(started.stdout)["job_id"]
        follow = await conn.create_process(f"jobs logs {job_id} --follow", term_type="xterm", term_size=(80, 24))
        await read_until(follow.stdout, b"waiting for the gate")
        assert session_children(workspace)
        conn.abort()  # the link drops
        return job_id

    with RunningServer(workspace) as server:
        job_id = run(scenario(server.port))
        wait_for(lambda: not session_children(workspace), 15, "the session process to end with its connection")
        ws = Workspace.open(workspace)
        job = jobs_store.get_job(ws, job_id)
        assert job.status == "running" and job.started_by == "alice"
        gate.write_text("after the drop")
        wait_for(lambda: not jobs_store.get_job(ws, job_id).active, 30, "the job to finish")
    assert jobs_store.get_job(ws, job_id).result_id == "after the drop"


def test_a_session_ticket_cannot_be_forged_reused_or_used_late(workspace, keys):
    ws = Workspace.open(workspace)
    token = tickets.issue(ws, "alice", None, "127.0.0.1")
    assert tickets.redeem(ws, token) == Ticket("alice", None, "127.0.0.1")
    assert tickets.redeem(ws, token) is None  # once only
    late = tickets.issue(ws, "alice", None, None)
    from store import access as store_access

    store_access.create_ticket(ws, tickets._digest("old"), Ticket("alice", None, None), ttl_s=-1)
    assert tickets.redeem(ws, "old") is None
    assert tickets.redeem(ws, late + "x") is None

    read_end, write_end = os.pipe()
    os.write(write_end, b"made-up-token")
    os.close(write_end)
    forged = subprocess.run(
        [sys.executable, "-m", "kpconsole.ssh.child", "--workspace", str(workspace), "--ticket-fd", str(read_end),
         "--command=access list"], pass_fds=(read_end,), capture_output=True, text=True, timeout=60,
        env={**os.environ, "KPCONSOLE_ACTOR": "alice", "USER": "alice", "SSH_CONNECTION": "1.2.3.4 1 2 3"})
    os.close(read_end)
    assert forged.returncode == 1 and "no valid session ticket" in forged.stderr
    assert audit.entries(ws, action="ssh.session", limit=1)[0].outcome == "refused"


def test_limits_on_connections_failed_logins_and_idle_time(workspace, keys):
    async def too_many(port: int) -> str:
        async with connect(port, keys["alice"]):
            try:
                async with connect(port, keys["bob"]):
                    return "second connection accepted"
            except (asyncssh.Error, OSError) as exc:
                return str(exc)

    async def blocked(port: int) -> str:
        for _ in range(2):
            with pytest.raises(asyncssh.PermissionDenied):
                async with connect(port, keys["mallory"]):
                    pass
        try:
            async with connect(port, keys["alice"]):
                return "accepted after failed logins"
        except (asyncssh.Error, OSError) as exc:
            return str(exc)

    async def idle(port: int) -> float:
        began = time.monotonic()
        async with connect(port, keys["alice"]) as conn:
            await asyncio.wait_for(conn.wait_closed(), 20)
        return time.monotonic() - began

    with RunningServer(workspace, limits=Limits(max_connections=1)) as server:
        assert "too many connections" in run(too_many(server.port))
    with RunningServer(workspace, limits=Limits(max_failed_logins=2)) as server:
        assert "too many failed logins" in run(blocked(server.port))
    with RunningServer(workspace, limits=Limits(idle_timeout_s=0.5)) as server:
        assert run(idle(server.port)) < 10
    details = [e.detail for e in audit.entries(Workspace.open(workspace), action="ssh.login", limit=20)]
    assert "too many connections" in details and "too many failed logins from this address" in details


def test_serve_ssh_command_binds_loopback_and_keeps_its_host_key(workspace, keys):
    argv = [sys.executable, "-m", "kpconsole", "--workspace", str(workspace), "serve-ssh", "--port", "0"]
    server = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+) \(host key (SHA256:\S+)\)", line)
        assert match, line
        port, fingerprint = int(match.group(1)), match.group(2)

        async def scenario() -> tuple[str, int]:
            async with connect(port, keys["alice"]) as conn:
                seen = conn.get_server_host_key().get_fingerprint("sha256")
                return seen, (await conn.run("init", check=False)).exit_status

        assert run(scenario()) == (fingerprint, 2)  # its exit status: 'init' is not available over SSH
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    key_file = hostkey.host_key_path(workspace)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert hostkey.load_or_create(workspace).get_fingerprint("sha256") == fingerprint  # kept, not regenerated
    started = audit.entries(Workspace.open(workspace), action="ssh.serve", limit=1)[0]
    assert (started.outcome, started.params) == ("ok", {"host": "127.0.0.1", "port": 0})


def test_only_an_admin_may_start_the_server(workspace, capsys):
    from kpconsole.cli import main
    from kpconsole.ssh.commands import run_command_as

    code = run_command_as(Actor("olga", Role.OPERATOR, "olga"), workspace, ["serve-ssh", "--port", "0"], main)
    assert code == 1
    assert capsys.readouterr().err == "kpconsole: olga (operator) may not ssh.serve: it needs the admin role\n"
    assert not hostkey.host_key_path(workspace).exists()
