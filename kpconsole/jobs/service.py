"""What a person does with jobs — start, resume, cancel, list, show, read logs — as functions
the CLI, the TUI and the SSH entry points all call.

Listing or showing jobs first *reconciles*: an active job whose process is gone, whose
heartbeat is older than :data:`STALE_AFTER_S`, or that stayed queued without a process for
:data:`QUEUED_TIMEOUT_S`, is marked ``lost`` — never left "running".
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from engine.progress import Progress
from kpconsole.errors import ConsoleError, PermissionDenied, Remedy
from kpconsole.identity import Role
from kpconsole.jobs import detach, processes, runner
from kpconsole.jobs.kinds import JobKind, get_job_kind
from kpconsole.session import Session
from store import jobs as jobs_store
from store.clock import parse
from store.jobs import JobRecord
from store.workspace import Workspace

STALE_AFTER_S = 120.0
QUEUED_TIMEOUT_S = 60.0
CANCEL_GRACE_S = 10.0
TERM_GRACE_S = 5.0


# --- starting -----------------------------------------------------------------------------


def refuse_unless_allowed(session: Session, spec: JobKind, target: str, params: dict) -> None:
    """Refuse (and audit as refused, under the kind's own action) a role that may not make the
    change a job of kind ``spec`` makes."""
    session.authorize(spec.action, target=target, params=params)


def _check_owner(session: Session, job: JobRecord, verb: str) -> None:
    if session.actor.role is Role.ADMIN or job.started_by == session.actor.name:
        return
    raise PermissionDenied(
        f"{session.actor.name} ({session.actor.role}) may not {verb} job {job.id} of {job.started_by}: "
        "only whoever started it or an admin may"
    )


def _json_params(params: object) -> dict:
    if not isinstance(params, dict):
        raise ConsoleError(f"job parameters must be a JSON object, not {type(params).__name__}")
    try:
        return json.loads(json.dumps(params))
    except (TypeError, ValueError) as exc:
        raise ConsoleError(f"job parameters are not JSON ({exc})") from None


def _launch(session: Session, job_id: int, *, resume: bool) -> None:
    """Start the detached runner of a queued job; a launch failure fails the job."""
    path = runner.log_path(session.ws, job_id)
    try:
        pid = detach.launch(session.ws.root, job_id, path, resume=resume)
    except OSError as exc:
        jobs_store.finish(session.ws, job_id, "failed", error=f"could not start its process ({exc})", only_active=True)
        raise ConsoleError(f"job {job_id}: could not start its process ({exc})") from None
    jobs_store.set_pid(session.ws, job_id, pid)


def _run_inline(session: Session, job_id: int, *, resume: bool, progress: Progress | None) -> None:
    if not jobs_store.claim(session.ws, job_id, os.getpid()):
        raise ConsoleError(f"job {job_id} is no longer queued")
    runner.run_job(session, job_id, resume=resume, forward=progress)


def start_job(session: Session, kind: str, params: dict, *, detach: bool = True,
              progress: Progress | None = None) -> int:
    """Record a job of ``kind`` and run it; returns its id.

    ``detach=True`` (the default) starts a detached process and returns at once; ``False``
    runs it here (still recorded as a job, ``progress`` receiving its reports) and returns
    when it has ended — see its status with :func:`show_job`. Audited as ``jobs.start``.
    Parameters that do not read as the kind's request are refused before a job is recorded.
    """
    spec = get_job_kind(kind)
    params = _json_params(params)
    refuse_unless_allowed(session, spec, kind, params)
    spec.read_request(params)
    audited: dict = {"params": params, "detach": detach}
    with session.action("jobs.start", target=kind, params=audited):
        job_id = jobs_store.create_job(session.ws, kind, params, session.actor.name, actor=session.actor.as_dict())
        audited["job_id"] = job_id
        jobs_store.set_log_path(session.ws, job_id, str(runner.log_path(session.ws, job_id)))
        if detach:
            _launch(session, job_id, resume=False)
    if not detach:
        _run_inline(session, job_id, resume=False, progress=progress)
    return job_id


def resume_job(session: Session, job_id: int, *, detach: bool = True, progress: Progress | None = None) -> int:
    """Restart a lost, failed or cancelled job with ``resume=True`` and its checkpoint folder."""
    reconcile(session.ws)
    job = jobs_store.get_job(session.ws, job_id)
    if job.status not in ("lost", "failed", "cancelled"):
        raise ConsoleError(f"job {job_id} is {job.status}: only a lost, failed or cancelled job can be resumed")
    spec = get_job_kind(job.kind)
    refuse_unless_allowed(session, spec, job.kind, job.params)
    with session.action("jobs.resume", target=str(job_id), params={"kind": job.kind, "detach": detach}):
        _check_owner(session, job, "resume")
        if not jobs_store.requeue(session.ws, job_id, session.actor.as_dict()):
            raise ConsoleError(f"job {job_id} changed while resuming it", Remedy("look again with", f"jobs show {job_id}"))
        if detach:
            _launch(session, job_id, resume=True)
    if not detach:
        _run_inline(session, job_id, resume=True, progress=progress)
    return job_id


# --- cancelling ---------------------------------------------------------------------------


def _wait_inactive(ws: Workspace, job_id: int, timeout_s: float) -> JobRecord:
    deadline = time.monotonic() + timeout_s
    job = jobs_store.get_job(ws, job_id)
    while job.active and time.monotonic() < deadline:
        time.sleep(0.05)
        job = jobs_store.get_job(ws, job_id)
    return job


def cancel_job(session: Session, job_id: int, *, grace_s: float = CANCEL_GRACE_S,
               term_grace_s: float = TERM_GRACE_S, wait: bool = True) -> JobRecord:
    """Stop a job: ask it to (its progress callback raises ``Cancelled``), wait ``grace_s``, then
    SIGTERM its process group, wait ``term_grace_s``, then SIGKILL. With ``wait=False`` only ask.

    Signals go only to a detached runner of this very job (checked on its command line); a job
    running inline in someone's console stops at its next progress report.
    """
    reconcile(session.ws)
    job = jobs_store.get_job(session.ws, job_id)
    if not job.active:
        raise ConsoleError(f"job {job_id} is {job.status}, not running: nothing to cancel")
    with session.action("jobs.cancel", target=str(job_id), params={"grace_s": grace_s, "wait": wait}):
        _check_owner(session, job, "cancel")
        job = jobs_store.request_cancel(session.ws, job_id)
        if job.status == "queued" and job.pid is None:
            jobs_store.finish(session.ws, job_id, "cancelled", error="cancelled before it started", only_active=True)
        if not wait:
            return jobs_store.get_job(session.ws, job_id)
        job = _wait_inactive(session.ws, job_id, grace_s)
        if job.active and job.pid and processes.is_job_process(job.pid, job_id):
            _force_stop(session.ws, job, term_grace_s)
        return jobs_store.get_job(session.ws, job_id)


def _force_stop(ws: Workspace, job: JobRecord, term_grace_s: float) -> None:
    """SIGTERM, then SIGKILL, the process group of a detached job that ignored the cancel flag."""
    processes.signal_group(job.pid, signal.SIGTERM)
    if _wait_inactive(ws, job.id, term_grace_s).active or not processes.wait_gone(job.pid, term_grace_s):
        how = "killed (SIGKILL)"
        processes.signal_group(job.pid, signal.SIGKILL)
        processes.wait_gone(job.pid, 5.0)
    else:
        how = "stopped by SIGTERM"
    jobs_store.finish(ws, job.id, "cancelled", error=f"{how}: it did not stop when asked", only_active=True)


# --- watching -----------------------------------------------------------------------------


def _age_s(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    return (dt.datetime.now(dt.UTC) - parse(stamp)).total_seconds()


def reconcile(ws: Workspace, *, stale_after_s: float = STALE_AFTER_S,
              queued_timeout_s: float = QUEUED_TIMEOUT_S) -> list[int]:
    """Mark lost every active job whose process is gone or silent; returns their ids."""
    lost = []
    for job in jobs_store.active_jobs(ws):
        reason = None
        if job.pid is None:
            if _age_s(job.created_at) > queued_timeout_s:
                reason = f"it never started (queued for over {queued_timeout_s:.0f}s without a process)"
        elif not processes.is_alive(job.pid):
            reason = f"its process {job.pid} is gone (last heartbeat {job.heartbeat_at or 'never'})"
        elif job.status == "running" and _age_s(job.heartbeat_at) > stale_after_s:
            reason = f"no heartbeat for over {stale_after_s:.0f}s (process {job.pid} hangs or is not this job)"
        if reason and jobs_store.mark_lost(ws, job.id, reason):
            lost.append(job.id)
    return lost


def list_jobs(session: Session, *, status: str | None = None, limit: int = 50) -> list[JobRecord]:
    """Newest first, after marking lost jobs."""
    if status is not None and status not in jobs_store.ACTIVE + jobs_store.FINISHED:
        raise ConsoleError(f"unknown status '{status}' (one of {', '.join(jobs_store.ACTIVE + jobs_store.FINISHED)})")
    reconcile(session.ws)
    return jobs_store.list_jobs(session.ws, status=status, limit=limit)


def show_job(session: Session, job_id: int) -> JobRecord:
    reconcile(session.ws)
    return jobs_store.get_job(session.ws, job_id)


def job_log_path(session: Session, job_id: int) -> Path:
    job = jobs_store.get_job(session.ws, job_id)
    return Path(job.log_path) if job.log_path else runner.log_path(session.ws, job_id)


def read_log(session: Session, job_id: int, *, tail: int | None = None) -> str:
    """The job's log (its last ``tail`` lines); empty when it has written nothing yet."""
    path = job_log_path(session, job_id)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    if tail is not None:
        text = "".join(text.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
    return text


def follow_log(session: Session, job_id: int, *, tail: int | None = None, poll_s: float = 0.2,
               check_every_s: float = 1.0) -> Iterator[str]:
    """Yield the log as it grows, until the job has ended and everything it wrote was read."""
    path = job_log_path(session, job_id)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    data = _read_from(path, 0)
    offset = len(data)
    first = decoder.decode(data)
    if tail is not None:
        first = "".join(first.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
    if first:
        yield first
    checked = float("-inf")
    while True:
        chunk = _read_from(path, offset)
        if chunk:
            offset += len(chunk)
            yield decoder.decode(chunk)
            continue
        if time.monotonic() - checked >= check_every_s:
            checked = time.monotonic()
            if not show_job(session, job_id).active:
                rest = _read_from(path, offset)
                text = decoder.decode(rest, final=True)
                if text:
                    yield text
                return
        time.sleep(poll_s)


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read()
    except FileNotFoundError:
        return b""
