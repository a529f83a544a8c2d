"""The OpenSSH way in: ``kpconsole ssh-entry --as NAME`` with the environment sshd sets."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import asyncssh
import pytest

import test_jobs_kinds
from conftest import tree_state
from kpconsole import access
from kpconsole.identity import Actor, Role
from kpconsole.session import Session
from store import audit, catalog
from store import jobs as jobs_store
from store.workspace import Workspace

CLIENT = "203.0.113.9"
EVENTS = "user_id,item_id,kind,ts\n1,10,view,2024-01-01T00:00:00\n2,10,like,2024-01-02T00:00:00\n"


@pytest.fixture
def people(workspace, tmp_path) -> dict[str, str]:
    """alice (operator) and bob (analyst), each with a key; returns their fingerprints."""
    admin = Session(Workspace.open(workspace), Actor("root", Role.ADMIN, "root"))
    found = {}
    for name, role in (("alice", Role.OPERATOR), ("bob", Role.ANALYST)):
        key = asyncssh.generate_private_key("ssh-ed25519", comment=name)
        pub = tmp_path / f"{name}.pub"
        pub.write_bytes(key.export_public_key("openssh"))
        found[name] = access.grant(admin, name, role, key_file=pub).key.fingerprint
    return found


def sshd_env(command: str | None, **extra: str) -> dict[str, str]:
    """What sshd adds to the environment of a forced command."""
    env = {"SSH_CONNECTION": f"{CLIENT} 51234 127.0.0.1 22", "SSH_CLIENT": f"{CLIENT} 51234 22", **extra}
    if command is not None:
        env["SSH_ORIGINAL_COMMAND"] = command
    return env


def entry_argv(workspace: Path, person: str, key: str | None) -> list[str]:
    """The forced command of ``person``'s authorized_keys line."""
    return ["--workspace", str(workspace), "ssh-entry", "--as", person, *(["--key", key] if key else [])]


@pytest.fixture
def entry(cli, workspace, monkeypatch):
    """Run the entry point in this process with the environment sshd would set (no terminal)."""
    def run(person: str, key: str | None, command: str | None, **extra: str) -> subprocess.CompletedProcess:
        for name in [n for n in os.environ if n.startswith("SSH_")]:
            monkeypatch.delenv(name)
        for name, value in sshd_env(command, **extra).items():
            monkeypatch.setenv(name, value)
        result = cli(*entry_argv(workspace, person, key))
        return subprocess.CompletedProcess(person, result.code, result.stdout, result.stderr)

    return run


