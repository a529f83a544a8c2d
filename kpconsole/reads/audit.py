"""The audit log as a person reads it: who did what, when, from where, newest first."""

from __future__ import annotations

from kpconsole.session import Session
from store import audit as store_audit
from store.audit import AuditEntry

__all__ = ["AuditEntry", "entries"]


def entries(session: Session, *, since: str | None = None, action: str | None = None,
            limit: int = 100) -> list[AuditEntry]:
    """At most ``limit`` entries, newest first: since an ISO-8601 UTC time, of actions starting
    with ``action`` (``data.`` or ``access.grant``)."""
    return store_audit.entries(session.ws, since=since, action=action, limit=limit)
