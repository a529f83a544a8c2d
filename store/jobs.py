"""The jobs table: long work recorded so that any process can watch, cancel or recover it.

Status moves queued → running → succeeded | failed | cancelled; a running job whose process
is gone and whose heartbeat is stale becomes ``lost`` (see :func:`mark_lost`).

Each move of that state machine stays one SQL ``UPDATE … WHERE id = ? AND status …`` (with
``COALESCE`` where a value is kept): its row count says whether this process made the move, and
sqlite-utils' Table API updates a row by its key only. The other writes go through
:data:`store.tables.JOBS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store.errors import NotFound
from store.tables import JOBS
from store.workspace import Workspace

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled", "lost")


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: str
    params: dict
    status: str
    progress: float
    message: str
    metrics: dict
    pid: int | None
    heartbeat_at: str | None
    cancel_requested: bool
    started_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    log_path: str | None
    result_kind: str | None
    result_id: str | None
    error: str | None
    actor: dict = field(default_factory=dict)  # who started (or last resumed) it: name, role, ssh_key, …

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _record(row: dict) -> JobRecord:
    return JobRecord(**{**row, "cancel_requested": bool(row["cancel_requested"])})


def create_job(
    ws: Workspace, kind: str, params: dict, started_by: str, log_path: str | None = None, actor: dict | None = None
) -> int:
    """Insert a queued job; ``actor`` (name, role, os_user, ssh_key, remote_addr) is who it acts as."""
    with ws.transaction():
        return JOBS.insert(ws, {"kind": kind, "params": params, "status": "queued", "started_by": started_by,
                                "created_at": ws.now(), "log_path": log_path, "actor": actor or {}})


def active_jobs(ws: Workspace) -> list[JobRecord]:
    """Every queued or running job, oldest first."""
    return [_record(r) for r in JOBS.rows(ws, "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY id")]


def set_pid(ws: Workspace, job_id: int, pid: int) -> None:
    """Record the process of a job that has been launched but has not claimed its row yet."""
    with ws.transaction() as conn:
        conn.execute("UPDATE jobs SET pid = ? WHERE id = ? AND status = 'queued'", (pid, job_id))


def claim(ws: Workspace, job_id: int, pid: int) -> bool:
    """queued → running by process ``pid``; False when the job is not queued (already claimed,
    finished, or never existed). Keeps a cancel request made while it was queued."""
    stamp = ws.now()
    with ws.transaction() as conn:
        cur = conn.execute(
            "UPDATE jobs SET status = 'running', pid = ?, started_at = COALESCE(started_at, ?), heartbeat_at = ?,"
            " finished_at = NULL, error = NULL WHERE id = ? AND status = 'queued'",
            (pid, stamp, stamp, job_id),
        )
        return cur.rowcount > 0


def requeue(ws: Workspace, job_id: int, actor: dict) -> bool:
    """A finished (lost, failed or cancelled) job back to queued, to be resumed as ``actor``.

    Keeps its progress, parameters and log; returns False when the job is active or succeeded.
    """
    with ws.transaction() as conn:
        cur = conn.execute(
            "UPDATE jobs SET status = 'queued', pid = NULL, heartbeat_at = NULL, finished_at = NULL, error = NULL,"
            " cancel_requested = 0, actor = ? WHERE id = ? AND status IN ('lost', 'failed', 'cancelled')",
            (JOBS.encode({"actor": actor})["actor"], job_id),
        )
        return cur.rowcount > 0


def get_job(ws: Workspace, job_id: int) -> JobRecord:
    rows = JOBS.rows(ws, "SELECT * FROM jobs WHERE id = ?", [job_id])
    if not rows:
        raise NotFound(f"no job {job_id}")
    return _record(rows[0])


def list_jobs(ws: Workspace, *, status: str | None = None, limit: int = 50) -> list[JobRecord]:
    sql, args = "SELECT * FROM jobs", list[object]()
    if status:
        sql += " WHERE status = ?"
        args.append(status)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [_record(r) for r in JOBS.rows(ws, sql, args)]


def set_log_path(ws: Workspace, job_id: int, log_path: str) -> None:
    with ws.transaction():
        JOBS.update(ws, job_id, {"log_path": log_path})


def report_progress(
    ws: Workspace, job_id: int, fraction: float | None, message: str, metrics: dict | None = None
) -> bool:
    """Record progress and a heartbeat; returns whether cancellation has been requested."""
    kept_when_none = {"progress": fraction, "metrics": metrics}
    with ws.transaction() as conn:
        JOBS.update(ws, job_id, {"message": message, "heartbeat_at": ws.now(),
                                 **{column: value for column, value in kept_when_none.items() if value is not None}})
        row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return bool(row and row[0])


def beat(ws: Workspace, job_id: int, pid: int) -> tuple[bool, bool]:
    """The heartbeat of process ``pid`` running job ``job_id``.

    Returns ``(ours, cancel_requested)``: ``ours`` is False once the job is no longer running
    under this pid (marked lost, cancelled by force, or resumed by another process); the
    heartbeat is then not written.
    """
    with ws.transaction() as conn:
        cur = conn.execute(
            "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND pid = ? AND status = 'running'", (ws.now(), job_id, pid)
        )
        row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return cur.rowcount > 0, bool(row and row[0])


def request_cancel(ws: Workspace, job_id: int) -> JobRecord:
    with ws.transaction() as conn:
        conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status IN ('queued', 'running')", (job_id,))
    return get_job(ws, job_id)


def finish(
    ws: Workspace,
    job_id: int,
    status: str,
    *,
    error: str | None = None,
    result_kind: str | None = None,
    result_id: str | None = None,
    only_active: bool = False,
    by_pid: int | None = None,
) -> bool:
    """Record how a job ended; with ``only_active`` only if it is still queued or running, with
    ``by_pid`` only if it is still running under that process. Returns whether the row changed.
    """
    if status not in FINISHED:
        raise ValueError(f"finish status must be one of {FINISHED}")
    guard, extra = "", []
    if only_active:
        guard += " AND status IN ('queued', 'running')"
    if by_pid is not None:
        guard += " AND status = 'running' AND pid = ?"
        extra.append(by_pid)
    with ws.transaction() as conn:
        cur = conn.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, error = ?, result_kind = COALESCE(?, result_kind),"
            " result_id = COALESCE(?, result_id), progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END"
            " WHERE id = ?" + guard,
            (status, ws.now(), error, result_kind, result_id, status, job_id, *extra),
        )
        return cur.rowcount > 0


def mark_lost(ws: Workspace, job_id: int, reason: str) -> bool:
    """Mark a job lost if it is still active; returns whether this call changed it."""
    with ws.transaction() as conn:
        cur = conn.execute(
            "UPDATE jobs SET status = 'lost', finished_at = ?, error = ? WHERE id = ? AND status IN ('queued', 'running')",
            (ws.now(), reason, job_id),
        )
        return cur.rowcount > 0
