"""Running one job: inline (in the calling process) or as the detached runner process.

Either way the runner claims the row (queued → running with its pid), keeps ``heartbeat_at``
fresh from a thread even while the job reports nothing, hands the job a progress callback that
records progress and raises :class:`engine.progress.Cancelled` once a cancel is requested,
and records how the job ended. A detached runner also turns SIGTERM (the second step of
``jobs cancel``) into ``Cancelled`` and ignores SIGHUP.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from engine.progress import Cancelled, Progress
from kpconsole import access
from kpconsole.errors import USER_ERRORS, ConsoleError
from kpconsole.identity import Actor, Role, os_user
from kpconsole.jobs.context import JobContext, JobResult
from kpconsole.jobs.kinds import get_job_kind
from kpconsole.session import Session, local_actor
from store import jobs as jobs_store
from store.clock import now
from store.jobs import JobRecord
from store.workspace import Workspace

HEARTBEAT_S = 1.0
PROGRESS_EVERY_S = 0.5


def checkpoint_dir(ws: Workspace, job_id: int) -> Path:
    """Where job ``job_id`` keeps its checkpoints: the same folder on every attempt."""
    return ws.models_dir / "checkpoints" / f"job-{job_id}"


def log_path(ws: Workspace, job_id: int) -> Path:
    """The log file of job ``job_id``."""
    return ws.logs_dir / f"job-{job_id}.log"


class JobLog:
    """Lines appended to a job's log file, each stamped with the UTC time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.write(f"{now()} {line}\n")

    def close(self) -> None:
        with self._lock:
            self._fh.close()


class _Heartbeat(threading.Thread):
    """Writes the heartbeat every ``interval`` seconds and notices cancel requests and loss of
    ownership (the job marked lost or resumed elsewhere), setting ``cancel`` for either."""

    def __init__(self, ws: Workspace, job_id: int, cancel: threading.Event, log: JobLog, interval: float) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.ws, self.job_id, self.cancel, self.log, self.interval = ws, job_id, cancel, log, interval
        self.pid = os.getpid()
        self.stopping = threading.Event()
        self.disowned = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.interval):
                try:
                    ours, cancel = jobs_store.beat(self.ws, self.job_id, self.pid)
                except Exception as exc:  # a failed beat is retried next time; the log says why
                    self.log(f"heartbeat failed: {type(exc).__name__}: {exc}")
                    continue
                if cancel and not self.cancel.is_set():
                    self.log("cancel requested")
                    self.cancel.set()
                if not ours:
                    self.log("this process no longer owns the job (marked lost or taken over); stopping")
                    self.disowned.set()
                    self.cancel.set()
                    return
        finally:
            self.ws.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


class _JobProgress:
    """The job's progress callback: forwards, records (at most every PROGRESS_EVERY_S), cancels."""

    def __init__(self, ws: Workspace, job_id: int, cancel: threading.Event, log: JobLog,
                 forward: Progress | None) -> None:
        self.ws, self.job_id, self.cancel, self.log, self.forward = ws, job_id, cancel, log, forward
        self._last = float("-inf")

    def __call__(self, fraction: float | None, message: str = "", metrics: Mapping[str, float] | None = None) -> None:
        if self.forward is not None:
            self.forward(fraction, message, metrics)
        if self.cancel.is_set():
            raise Cancelled("cancel requested")
        clock = time.monotonic()
        if clock - self._last < PROGRESS_EVERY_S and fraction != 1.0:
            return
        self._last = clock
        clean = {str(k): float(v) for k, v in metrics.items()} if metrics else None
        shown = "" if fraction is None else f"{fraction:6.1%} "
        self.log(f"progress {shown}{message}" + ("  " + "  ".join(f"{k}={v:.4g}" for k, v in clean.items())
                                                  if clean else ""))
        if jobs_store.report_progress(self.ws, self.job_id, fraction, message, clean):
            self.cancel.set()
            raise Cancelled("cancel requested")


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    raise Cancelled(f"stopped by {signal.Signals(signum).name}")


