"""``kpconsole serve-ssh`` against old and hostile clients, on loopback.

Old clients are the real OpenSSH client forcing one outdated algorithm at a time; hostile ones
are raw sockets and asyncssh clients that misbehave. Every test also checks that the server
keeps serving a registered person.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import asyncssh
import pytest

from kpconsole import access
from kpconsole.identity import Actor, Role
from kpconsole.session import Session
from kpconsole.ssh import sessions
from kpconsole.ssh.server import Limits
from store import audit
from store.workspace import Workspace
from test_ssh_server import RunningServer, connect, keys, read_until, wait_for  # noqa: F401  (keys: a fixture)

pytestmark = pytest.mark.slow

OPENSSH = Path("/usr/bin/ssh")

# The session process for the hostile tests: the real one for the registered person's
# `model list --json`; otherwise something cheap that holds its session open until a byte or
# end of input arrives and, on a terminal, reports its size at start and after every SIGWINCH.
STAND_IN = r"""
import fcntl, os, signal, struct, sys, termios

args = sys.argv[1:]
if "--command=model list --json" in args:
    os.execv(sys.executable, [sys.executable, "-m", "kpconsole.ssh.child", *args])

def size():
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
    return f"{cols}x{rows}"

if os.isatty(0):
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGWINCH, lambda *_: print(f"resized {size()}", flush=True))
    print(f"size {size()}", flush=True)
else:
    print("holding", flush=True)
sys.stdin.read(1)
"""


# --- helpers -----------------------------------------------------------------------------


@functools.cache
def client_offers(kind: str) -> frozenset[str]:
    """What this OpenSSH client can still offer (``ssh -Q kex|cipher|mac|key|sig``)."""
    listed = subprocess.run([str(OPENSSH), "-Q", kind], capture_output=True, text=True, timeout=30, check=True)
    return frozenset(listed.stdout.split())


def openssh(port: int, identity: Path, *options: str, command: str = "model list --json") -> subprocess.CompletedProcess:
    """Run the OpenSSH client against the test server: no config, no agent, no known hosts."""
    if not OPENSSH.exists():
        pytest.skip("the OpenSSH client (/usr/bin/ssh) is not installed")
    argv = [str(OPENSSH), "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "ConnectTimeout=10", "-i", str(identity), "-p", str(port), *options, "anyone@127.0.0.1", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def register(workspace: Path, person: str, role: Role, key: asyncssh.SSHKey) -> Path:
    """Grant ``person`` with ``key``; returns the private key's file (mode 0600) for OpenSSH."""
    admin = Session(Workspace.open(workspace), Actor("root", Role.ADMIN, "root"))
    private = workspace.parent / f"{person}_id"
    private.write_bytes(key.export_private_key("openssh"))
    private.chmod(0o600)
    public = workspace.parent / f"{person}_id.pub"
    public.write_bytes(key.export_public_key("openssh"))
    access.grant(admin, person, role, key_file=public)
    return private


def run(coro):
    """Run a client scenario, bounded: each of these tests takes seconds when it passes."""
    return asyncio.run(asyncio.wait_for(coro, 45))


def logins(workspace: Path, count: int, timeout_s: float = 15) -> list:
    """The ssh.login audit rows, oldest first, once there are at least ``count``."""
    ws = Workspace.open(workspace)
    return wait_for(lambda: len(rows := audit.entries(ws, action="ssh.login", limit=1000)) >= count and rows,
                    timeout_s, f"{count} ssh.login audit rows")[::-1]


@pytest.fixture
def dave(workspace) -> Path:
    """An operator's Ed25519 key file, registered."""
    return register(workspace, "dave", Role.OPERATOR, asyncssh.generate_private_key("ssh-ed25519"))


# --- 1. public keys only, modern algorithms only -----------------------------------------


def test_openssh_client_logs_in_with_modern_algorithms_and_runs_a_command(workspace, dave):
    with RunningServer(workspace) as server:
        done = openssh(server.port, dave, "-v")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert "debug1: kex: host key algorithm: ssh-ed25519" in done.stderr
    assert "debug1: Authentications that can continue: publickey\n" in done.stderr
    login = logins(workspace, 1)[-1]
    assert (login.actor, login.outcome, login.remote_addr) == ("dave", "ok", "127.0.0.1")


