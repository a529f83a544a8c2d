"""Roles and SSH keys: grant, revoke, list, authorized_keys lines, and local OS users."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import asyncssh
import pytest

from conftest import tree_state
from kpconsole import access
from kpconsole.errors import PermissionDenied
from kpconsole.identity import Actor, Role
from kpconsole.session import Session
from kpconsole.ssh.authorized_keys import kpconsole_command
from store import access as store_access
from store import audit
from store.errors import NotFound
from store.workspace import Workspace


def write_key(folder: Path, name: str, comment: str | None = None) -> tuple[Path, asyncssh.SSHKey]:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment or f"{name}@laptop")
    path = folder / f"{name}.pub"
    path.write_bytes(key.export_public_key("openssh"))
    return path, key


def test_grant_with_a_key_prints_the_forced_command_line(workspace, tmp_path, kp):
    pub, key = write_key(tmp_path, "alice")
    result = kp(["access", "grant", "alice", "--role", "operator", "--key", str(pub)])
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    fingerprint = key.get_fingerprint("sha256")
    executable = kpconsole_command()
    assert line == (f'restrict,pty,command="{" ".join(executable)} --workspace {workspace.resolve()} ssh-entry '
                    f'--as alice --key {fingerprint}" {pub.read_text().strip()}')
    assert Path(executable[0]).is_absolute()
    grants = json.loads(kp(["access", "list", "--json"]).stdout)
    assert [(g["person"], g["role"], [k["fingerprint"] for k in g["keys"]]) for g in grants] == \
        [("alice", "operator", [fingerprint])]


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")
def test_fingerprint_is_the_one_ssh_keygen_prints(tmp_path):
    pub, _ = write_key(tmp_path, "bob")
    printed = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True).stdout
    assert access.read_public_key(pub).fingerprint == printed.split()[1]


def test_authorized_keys_file_is_edited_in_place_keeping_other_lines(workspace, tmp_path, kp):
    ssh_dir = tmp_path / "dot-ssh"
    ssh_dir.mkdir(mode=0o700)
    authorized = ssh_dir / "authorized_keys"
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyThatIsNotOursxxxxxxxxxxxxxxxxxxxx admin@host"
    authorized.write_text(other + "\n")
    authorized.chmod(0o600)
    alice, _ = write_key(tmp_path, "alice")
    bob, _ = write_key(tmp_path, "bob")
    for name, pub, role in (("alice", alice, "operator"), ("bob", bob, "analyst"), ("alice", alice, "admin")):
        result = kp(["access", "grant", name, "--role", role, "--key", str(pub),
                          "--authorized-keys", str(authorized)])
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
    lines = authorized.read_text().splitlines()
    assert lines[0] == other and len(lines) == 3  # alice's second grant replaced her line
    assert sum("--as alice " in ln for ln in lines) == 1 and sum("--as bob " in ln for ln in lines) == 1
    assert stat.S_IMODE(authorized.stat().st_mode) == 0o600
    assert [p.name for p in ssh_dir.iterdir()] == ["authorized_keys"]  # no temporary file left

    result = kp(["access", "revoke", "alice", "--authorized-keys", str(authorized)])
    assert result.returncode == 0, result.stderr
    lines = authorized.read_text().splitlines()
    assert lines[0] == other and len(lines) == 2 and "--as bob " in lines[1]
    assert [g.person for g in store_access.list_grants(Workspace.open(workspace))] == ["bob"]


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "boss"], "unknown role 'boss' (one of analyst, operator, admin)"),
    (["--role", "analyst", "--key", "{missing}"], "missing.pub: no such file"),
    (["--role", "analyst", "--key", "{private}"], "this is a private key; give the public key"),
    (["--role", "analyst", "--key", "{garbage}"], "garbage.pub: not an SSH public key"),
    (["--role", "analyst", "--authorized-keys", "{ak}"], "--authorized-keys needs --key"),
    (["--role", "analyst", "--key", "{taken}"], "is already registered to 'carol'"),
])
def test_bad_grants_are_one_line_errors_and_change_nothing(workspace, tmp_path, args, message, kp):
    taken, _ = write_key(tmp_path, "taken")
    admin = Session(Workspace.open(workspace), Actor("root", Role.ADMIN, "root"))
    access.grant(admin, "carol", Role.ANALYST, key_file=taken)
    private = tmp_path / "private.pub"
    private.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh"))
    (tmp_path / "garbage.pub").write_text("ssh-ed25519 not-base64!!\n")
    paths = {"missing": tmp_path / "missing.pub", "private": private, "garbage": tmp_path / "garbage.pub",
             "ak": tmp_path / "ak", "taken": taken}
    before_files = tree_state(workspace)
    before = store_access.list_grants(Workspace.open(workspace))
    result = kp(["access", "grant", "dave", *[a.format(**paths) for a in args]])
    assert result.returncode != 0
    assert result.stderr.startswith("kpconsole: ") or "Error" in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert store_access.list_grants(Workspace.open(workspace)) == before
    assert tree_state(workspace) == before_files


def test_only_admins_manage_access_and_refusals_are_audited(session, tmp_path):
    pub, _ = write_key(tmp_path, "eve")
    for role in (Role.OPERATOR, Role.ANALYST):
        other = Session(session.ws, Actor("mallory", role, "mallory"))
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            access.grant(other, "mallory", Role.ADMIN, key_file=pub)
        with pytest.raises(PermissionDenied):
            access.list_grants(other)
        with pytest.raises(PermissionDenied):
            access.revoke(other, "anyone")
    assert store_access.list_grants(session.ws) == []
    refused = [(e.action, e.outcome) for e in audit.entries(session.ws, action="access.", limit=20)]
    assert refused == [(a, "refused") for a in ("access.revoke", "access.list", "access.grant")] * 2


def test_grant_and_revoke_are_audited_with_their_parameters(session, tmp_path):
    pub, _ = write_key(tmp_path, "frank")
    access.grant(session, "frank", Role.ANALYST, key_file=pub)
    access.grant(session, "frank", Role.OPERATOR)
    assert store_access.get_grant(session.ws, "frank").role == "operator"  # role changed, key kept
    assert len(store_access.get_grant(session.ws, "frank").keys) == 1
    access.revoke(session, "frank")
    entries = audit.entries(session.ws, action="access.", limit=3)
    assert [(e.action, e.target, e.params.get("role")) for e in entries] == \
        [("access.revoke", "frank", None), ("access.grant", "frank", "operator"), ("access.grant", "frank", "analyst")]
    with pytest.raises(NotFound, match="no access granted to 'frank'"):
        access.revoke(session, "frank")


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give state.db to another OS user")
def test_an_os_user_who_does_not_own_the_workspace_gets_only_what_is_granted(workspace, tmp_path, kp):
    """Hand the workspace to another uid: this (root) user is then an ordinary local user."""
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,kind,ts\n1,10,view,2024-01-01T00:00:00\n")
    db = workspace / "state.db"
    os.chown(db, 4242, 4242)
    refused = kp(["data", "list"])
    assert refused.returncode == 1
    assert "OS user 'root' has no access to the workspace" in refused.stderr

    os.chown(db, 0, 0)
    assert kp(["access", "grant", "rita", "--role", "analyst", "--os-user", "root"]).returncode == 0
    os.chown(db, 4242, 4242)
    assert kp(["data", "list", "--json"]).stdout.strip() == "[]"
    before = tree_state(workspace)
    ingest = kp(["data", "ingest", str(events), "--name", "x"])
    assert ingest.returncode == 1 and "root (analyst) may not data.ingest" in ingest.stderr
    assert kp(["access", "list"]).returncode == 1
    assert tree_state(workspace) == before
    os.chown(db, 0, 0)


def test_a_login_ticket_is_stamped_and_expires_by_the_workspaces_clock(tmp_path, monkeypatch):
    ws = Workspace.create(tmp_path / "ws")
    monkeypatch.setattr(ws, "clock", lambda: "2026-01-15T09:30:00.000+00:00")
    store_access.create_ticket(ws, "f" * 64, store_access.Ticket("alice", None, "10.0.0.1"), ttl_s=30)
    row = ws.query("SELECT created_at, expires_at FROM ssh_tickets")[0]
    assert row == {"created_at": "2026-01-15T09:30:00.000+00:00", "expires_at": "2026-01-15T09:30:30.000+00:00"}
    monkeypatch.setattr(ws, "clock", lambda: "2026-01-15T09:30:31.000+00:00")
    assert store_access.redeem_ticket(ws, "f" * 64) is None  # expired by that clock, though the wall clock says not
