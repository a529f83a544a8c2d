"""Who is acting: the person, their role, and where they came from."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a person may do. Each role may do everything the roles below it may."""

    ANALYST = "analyst"  # read-only
    OPERATOR = "operator"  # runs ingest, training, segmentation, simulations (jobs)
    ADMIN = "admin"  # also deletes and manages access

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.ANALYST: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Actor:
    """A person acting on a workspace, as the audit log records them."""

    name: str
    role: Role
    os_user: str
    ssh_key: str | None = None  # SHA256 fingerprint of the key they logged in with
    remote_addr: str | None = None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "role": str(self.role),
            "os_user": self.os_user,
            "ssh_key": self.ssh_key,
            "remote_addr": self.remote_addr,
        }


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to the numeric uid
        return f"uid{os.getuid()}"


def remote_addr_from_env() -> str | None:
    """The client address of an OpenSSH login (first field of ``SSH_CONNECTION``)."""
    conn = os.environ.get("SSH_CONNECTION", "").split()
    return conn[0] if conn else None
