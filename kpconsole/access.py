"""Roles granted by the workspace to people other than its owner."""

from __future__ import annotations

from kpconsole.identity import Role
from store.workspace import Workspace


def role_of_local_user(ws: Workspace, os_user: str) -> Role:
    """The role granted to a local OS user; analyst (read-only) when nothing is granted."""
    return Role.ANALYST
