"""Who may use a workspace, with which role, and with which SSH keys.

Rules (enforced here and by :meth:`kpconsole.session.Session.action` for CLI, TUI and SSH):

* **Local use.** The OS user owning ``state.db`` is admin. Any other OS user gets the role of
  the grant whose ``os_user`` is theirs (``kpconsole access grant NAME --role R --os-user
  USER``); an OS user with **no grant is refused** entirely, not given a read-only role: the
  owner decides who reads the data. (Filesystem permissions come first: an OS user who may
  write ``state.db`` could bypass any tool. For hard separation give people SSH access only
  and keep the workspace folder ``0700``.)
* **SSH.** A person logs in with a key registered by ``kpconsole access grant NAME --key
  FILE``; the key's person and that person's role decide, whatever OS account the SSH
  process runs as. :func:`acting_as` makes the whole process act as that person (see
  :mod:`kpconsole.ssh`).

Grant, revoke and list are admin-only actions (``access.grant``, ``access.revoke``,
``access.list``) and are audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpconsole.errors import ConsoleError, InvalidField, PermissionDenied, Remedy
from kpconsole.identity import Actor, Role, os_user
from store import access as store_access
from store.access import GrantRecord, NewKey, SshKeyRecord
from store.workspace import Workspace

if TYPE_CHECKING:
    from kpconsole.session import Session

PERSON = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
MAX_KEY_FILE_BYTES = 16_384


# --- acting as a person (SSH) -------------------------------------------------------------

_acting: tuple[Actor, Path] | None = None


@contextmanager
def acting_as(actor: Actor, ws_root: Path) -> Iterator[None]:
    """Make every session this process opens on ``ws_root`` act as ``actor``.

    Used by the SSH entry points, whose process serves exactly one person: whatever the CLI
    or TUI opens afterwards (``open_session``) gets this actor instead of the local OS user.
    Opening any *other* workspace while acting is refused. The value lives in this process
    only: no environment variable or file can set it.
    """
    global _acting
    previous = _acting
    _acting = (actor, Path(ws_root).resolve())
    try:
        yield
    finally:
        _acting = previous


def acting_actor(ws_root: Path) -> Actor | None:
    """The actor set by :func:`acting_as` for ``ws_root``; None when not acting.

    Raises :class:`PermissionDenied` when acting for another workspace.
    """
    if _acting is None:
        return None
    actor, root = _acting
    if Path(ws_root).resolve() != root:
        raise PermissionDenied(f"{actor.name} may only use the workspace {root} here")
    return actor


# --- roles --------------------------------------------------------------------------------


def role_of_local_user(ws: Workspace, user: str) -> Role:
    """The role granted to a local OS user who does not own the workspace; refused if none."""
    grant = store_access.grant_for_os_user(ws, user)
    if grant is None:
        raise PermissionDenied(f"OS user '{user}' has no access to the workspace {ws.root}", Remedy(
            "its owner can grant it", "access grant NAME", (("role", "analyst"), ("os_user", user))))
    return Role(grant.role)


def actor_for_person(
    ws: Workspace, person: str, *, ssh_key: str | None = None, remote_addr: str | None = None
) -> Actor:
    """The actor for a granted person logging in over SSH; refused if nothing is granted."""
    grant = store_access.find_grant(ws, person)
    if grant is None:
        raise PermissionDenied(f"'{person}' has no access to the workspace {ws.root}")
    if ssh_key is not None and ssh_key not in {k.fingerprint for k in grant.keys}:
        raise PermissionDenied(f"key {ssh_key} is not registered to '{person}'")
    return Actor(name=person, role=Role(grant.role), os_user=os_user(), ssh_key=ssh_key, remote_addr=remote_addr)


def person_for_key(ws: Workspace, fingerprint: str) -> GrantRecord | None:
    """The grant whose person registered the key with this SHA256 fingerprint, or None."""
    return store_access.grant_for_fingerprint(ws, fingerprint)


# --- SSH public keys ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """An SSH public key as OpenSSH writes it, with its SHA256 fingerprint."""

    key_type: str
    public_key: str  # "ssh-ed25519 AAAA…"
    comment: str
    fingerprint: str  # "SHA256:…", as `ssh-keygen -l` prints it

    def openssh(self) -> str:
        return f"{self.public_key} {self.comment}".rstrip()


def parse_public_key(text: str, source: str) -> PublicKey:
    """Parse one OpenSSH (or RFC 4716) public key; a bad key is a one-line error naming ``source``.

    >>> parse_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEjbp88KQFvh9qQ9SMDaoCTmswnNTNZsxYyQDN+jdFp1 a@b",
    ...                  "k.pub").fingerprint
    'SHA256:tZHf33jYxosmCMRje+Usp0HI+W+XP/EmPFCj2qig1sg'
    """
    import asyncssh  # only key management and the SSH server need it

    stripped = text.strip()
    if not stripped:
        raise ConsoleError(f"{source}: empty file, expected an SSH public key (e.g. ~/.ssh/id_ed25519.pub)")
    if "PRIVATE KEY" in stripped:
        raise ConsoleError(f"{source}: this is a private key; give the public key (the .pub file)")
    try:
        key = asyncssh.import_public_key(stripped)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise ConsoleError(f"{source}: not an SSH public key ({exc})") from None
    key_type = key.algorithm.decode()
    if key_type not in KEY_TYPES:
        raise ConsoleError(f"{source}: key type {key_type} is not accepted (use one of {', '.join(KEY_TYPES)})")
    exported = key.export_public_key("openssh").decode().split()
    comment = key.get_comment() or ""
    return PublicKey(key_type, f"{exported[0]} {exported[1]}", " ".join(comment.split()), key.get_fingerprint("sha256"))


def read_public_key(path: Path) -> PublicKey:
    """Read and parse a public key file."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise ConsoleError(f"{path}: too large for a public key file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConsoleError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsoleError(f"{path}: cannot read it ({exc})") from None
    return parse_public_key(text, str(path))