OLD = [  # (what ssh -Q lists it under, the options that force it, what OpenSSH says when refused)
    *[("kex", [f"KexAlgorithms={alg}"], "no matching key exchange method found")
      for alg in ("diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1")],
    *[("key", [f"HostKeyAlgorithms={alg}"], "no matching host key type found") for alg in ("ssh-rsa", "ssh-dss")],
    *[("cipher", [f"Ciphers={alg}"], "no matching cipher found")
      for alg in ("3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc")],
    # the AEAD ciphers carry their own MAC, so these need a cipher that uses one
    *[("mac", ["Ciphers=aes128-ctr", f"MACs={alg}"], "no matching MAC found")
      for alg in ("hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96", "hmac-sha1-etm@openssh.com",
                  "hmac-sha1-96-etm@openssh.com", "hmac-md5-etm@openssh.com", "umac-64@openssh.com",
                  "umac-64-etm@openssh.com")],
]


@pytest.mark.parametrize(("kind", "options", "refusal"), OLD, ids=[opts[-1] for _, opts, _ in OLD])
def test_openssh_client_forcing_an_old_algorithm_is_refused_in_the_key_exchange(workspace, dave, kind, options,
                                                                                refusal):
    algorithm = options[-1].split("=", 1)[1]
    if algorithm not in client_offers(kind):
        pytest.skip(f"this OpenSSH client cannot offer {algorithm} any more (not in `ssh -Q {kind}`)")
    with RunningServer(workspace) as server:
        done = openssh(server.port, dave, *(arg for option in options for arg in ("-o", option)))
        [row] = logins(workspace, 1)
    assert done.returncode == 255 and done.stdout == ""
    assert f"Unable to negotiate with 127.0.0.1 port {server.port}: {refusal}. Their offer: " in done.stderr
    their_offer = done.stderr.split("Their offer: ")[1].split()[0].split(",")
    assert algorithm not in their_offer
    assert (row.actor, row.outcome, row.remote_addr) == ("unknown", "refused", "127.0.0.1")
    assert row.detail.startswith("closed before authenticating (")


def test_openssh_client_is_offered_publickey_only_and_none_is_no_login(workspace, dave):
    with RunningServer(workspace) as server:
        nothing = openssh(server.port, dave, "-v", "-o", "PreferredAuthentications=none")
        secrets = openssh(server.port, dave, "-v", "-o", "PreferredAuthentications=password,keyboard-interactive")
        rows = logins(workspace, 2)
    for done in (nothing, secrets):
        assert done.returncode == 255 and done.stdout == ""
        offered = [line for line in done.stderr.splitlines() if "Authentications that can continue" in line]
        assert offered == ["debug1: Authentications that can continue: publickey"]
        assert "anyone@127.0.0.1: Permission denied (publickey)." in done.stderr
    assert "password" not in secrets.stderr.split("Authentications that can continue")[1]
    assert [(r.actor, r.outcome, r.detail, r.target) for r in rows] == \
        [("unknown", "refused", "no key offered (the client closed the connection)", "user anyone")] * 2


def test_an_rsa_user_key_logs_in_with_sha2_signatures_and_never_with_ssh_rsa(workspace):
    rsa = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    carol = register(workspace, "carol", Role.ANALYST, rsa)
    fingerprint = rsa.get_fingerprint("sha256")

    async def signing_with(algorithm: str, port: int) -> str:
        try:
            async with connect(port, rsa, signature_algs=[algorithm]) as conn:
                return (await conn.run("model list --json", check=False)).stdout
        except asyncssh.PermissionDenied:
            return "permission denied"

    with RunningServer(workspace) as server:
        sha2 = openssh(server.port, carol, "-o", "PubkeyAcceptedAlgorithms=rsa-sha2-256")
        sha1 = openssh(server.port, carol, "-v", "-o", "PubkeyAcceptedAlgorithms=ssh-rsa")
        forced = run(signing_with("ssh-rsa", server.port))  # asyncssh signs with ssh-rsa whatever the server says
        rows = logins(workspace, 3)
    assert sha2.returncode == 0 and json.loads(sha2.stdout) == []
    assert sha1.returncode == 255 and "send_pubkey_test: no mutual signature algorithm" in sha1.stderr
    assert forced == "permission denied"
    assert [(r.actor, r.outcome, r.ssh_key) for r in rows] == [("carol", "ok", fingerprint),
                                                               ("unknown", "refused", None),
                                                               ("unknown", "refused", fingerprint)]
    assert rows[2].detail == ("the key of carol was offered but not signed with an accepted algorithm "
                              f"(the client closed the connection): {fingerprint}")


