"""A job kind for the console's tests (no tests here): it reports a falling loss each step
until it is done or cancelled, declared in :data:`JOB_KINDS`. The console's process and its
detached runners find it through ``$KPCONSOLE_JOB_MODULES`` (:func:`enable`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kpconsole.jobs import JobContext, JobKind, JobRequest
from kpconsole.session import Session

KIND = "tui_wait"
MODULE = "test_tui_jobkinds"


@dataclass(frozen=True)
class WaitRequest(JobRequest):
    steps: int = 100
    every: float = 0.05


def wait_job(session: Session, request: WaitRequest, ctx: JobContext) -> None:
    """Step ``steps`` times, ``every`` seconds apart, reporting loss = 1 / step."""
    steps, every = request.steps, request.every
    for step in range(1, steps + 1):
        ctx.progress(step / steps, f"step {step}/{steps}", {"loss": 1.0 / step})
        time.sleep(every)


JOB_KINDS = (JobKind(KIND, request=f"{MODULE}:WaitRequest", run=f"{MODULE}:wait_job", action="jobs.start",
                     description="console test: report a falling loss"),)


def enable(monkeypatch, tests_dir) -> None:
    """Let a detached runner import this module."""
    import os

    monkeypatch.setenv("KPCONSOLE_JOB_MODULES", MODULE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tests_dir), os.environ.get("PYTHONPATH")])))
