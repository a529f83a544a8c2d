"""Jobs: long work recorded in the jobs table, run detached so that it survives a closed
terminal or a dropped SSH link, watched, cancelled and resumed from any process.

The contract for an area that has long work (train, segment, value_fit, sim_run, …)
---------------------------------------------------------------------------------------

1. Write the job function in your service module (``kpconsole/services/<area>.py``)::

       def train_job(session: Session, params: dict, ctx: JobContext) -> JobResult:
           request = TrainRequest.from_params(params)      # validate: params is plain JSON
           state = None
           last = ctx.checkpoint_dir / "last.pt"
           if ctx.resume and last.exists():
               state = torch.load(last, weights_only=True)  # never unpickle objects
           model = engine_train(..., progress=ctx.progress, start=state,
                                on_epoch=lambda s: torch.save(s, last))
           return JobResult("model", str(model_id))

   * ``session`` acts as the person who started (or resumed) the job: call your service
     function with it, so its ``session.action(...)`` checks the role and audits as usual.
   * ``params`` is the JSON object given to :func:`start_job` (store absolute paths).
     Validate it and raise :class:`kpconsole.errors.ConsoleError` with a one-line message.
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

2. Register it at import time of that module::

       register_job_kind("train", train_job, action="model.train")

   ``action`` is your entry in :data:`kpconsole.policy.REQUIRED_ROLE`: a role that may not
   make the change is refused before a job is recorded. The detached runner finds kinds by
   importing every ``kpconsole.services`` module (see :mod:`kpconsole.jobs.registry`).

3. Start it from your CLI's ``--detach`` flag (and from the TUI)::

       job_id = start_job(session, "train", params)              # detached, returns at once
       start_job(session, "train", params, detach=False, progress=bar)  # here, recorded

   ``--detach`` prints the job id (``--json``: ``{"job_id": N}``).

Statuses: queued → running → succeeded | failed | cancelled | lost. ``kpconsole jobs
list|show|logs [--follow]|cancel|resume`` (see docs/jobs.md).
"""

from kpconsole.jobs.registry import JobContext, JobKind, JobResult, get_job_kind, job_kinds, register_job_kind
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
    "JobContext", "JobKind", "JobResult", "cancel_job", "follow_log", "get_job_kind", "job_kinds", "list_jobs",
    "read_log", "reconcile", "register_job_kind", "resume_job", "show_job", "start_job",
]
