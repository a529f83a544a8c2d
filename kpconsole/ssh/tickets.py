"""One-time tickets: how the built-in SSH server tells a session process who logged in.

The server makes a random 256-bit token, stores only its SHA-256 (with the person, key
fingerprint and remote address, valid for :data:`TTL_S` seconds) and writes the token into a
pipe whose read end the session process inherits (``--ticket-fd N``). The process redeems it,
which deletes it. Nothing in the environment or on the command line names a person, so a
local user who starts ``python -m kpconsole.ssh.child`` by hand gets nowhere without a live
token, and tokens are never on disk. (Only someone who can *write* ``state.db`` could plant a
ticket — and they could equally grant themselves a role: protect the workspace folder.)
"""

from __future__ import annotations

import hashlib
import os
import secrets

from store import access as store_access
from store.access import Ticket
from store.workspace import Workspace

TTL_S = 30.0
MAX_TOKEN_BYTES = 256


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue(ws: Workspace, person: str, ssh_key: str | None, remote_addr: str | None) -> str:
    """Store a ticket for ``person`` and return its token (to hand over through a pipe only)."""
    token = secrets.token_urlsafe(32)
    store_access.create_ticket(ws, _digest(token), Ticket(person, ssh_key, remote_addr), TTL_S)
    return token


def redeem(ws: Workspace, token: str) -> Ticket | None:
    """The ticket for ``token``, deleted on the way; None when unknown, used or expired."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_BYTES or not token.isascii():
        return None
    return store_access.redeem_ticket(ws, _digest(token))


def read_token(fd: int) -> str:
    """Read the token from the inherited pipe ``fd`` (until EOF) and close it."""
    chunks = []
    try:
        while sum(len(c) for c in chunks) <= MAX_TOKEN_BYTES:
            chunk = os.read(fd, 512)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("ascii", errors="replace")