def test_a_client_spraying_keys_is_cut_off_after_six_and_audited_once_with_their_fingerprints(workspace, keys):
    spray = [asyncssh.generate_private_key("ssh-ed25519") for _ in range(8)]
    fingerprints = [key.get_fingerprint("sha256") for key in spray]

    async def attempt(port: int) -> str:
        try:
            async with connect(port, client_keys=[*spray, keys["bob"]]):
                return "logged in"
        except asyncssh.PermissionDenied as exc:
            return exc.reason

    with RunningServer(workspace, limits=Limits(max_failed_logins=2)) as server:
        reason = run(attempt(server.port))
        [row] = logins(workspace, 1)
        blocked = server.server.blocked("127.0.0.1")
    assert reason == "too many authentication failures"  # bob's key, ninth in line, was never tried
    assert (row.actor, row.outcome, row.ssh_key, row.params) == ("unknown", "refused", fingerprints[0],
                                                                {"keys": fingerprints[:6]})
    assert row.detail == f"no registered key offered (more than 6 keys offered): {', '.join(fingerprints[:6])}"
    assert not blocked  # one connection is one failed login (of 2 allowed), however many keys it tried


# --- 4. hostile clients ------------------------------------------------------------------


@pytest.fixture
def stand_in(tmp_path) -> list[str]:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return [sys.executable, str(script)]


async def list_models(port: int, key: asyncssh.SSHKey) -> tuple[int, object, float]:
    """A registered person's ``model list --json``: exit status, parsed output, when the login completed."""
    async with connect(port, key) as conn:
        logged_in = time.monotonic()
        done = await conn.run("model list --json", check=False)
    return done.exit_status, json.loads(done.stdout) if done.exit_status == 0 else done.stderr, logged_in


