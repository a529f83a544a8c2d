"""A person's session on a workspace: the open store plus who is acting.

Services take a :class:`Session` first. A change is wrapped in :meth:`Session.action`, which
checks the role the policy asks for and writes one audit row whatever the outcome::

    with session.action("data.ingest", target=name, params={"path": str(path)}):
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.progress import Cancelled
from kpconsole.errors import USER_ERRORS, PermissionDenied
from kpconsole.identity import Actor, Role, os_user, remote_addr_from_env
from kpconsole.policy import required_role
from store import audit
from store.workspace import DB_NAME, Workspace, default_location


@dataclass
class Session:
    ws: Workspace
    actor: Actor

    def require(self, needed: Role, action: str) -> None:
        if not self.actor.role.allows(needed):
            raise PermissionDenied(
                f"{self.actor.name} ({self.actor.role}) may not {action}: it needs the {needed} role"
            )

    def authorize(self, name: str, *, target: str | None = None, params: dict | None = None) -> None:
        """Raise :class:`PermissionDenied`, audited as refused, when the role may not do ``name``."""
        try:
            self.require(required_role(name), name)
        except PermissionDenied as exc:
            self._audit(name, target, params, "refused", str(exc))
            raise

    @contextmanager
    def action(self, name: str, *, target: str | None = None, params: dict | None = None) -> Iterator[None]:
        """Run a change: check the role, then audit it as ok, error or refused."""
        self.authorize(name, target=target, params=params)
        try:
            yield
        except Cancelled:
            self._audit(name, target, params, "error", "cancelled")
            raise
        except USER_ERRORS as exc:
            self._audit(name, target, params, "error", str(exc))
            raise
        except BaseException as exc:
            self._audit(name, target, params, "error", f"internal error: {type(exc).__name__}")
            raise
        self._audit(name, target, params, "ok", None)

    def _audit(self, action: str, target: str | None, params: dict | None, outcome: str, detail: str | None) -> None:
        audit.record(
            self.ws,
            actor=self.actor.name,
            role=str(self.actor.role),
            os_user=self.actor.os_user,
            ssh_key=self.actor.ssh_key,
            remote_addr=self.actor.remote_addr,
            action=action,
            target=target,
            params=params,
            outcome=outcome,
            detail=detail,
        )


def resolve_workspace(path: Path | None) -> Path:
    return Path(path).expanduser() if path else default_location()


def local_actor(ws_root: Path) -> Actor:
    """The person at this terminal: the workspace's owner is admin, anyone else gets the role
    the workspace grants them (refused when none); over SSH, the person who logged in."""
    from kpconsole import access

    acting = access.acting_actor(ws_root)
    if acting is not None:
        return acting
    user = os_user()
    db = Path(ws_root) / DB_NAME
    owner = db.exists() and db.stat().st_uid == os.getuid()
    role = Role.ADMIN if owner or not db.exists() else _granted_role(ws_root, user)
    return Actor(name=user, role=role, os_user=user, remote_addr=remote_addr_from_env())


def _granted_role(ws_root: Path, user: str) -> Role:
    from kpconsole import access

    return access.role_of_local_user(Workspace(ws_root), user)


def open_session(path: Path | None, *, actor: Actor | None = None) -> Session:
    """Open the workspace at ``path`` (or the default) for ``actor`` (or the local user)."""
    root = resolve_workspace(path)
    ws = Workspace.open(root)
    return Session(ws, actor or local_actor(root))


def create_session(path: Path | None, *, actor: Actor | None = None) -> Session:
    """Create (or upgrade) the workspace at ``path`` and open it."""
    root = resolve_workspace(path)
    ws = Workspace.create(root)
    return Session(ws, actor or local_actor(root))