# --- grant, revoke, list (admin) ----------------------------------------------------------


def check_person(name: str) -> str:
    if not PERSON.match(name or ""):
        raise ConsoleError(
            f"invalid person name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise ConsoleError(f"unknown role '{text}' (one of {', '.join(r.value for r in Role)})") from None


@dataclass(frozen=True)
class GrantOutcome:
    """What ``access grant`` did: the grant, the key it added (if any) and its sshd line."""

    grant: GrantRecord
    key: SshKeyRecord | None
    authorized_keys_line: str | None
    authorized_keys_file: str | None

    def as_dict(self) -> dict:
        return {
            "grant": self.grant.as_dict(),
            "key": self.key.as_dict() if self.key else None,
            "authorized_keys_line": self.authorized_keys_line,
            "authorized_keys_file": self.authorized_keys_file,
        }


def grant(
    session: Session,
    person: str,
    role: Role,
    *,
    os_account: str | None = None,
    key_file: Path | None = None,
    authorized_keys: Path | None = None,
) -> GrantOutcome:
    """Grant ``role`` to ``person`` (create or change), optionally register a key and write the
    sshd forced-command line into ``authorized_keys``. Admin only; audited as ``access.grant``."""
    from kpconsole.ssh import authorized_keys as ak

    check_person(person)
    params = {"role": str(role), "os_user": os_account, "key_file": str(key_file) if key_file else None,
              "authorized_keys": str(authorized_keys) if authorized_keys else None}
    with session.action("access.grant", target=person, params=params):
        key = read_public_key(key_file) if key_file else None
        if authorized_keys is not None and key is None:
            raise InvalidField("{authorized_keys} needs {key} (the public key to write a line for)", "authorized_keys", "key")
        if os_account is not None and not PERSON.match(os_account):
            raise ConsoleError(f"invalid OS user name {os_account!r}")
        line = None
        if key is not None:
            store_access.check_key_free(session.ws, key.fingerprint, person)
            line = ak.forced_command_line(session.ws.root, person, key)
            if authorized_keys is not None:  # first: a line without a grant lets nobody in
                ak.install_line(Path(authorized_keys).expanduser(), key, line)
        new_key = NewKey(key.key_type, key.public_key, key.comment, key.fingerprint) if key else None
        record = store_access.upsert_grant(session.ws, person, str(role), os_account, session.actor.name, new_key)
        added = next((k for k in record.keys if key and k.fingerprint == key.fingerprint), None)
        return GrantOutcome(record, added, line, str(authorized_keys) if authorized_keys else None)


def revoke(session: Session, person: str, *, authorized_keys: Path | None = None) -> GrantRecord:
    """Remove a person's grant and keys (and their lines in ``authorized_keys``). Admin only."""
    from kpconsole.ssh import authorized_keys as ak

    check_person(person)
    params = {"authorized_keys": str(authorized_keys) if authorized_keys else None}
    with session.action("access.revoke", target=person, params=params):
        removed = store_access.delete_grant(session.ws, person)
        if authorized_keys is not None:
            ak.remove_person(Path(authorized_keys).expanduser(), person)
        return removed


def list_grants(session: Session) -> list[GrantRecord]:
    """Every grant with its keys. Admin only (it shows who can get in); audited as ``access.list``."""
    with session.action("access.list"):
        return store_access.list_grants(session.ws)