async def dial(port: int, source: str, hello: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A raw TCP connection from ``source`` (a loopback address); returns what the server sent first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(hello)
    try:
        first = await asyncio.wait_for(reader.read(64), 10)
    except ConnectionResetError:
        first = b""
    return reader, writer, first


async def until_closed(reader: asyncio.StreamReader, timeout_s: float) -> float:
    """Read (and drop) whatever comes until the server closes the connection; returns when it did."""
    async def drain() -> None:
        try:
            while await reader.read(65536):
                pass
        except ConnectionResetError:
            pass

    await asyncio.wait_for(drain(), timeout_s)
    return time.monotonic()


def test_two_hundred_connections_that_never_log_in_are_dropped_at_the_login_timeout_while_a_person_logs_in(
        workspace, keys, stand_in):
    limits = Limits(login_timeout_s=3.0)
    sources = [f"127.0.0.{n}" for n in range(2, 10)]  # 25 from each: under the 64 per address

    async def scenario(port: int):
        all_held = asyncio.Event()
        held: list[bytes] = []

        async def hold(i: int) -> tuple[float, float]:
            # half send their version and stall in the key exchange, half never say a word; the
            # clock starts before dialling (the server's starts at accept, which a loaded box may
            # take a second or more to reach us with the banner of)
            opened = time.monotonic()
            reader, writer, first = await dial(port, sources[i % len(sources)], b"SSH-2.0-Storm\r\n" if i % 2 else b"")
            held.append(first)
            if len(held) == 200:
                all_held.set()
            closed = await until_closed(reader, limits.login_timeout_s + 10)
            writer.close()
            return opened, closed

        storm = [asyncio.create_task(hold(i)) for i in range(200)]
        await asyncio.wait_for(all_held.wait(), 30)
        person = await list_models(port, keys["bob"])
        return held, person, await asyncio.gather(*storm)

    with RunningServer(workspace, limits=limits, child_argv=stand_in) as server:
        held, (status, models, logged_in), storm = run(scenario(server.port))
        rows = logins(workspace, 201)
    assert all(first.startswith(b"SSH-2.0-AsyncSSH") for first in held)  # all 200 were let in
    assert (status, models) == (0, [])
    assert logged_in < min(closed for _, closed in storm)  # bob got in while all 200 were connected
    waited = sorted(closed - opened for opened, closed in storm)
    assert waited[0] > limits.login_timeout_s - 0.5 and waited[-1] < limits.login_timeout_s + 5, waited[::50]
    refused = [row for row in rows if row.outcome == "refused"]
    assert {(row.actor, row.detail) for row in refused} == {("unknown", "closed before authenticating (login timeout)")}
    assert sorted(row.remote_addr for row in refused) == sorted(sources * 25)
    assert [(row.actor, row.outcome) for row in rows if row.outcome == "ok"] == [("bob", "ok")]


def test_connections_past_the_pending_limits_are_closed_before_the_key_exchange_and_audited_once(workspace, keys):
    limits = Limits(max_pending_logins=6, max_pending_per_address=3)

    async def scenario(port: int):
        held = [await dial(port, "127.0.0.2") for _ in range(3)]
        over_address = [await dial(port, "127.0.0.2") for _ in range(2)]
        held += [await dial(port, "127.0.0.3") for _ in range(3)]
        over_all = await dial(port, "127.0.0.4")
        refused_at_once = [await until_closed(reader, 5) for reader, _, _ in (*over_address, over_all)]
        held.pop()[1].close()  # one fewer is logging in: there is room again
        await asyncio.to_thread(logins, workspace, 3)  # its connection has ended on the server
        person = await list_models(port, keys["bob"])
        for _, writer, _ in held:
            writer.close()
        return [first for _, _, first in held], [first for _, _, first in (*over_address, over_all)], \
            refused_at_once, person

    with RunningServer(workspace, limits=limits) as server:
        began = time.monotonic()
        held, refused, refused_at, (status, models, _) = run(scenario(server.port))
        rows = logins(workspace, 4)
    assert all(first.startswith(b"SSH-2.0-AsyncSSH") for first in held)
    assert refused == [b"", b"", b""]  # closed before the server's version line: no key exchange
    assert max(refused_at) - began < 5  # not left to the 30 s login timeout
    assert (status, models) == (0, [])
    assert [(row.remote_addr, row.detail) for row in rows[:4]] == [
        ("127.0.0.2", "too many connections still logging in from this address (at most 3)"),  # once for two
        ("127.0.0.4", "too many connections still logging in (at most 6)"),
        ("127.0.0.3", "closed before authenticating (the client closed the connection)"),
        ("127.0.0.1", None),
    ]
    assert rows[3].actor == "bob"


def test_a_client_opening_fifty_sessions_gets_ten_and_a_clean_refusal_for_the_rest(workspace, keys, stand_in):
    async def hostile(port: int):
        async with connect(port, keys["alice"], encoding=None) as conn:
            opened = await asyncio.gather(*(conn.create_process("jobs list") for _ in range(50)),
                                          return_exceptions=True)
            processes = [p for p in opened if isinstance(p, asyncssh.SSHClientProcess)]
            refusals = [(e.code, e.reason) for e in opened if isinstance(e, asyncssh.ChannelOpenError)]
            for process in processes:
                assert await read_until(process.stdout, b"holding", 30)
            person = await list_models(port, keys["bob"])  # while alice holds her ten
            processes[0].stdin.write_eof()  # one of them ends: room for one more
            await processes[0].wait_closed()
            another = await conn.create_process("jobs list")
            assert await read_until(another.stdout, b"holding", 30)
            for process in (*processes[1:], another):
                process.stdin.write_eof()
            return len(processes), refusals, person

    with RunningServer(workspace, child_argv=stand_in) as server:
        sessions_opened, refusals, (status, models, _) = run(hostile(server.port))
    assert sessions_opened == Limits().max_sessions == 10
    assert refusals == [(asyncssh.OPEN_RESOURCE_SHORTAGE, "at most 10 sessions per connection")] * 40
    assert (status, models) == (0, [])
    refused = audit.entries(Workspace.open(workspace), action="ssh.session", limit=10)
    assert [(e.actor, e.outcome, e.detail) for e in refused] == \
        [("alice", "refused", "more than 10 sessions on one connection")]  # once, not 40 times


def test_a_megabyte_command_and_an_overlong_one_are_refused_cleanly_while_others_are_served(workspace, keys, stand_in):
    long_command = "model list " + "x" * 20_000

    async def hostile(port: int):
        async with connect(port, keys["alice"]) as conn:
            too_long = await conn.run(long_command, check=False)
        with pytest.raises(asyncssh.ProtocolError) as huge:
            async with connect(port, keys["alice"]) as conn:
                await conn.run("model list " + "x" * 1_000_000, check=False)
        return too_long, huge.value.reason

    async def scenario(port: int):
        return await asyncio.gather(hostile(port), list_models(port, keys["bob"]))

    with RunningServer(workspace, child_argv=stand_in) as server:
        (too_long, huge), (status, models, _) = run(scenario(server.port))
        ws = Workspace.open(workspace)
        closed = wait_for(lambda: audit.entries(ws, action="ssh.session", limit=1), 15, "the closed connection")
    assert (too_long.exit_status, too_long.stdout) == (2, "")
    assert too_long.stderr == "kpconsole: the command is 20011 bytes long; at most 8192 are accepted\n"
    assert huge == "Max packet size exceeded"  # asyncssh's 256 KiB packet limit: the connection is closed
    assert (status, models) == (0, [])
    exec_refusal = audit.entries(ws, action="ssh.exec", limit=5)
    assert [(e.actor, e.outcome, e.detail, e.target) for e in exec_refusal] == \
        [("alice", "refused", "command of 20011 bytes (at most 8192)", long_command[:63] + "…")]
    assert [(e.actor, e.detail) for e in closed] == [("alice", "connection closed: protocol error: Max packet size "
                                                                "exceeded")]


def test_window_sizes_are_clamped_from_absurd_to_what_a_screen_can_show(workspace, keys, stand_in):
    most = f"{sessions.MAX_COLS}x{sessions.MAX_ROWS}"

    async def hostile(port: int) -> list[str]:
        seen = []
        async with connect(port, keys["alice"], encoding=None) as conn:
            process = await conn.create_process(term_type="xterm", term_size=(10_000, 10_000))
            seen.append(await read_until(process.stdout, rb"size \d+x\d+", 30))
            for size in ((80, 24), (10_000, 10_000), (0, 0), (2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1)):
                process.change_terminal_size(*size)
                seen.append(await read_until(process.stdout, rb"resized \d+x\d+\r\n", 30))
            process.stdin.write(b"q\n")  # the terminal is in line mode
            await process.wait_closed()
            seen.append(process.exit_status)
        return seen

    async def scenario(port: int):
        return await asyncio.gather(hostile(port), list_models(port, keys["bob"]))

    with RunningServer(workspace, child_argv=stand_in) as server:
        seen, (status, models, _) = run(scenario(server.port))
    sizes = [s.split()[-1].decode() if isinstance(s, bytes) else s for s in seen]
    assert sizes == [most, "80x24", most, "1x1", most, 0]
    assert (status, models) == (0, [])


def test_garbage_from_a_client_gets_a_prompt_refusal_and_one_audit_row_each(workspace, keys):
    garbage = {
        "random bytes after the version": b"SSH-2.0-Fuzz\r\n" + random.Random(2026).randbytes(65536),
        "a 4 GiB packet length": b"SSH-2.0-Fuzz\r\n" + b"\xff" * 64,
        "an HTTP request": b"GET / HTTP/1.1\r\nHost: kp\r\n\r\n",
        "a 20,000-byte version line": b"A" * 20_000,
    }

    async def scenario(port: int):
        async def fuzz(payload: bytes) -> float:
            reader, writer, _ = await dial(port, "127.0.0.5", payload)
            began = time.monotonic()
            ended = await until_closed(reader, 10)
            writer.close()
            return ended - began

        return await asyncio.gather(asyncio.gather(*(fuzz(p) for p in garbage.values())),
                                    list_models(port, keys["bob"]))

    with RunningServer(workspace) as server:
        took, (status, models, _) = run(scenario(server.port))
        rows = logins(workspace, 5)
    assert max(took) < 5, took  # refused at once, not left to the 30 s login timeout
    assert (status, models) == (0, [])
    refused = sorted((row.remote_addr, row.detail) for row in rows if row.outcome == "refused")
    assert refused == sorted([
        ("127.0.0.5", "closed before authenticating (protocol error: Max packet size exceeded)"),
        ("127.0.0.5", "closed before authenticating (protocol error: Max packet size exceeded)"),
        ("127.0.0.5", "closed before authenticating (unsupported protocol: Unsupported SSH version)"),
        ("127.0.0.5", "closed before authenticating (protocol error: Banner line too long)"),
    ])
