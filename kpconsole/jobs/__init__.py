"""Jobs: long work recorded in the jobs table, run detached so that it survives a closed
terminal or a dropped SSH link, watched, cancelled and resumed from any process.

The contract for an area that has long work (train, segment, value_fit, sim_run, …)
---------------------------------------------------------------------------------------

1. Declare the request as a :class:`~kpconsole.jobs.request.JobRequest` dataclass: its fields
   (with their types) are the job's parameters, ``__post_init__`` checks them::

       @dataclass(frozen=True)
       class TrainRequest(JobRequest):
           data: str
           algo: str
           test_ratio: float = 0.2

2. Write the run function in your service module (``kpconsole/services/<area>.py``); the
   runner hands it the request read from the job's JSON parameters::

       def train_job(session: Session, request: TrainRequest, ctx: JobContext) -> JobResult:
           state = None
           last = ctx.checkpoint_dir / "last.pt"
           if ctx.resume and last.exists():
               state = torch.load(last, weights_only=True)  # never unpickle objects
           model = engine_train(..., progress=ctx.progress, start=state,
                                on_epoch=lambda s: torch.save(s, last))
           return JobResult("model", str(model_id))

   * ``session`` acts as the person who started (or resumed) the job: call your service
     function with it, so its ``session.action(...)`` checks the role and audits as usual.
   * The parameters are ``request.as_params()`` given to :func:`start_job` (paths absolute);
     a missing or odd one fails the job, or refuses to start it, with one line naming it.
   * ``ctx.progress`` is an engine ``Progress`` callback; pass it to engine work. It records
     progress and metrics, and raises :class:`engine.progress.Cancelled` when someone runs
     ``jobs cancel`` — let it propagate. A heartbeat thread keeps the job alive while your
     code is silent, so report when you can but you do not have to.
   * ``ctx.checkpoint_dir`` (``<workspace>/models/checkpoints/job-<id>/``) is the same folder
     on every attempt; the runner creates it, and removes it after success. Write checkpoints
     atomically (``torch.save`` to a temporary name, then ``os.replace``).
   * ``ctx.resume`` is True when ``jobs resume ID`` restarted a lost, failed or cancelled job:
     continue from the latest checkpoint; with the same seed the result must equal an
     uninterrupted run's.
   * ``ctx.log(line)`` writes to ``logs/job-<id>.log`` (``jobs logs ID --follow``).
   * Return ``JobResult(kind, id)`` naming what you made (``model``/``42``), or None.

   Then add a row to :data:`kpconsole.jobs.kinds.KINDS`::

       JobKind("train", request="kpconsole.services.model_requests:TrainRequest",
               run="kpconsole.services.models:train_job", action="model.train")

   ``action`` is your entry in :data:`kpconsole.policy.REQUIRED_ROLE`: a role that may not
   make the change is refused before a job is recorded. Nothing registers on import; tests
   and plug-ins add kinds through ``$KPCONSOLE_JOB_MODULES`` or
   :func:`~kpconsole.jobs.kinds.add_job_kind` (see :mod:`kpconsole.jobs.kinds`).

3. Start it from your CLI's ``--detach`` flag (and from the TUI)::

       job_id = start_job(session, "train", request.as_params())             # detached, returns at once
       start_job(session, "train", request.as_params(), detach=False, progress=bar)  # here, recorded

   ``--detach`` prints the job id (``--json``: ``{"job_id": N}``).

Statuses: queued → running → succeeded | failed | cancelled | lost. ``kpconsole jobs
list|show|logs [--follow]|cancel|resume`` (see docs/jobs.md).
"""

from kpconsole.jobs.context import JobContext, JobResult
from kpconsole.jobs.kinds import JobKind, add_job_kind, get_job_kind, job_kinds
from kpconsole.jobs.request import JobRequest
from kpconsole.jobs.service import (
    cancel_job,
    follow_log,
    list_jobs,
    read_log,
    reconcile,
    resume_job,
    show_job,
    start_job,
)

__all__ = [
    "JobContext", "JobKind", "JobRequest", "JobResult", "add_job_kind", "cancel_job", "follow_log", "get_job_kind",
    "job_kinds", "list_jobs", "read_log", "reconcile", "resume_job", "show_job", "start_job",
]
