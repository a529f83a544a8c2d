"""The audit log: who did what, when, with which parameters, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass

from store.tables import AUDIT
from store.workspace import Workspace

OUTCOMES = ("ok", "error", "refused")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    role: str | None
    os_user: str | None
    ssh_key: str | None
    remote_addr: str | None
    action: str
    target: str | None
    params: dict
    outcome: str
    detail: str | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def record(
    ws: Workspace,
    *,
    actor: str,
    action: str,
    outcome: str,
    role: str | None = None,
    os_user: str | None = None,
    ssh_key: str | None = None,
    remote_addr: str | None = None,
    target: str | None = None,
    params: dict | None = None,
    detail: str | None = None,
) -> int:
    """Append one entry; returns its id."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    # Plain SQL, not the Table API: every SSH login and every command over SSH writes an entry
    # before it runs, and loading sqlite-utils for it would cost each of them (and the first
    # frame of a console opened over SSH) a quarter of a second; see Workspace.query.
    with ws.transaction() as conn:
        row = AUDIT.encode({
            "at": ws.now(), "actor": actor, "role": role, "os_user": os_user, "ssh_key": ssh_key,
            "remote_addr": remote_addr, "action": action, "target": target, "params": params or {},
            "outcome": outcome, "detail": detail,
        })
        cur = conn.execute(
            "INSERT INTO audit (at, actor, role, os_user, ssh_key, remote_addr, action, target, params, outcome, detail)"
            " VALUES (:at, :actor, :role, :os_user, :ssh_key, :remote_addr, :action, :target, :params, :outcome,"
            " :detail)", row)
    if cur.lastrowid is None:
        raise RuntimeError("the insert into audit made no row")
    return cur.lastrowid


def entries(
    ws: Workspace, *, since: str | None = None, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Newest first; ``since`` is an ISO-8601 time, ``action`` a prefix such as ``data.``."""
    where: list[str] = []
    args: list[object] = []
    if since:
        where.append("at >= ?")
        args.append(since)
    if action:
        where.append("action LIKE ?")
        args.append(action.rstrip("*") + "%")
    sql = "SELECT * FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [AuditEntry(**row) for row in AUDIT.rows(ws, sql, args)]