def run_job(session: Session, job_id: int, *, resume: bool = False, forward: Progress | None = None,
            detached: bool = False) -> JobRecord:
    """Run the already-claimed job ``job_id`` as ``session.actor`` and record how it ended."""
    ws = session.ws
    job = jobs_store.get_job(ws, job_id)
    pid = os.getpid()
    log = JobLog(Path(job.log_path) if job.log_path else log_path(ws, job_id))
    cancel = threading.Event()
    folder = checkpoint_dir(ws, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = JobContext(job_id, _JobProgress(ws, job_id, cancel, log, forward), folder, resume, log)
    heart = _Heartbeat(ws, job_id, cancel, log, HEARTBEAT_S)
    heart.start()
    log(f"job {job_id} ({job.kind}) {'resumed' if resume else 'started'} by {session.actor.name} "
        f"({session.actor.role}) in process {pid}")
    status, error, result = "failed", None, None
    if detached:
        signal.signal(signal.SIGTERM, _raise_cancelled)
    try:
        if job.cancel_requested:
            raise Cancelled("cancel requested before it started")
        spec = get_job_kind(job.kind)
        result = spec.run_function()(session, spec.read_request(job.params), ctx)
        if result is not None and not isinstance(result, JobResult):
            raise TypeError(f"job kind {job.kind} returned {type(result).__name__}, not JobResult or None")
        status = "succeeded"
    except Cancelled as exc:
        status, error = "cancelled", str(exc) or "cancelled"
    except USER_ERRORS as exc:
        status, error = "failed", (str(exc).splitlines() or [type(exc).__name__])[0]
    except Exception as exc:
        log(traceback.format_exc().rstrip())
        status, error = "failed", f"internal error ({type(exc).__name__}); details in {log.path}"
    except BaseException:
        jobs_store.finish(ws, job_id, "failed", error="interrupted", by_pid=pid)
        raise
    finally:
        if detached:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the recording below finish
        heart.stop()
    if heart.disowned.is_set():
        log(f"job {job_id} stopped ({status}) without recording it: another process owns it now")
    else:
        jobs_store.finish(ws, job_id, status, error=error, result_kind=result.kind if result else None,
                          result_id=result.id if result else None, by_pid=pid)
        log(f"job {job_id} {status}" + (f": {error}" if error else "") +
            (f" → {result.kind} {result.id}" if result else ""))
    if status == "succeeded":
        shutil.rmtree(folder, ignore_errors=True)
    log.close()
    return jobs_store.get_job(ws, job_id)


def actor_of(job: JobRecord, ws_root: Path) -> Actor:
    """The person a job acts as: who started (or last resumed) it; the local user if unrecorded."""
    who = job.actor or {}
    if who.get("name") and who.get("role"):
        return Actor(name=who["name"], role=Role(who["role"]), os_user=who.get("os_user") or os_user(),
                     ssh_key=who.get("ssh_key"), remote_addr=who.get("remote_addr"))
    return local_actor(ws_root)


def run_detached(ws_root: Path, job_id: int, *, resume: bool = False) -> int:
    """The detached runner (``python -m kpconsole.jobs.run ID``, ``kpconsole jobs _run ID``): claim
    the job, run it; returns 0 only on success."""
    ws = Workspace.open(ws_root)
    if not jobs_store.claim(ws, job_id, os.getpid()):
        job = jobs_store.get_job(ws, job_id)
        raise ConsoleError(f"job {job_id} is {job.status}, not queued: nothing to run")
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    job = jobs_store.get_job(ws, job_id)
    actor = actor_of(job, ws.root)
    with access.acting_as(actor, ws.root):
        record = run_job(Session(ws, actor), job_id, resume=resume, detached=True)
    sys.stdout.flush()
    return 0 if record.status == "succeeded" else 1