def test_exec_runs_a_read_command_and_records_the_login(workspace, people):
    """As sshd runs it: a new process, the command in SSH_ORIGINAL_COMMAND, stdin not a terminal."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SSH_")}, **sshd_env("data list --json")}
    result = subprocess.run([sys.executable, "-m", "kpconsole", *entry_argv(workspace, "bob", people["bob"])],
                            capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    login = audit.entries(Workspace.open(workspace), action="ssh.login", limit=1)[0]
    assert (login.actor, login.role, login.ssh_key, login.remote_addr, login.outcome, login.target) == \
        ("bob", "analyst", people["bob"], CLIENT, "ok", "openssh command")


def test_analyst_exec_of_a_change_is_refused_audited_and_changes_nothing(workspace, people, tmp_path, entry):
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    before = tree_state(workspace)
    result = entry("bob", people["bob"], f"data ingest {events} --name mine")
    assert result.returncode == 1
    assert result.stderr == "kpconsole: bob (analyst) may not data.ingest: it needs the operator role\n"
    ws = Workspace.open(workspace)
    assert tree_state(workspace) == before and catalog.list_datasets(ws) == []
    refused = audit.entries(ws, action="data.ingest", limit=1)[0]
    assert (refused.actor, refused.outcome, refused.ssh_key, refused.remote_addr) == \
        ("bob", "refused", people["bob"], CLIENT)


def test_operator_detached_job_acts_as_them_with_their_key_and_address(workspace, people, tmp_path, entry):
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    result = entry("alice", people["alice"], f"data ingest '{events}' --name theirs --detach --json")
    assert result.returncode == 0, result.stderr
    job_id = json.loads(result.stdout)["job_id"]
    ws = Workspace.open(workspace)
    deadline = time.monotonic() + 60
    while jobs_store.get_job(ws, job_id).active and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs_store.get_job(ws, job_id).status == "succeeded"
    made = audit.entries(ws, action="data.ingest", limit=1)[0]
    assert (made.actor, made.role, made.ssh_key, made.remote_addr, made.outcome) == \
        ("alice", "operator", people["alice"], CLIENT, "ok")


@pytest.mark.parametrize(("command", "message"), [
    ("init", "'init' is not available over SSH"),
    ("jobs _run 1", "'jobs _run' is not available over SSH"),
    ("serve-ssh --host 0.0.0.0", "'serve-ssh' is not available over SSH"),
    ("data list -w /tmp/elsewhere", "the workspace is fixed for SSH logins"),
    ("data list --workspace=/tmp/elsewhere", "the workspace is fixed for SSH logins"),
    ("data show 'unclosed", "cannot parse the command"),
])
def test_commands_outside_the_allow_list_are_refused_with_exit_2(workspace, people, command, message, entry):
    result = entry("alice", people["alice"], command)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    refused = audit.entries(Workspace.open(workspace), action="ssh.exec", limit=1)[0]
    assert (refused.actor, refused.outcome, refused.target) == ("alice", "refused", command)


def test_the_command_is_never_given_to_a_shell(workspace, people, tmp_path, entry):
    marker = tmp_path / "pwned"
    result = entry("bob", people["bob"], f'data show "$(touch {marker})"; touch {marker}')
    assert result.returncode != 0
    assert not marker.exists()


def test_exit_status_is_the_commands(workspace, people, entry):
    assert entry("bob", people["bob"], "jobs show 999").returncode == 1
    assert entry("bob", people["bob"], "data list --no-such-option").returncode == 2


def test_no_command_and_no_terminal_is_a_hint_and_exit_2(workspace, people, entry):
    result = entry("bob", people["bob"], None)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kpconsole: no command and no terminal: use `ssh -t …` for the console, or give a command, e.g. `ssh … data list`"
    ]


def test_a_revoked_person_is_refused_even_if_their_line_stays(workspace, people, entry):
    admin = Session(Workspace.open(workspace), Actor("root", Role.ADMIN, "root"))
    access.revoke(admin, "bob")
    result = entry("bob", people["bob"], "data list")
    assert result.returncode == 1 and "'bob' has no access to the workspace" in result.stderr
    refused = audit.entries(Workspace.open(workspace), action="ssh.login", limit=1)[0]
    assert (refused.actor, refused.outcome, refused.ssh_key, refused.remote_addr) == \
        ("bob", "refused", people["bob"], CLIENT)


def test_a_key_that_is_not_the_persons_is_refused(workspace, people, entry):
    result = entry("bob", people["alice"], "data list")
    assert result.returncode == 1 and "is not registered to 'bob'" in result.stderr


def test_an_interactive_login_on_a_terminal_gets_the_console_as_the_person(workspace, people):
    """sshd with ``pty``: the forced command runs on a terminal with an empty command."""
    pytest.importorskip("kpconsole.tui.app", reason="the console (kpconsole.tui) is not in this tree yet")
    argv = [sys.executable, "-m", "kpconsole", *entry_argv(workspace, "bob", people["bob"])]
    env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR" and not k.startswith("SSH_")},
           **sshd_env("", SSH_TTY="/dev/pts/9", TERM="xterm-256color"), "COLUMNS": "80", "LINES": "24"}
    pid, master = pty.fork()
    if pid == 0:
        os.execve(sys.executable, argv, env)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while b"Data" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        assert b"Data" in seen, seen[-500:]
    finally:
        os.close(master)
        os.waitpid(pid, 0)
    login = audit.entries(Workspace.open(workspace), action="ssh.login", limit=1)[0]
    assert (login.actor, login.target, login.ssh_key) == ("bob", "openssh console", people["bob"])


@pytest.fixture(autouse=True)
def _job_modules(monkeypatch):
    for key, value in test_jobs_kinds.job_env().items():
        monkeypatch.setenv(key, value)
