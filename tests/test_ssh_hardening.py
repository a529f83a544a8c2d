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
import selectors
import socket
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
from test_ssh_server import RunningServer, connect, keys, read_until, run, wait_for  # noqa: F401  (keys: a fixture)

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
