"""Grants (person → role, optional OS user), their SSH public keys, and one-time SSH tickets.

The console layer (:mod:`kpconsole.access`) decides what these rows mean; this module only
reads and writes them. Roles are stored as their names (``admin``, ``operator``, ``analyst``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store.errors import NameTaken, NotFound, Remedy
from store.tables import ACCESS_GRANTS, SSH_KEYS, SSH_TICKETS
from store.workspace import Workspace


@dataclass(frozen=True)
class SshKeyRecord:
    person: str
    key_type: str
    public_key: str
    comment: str
    fingerprint: str
    added_at: str
    added_by: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class GrantRecord:
    person: str
    role: str
    os_user: str | None
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    keys: tuple[SshKeyRecord, ...] = ()

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "keys"}
        out["keys"] = [k.as_dict() for k in self.keys]
        return out


@dataclass(frozen=True)
class Ticket:
    person: str
    ssh_key: str | None
    remote_addr: str | None


_GRANT_COLUMNS = "person, role, os_user, created_at, created_by, updated_at, updated_by"
_KEY_COLUMNS = "person, key_type, public_key, comment, fingerprint, added_at, added_by"


def _grant(ws: Workspace, row: tuple) -> GrantRecord:
    """A grant from its row (the columns of ``_GRANT_COLUMNS``) with the person's keys."""
    person, role, os_user, created_at, created_by, updated_at, updated_by = row
    return GrantRecord(person, role, os_user, created_at, created_by, updated_at, updated_by, _keys_of(ws, person))


def _keys_of(ws: Workspace, person: str) -> tuple[SshKeyRecord, ...]:
    rows = ws.conn.execute(f"SELECT {_KEY_COLUMNS} FROM ssh_keys WHERE person = ? ORDER BY id", (person,))
    return tuple(SshKeyRecord(*row) for row in rows.fetchall())


@dataclass(frozen=True)
class NewKey:
    """A public key to register: type, ``"type base64"``, comment, SHA256 fingerprint."""

    key_type: str
    public_key: str
    comment: str
    fingerprint: str


def check_key_free(ws: Workspace, fingerprint: str, person: str) -> None:
    """Raise :class:`NameTaken` when the key is registered to someone other than ``person``."""
    owner = ws.conn.execute("SELECT person FROM ssh_keys WHERE fingerprint = ?", (fingerprint,)).fetchone()
    if owner and owner[0] != person:
        raise NameTaken(f"key {fingerprint} is already registered to '{owner[0]}'")


def upsert_grant(
    ws: Workspace, person: str, role: str, os_user: str | None, by: str, key: NewKey | None = None
) -> GrantRecord:
    """Create the grant or change its role (and OS user when one is given), and register
    ``key`` for the person — all in one transaction. The same key again is a no-op."""
    stamp = ws.now()
    with ws.transaction() as conn:
        if os_user is not None:
            other = conn.execute(
                "SELECT person FROM access_grants WHERE os_user = ? AND person != ?", (os_user, person)
            ).fetchone()
            if other:
                raise NameTaken(f"OS user '{os_user}' is already granted to '{other[0]}'")
        existing = conn.execute("SELECT id FROM access_grants WHERE person = ?", (person,)).fetchone()
        if existing is None:
            ACCESS_GRANTS.insert(ws, {"person": person, "role": role, "os_user": os_user, "created_at": stamp,
                                      "created_by": by, "updated_at": stamp, "updated_by": by})
        else:
            changes = {"role": role, "updated_at": stamp, "updated_by": by}
            ACCESS_GRANTS.update(ws, existing[0], changes if os_user is None else {**changes, "os_user": os_user})
        if key is not None:
            owner = conn.execute("SELECT person FROM ssh_keys WHERE fingerprint = ?", (key.fingerprint,)).fetchone()
            if owner and owner[0] != person:
                raise NameTaken(f"key {key.fingerprint} is already registered to '{owner[0]}'")
            if not owner:
                SSH_KEYS.insert(ws, {"person": person, "key_type": key.key_type, "public_key": key.public_key,
                                     "comment": key.comment, "fingerprint": key.fingerprint, "added_at": stamp,
                                     "added_by": by})
    return get_grant(ws, person)


def get_grant(ws: Workspace, person: str) -> GrantRecord:
    row = ws.conn.execute(f"SELECT {_GRANT_COLUMNS} FROM access_grants WHERE person = ?", (person,)).fetchone()
    if row is None:
        raise NotFound(f"no access granted to '{person}'", Remedy("see", "access list"))
    return _grant(ws, row)


def find_grant(ws: Workspace, person: str) -> GrantRecord | None:
    """The grant of ``person``, or None."""
    try:
        return get_grant(ws, person)
    except NotFound:
        return None


def grant_for_os_user(ws: Workspace, os_user: str) -> GrantRecord | None:
    row = ws.conn.execute(f"SELECT {_GRANT_COLUMNS} FROM access_grants WHERE os_user = ?", (os_user,)).fetchone()
    return _grant(ws, row) if row else None


def grant_for_fingerprint(ws: Workspace, fingerprint: str) -> GrantRecord | None:
    """The grant whose person registered the key with this fingerprint, or None."""
    row = ws.conn.execute("SELECT person FROM ssh_keys WHERE fingerprint = ?", (fingerprint,)).fetchone()
    return find_grant(ws, row[0]) if row else None


def list_grants(ws: Workspace) -> list[GrantRecord]:
    rows = ws.conn.execute(f"SELECT {_GRANT_COLUMNS} FROM access_grants ORDER BY person").fetchall()
    return [_grant(ws, row) for row in rows]


def delete_grant(ws: Workspace, person: str) -> GrantRecord:
    """Remove a grant and its keys; returns what was removed."""
    grant = get_grant(ws, person)
    with ws.transaction():
        for table in (SSH_KEYS, SSH_TICKETS, ACCESS_GRANTS):
            table.delete_where(ws, "person = ?", [person])
    return grant


def create_ticket(
    ws: Workspace, token_sha256: str, ticket: Ticket, ttl_s: float
) -> None:
    """Store a ticket (by the hash of its token) that one session process may redeem once."""
    created = dt.datetime.fromisoformat(ws.now())
    expires = (created + dt.timedelta(seconds=ttl_s)).isoformat(timespec="milliseconds")
    with ws.transaction():
        SSH_TICKETS.delete_where(ws, "expires_at < ?", [ws.now()])
        SSH_TICKETS.insert(ws, {"token_sha256": token_sha256, "person": ticket.person, "ssh_key": ticket.ssh_key,
                                "remote_addr": ticket.remote_addr,
                                "created_at": created.isoformat(timespec="milliseconds"), "expires_at": expires})


def redeem_ticket(ws: Workspace, token_sha256: str) -> Ticket | None:
    """Delete the ticket and return it, if it exists and has not expired; else None."""
    # SQL, not the Table API: DELETE … RETURNING takes the ticket and reads it in one statement,
    # and runs in each SSH session's process, which must not load sqlite-utils for it.
    with ws.transaction() as conn:
        rows = conn.execute(
            "DELETE FROM ssh_tickets WHERE token_sha256 = ? RETURNING person, ssh_key, remote_addr, expires_at",
            (token_sha256,),
        ).fetchall()
    if not rows or rows[0][3] < ws.now():
        return None
    row = rows[0]
    return Ticket(row[0], row[1], row[2])
