"""A job kind for the console's tests (no tests here): it reports a falling loss each step
until it is done or cancelled. Detached runners find it through ``$KPCONSOLE_JOB_MODULES``."""

from __future__ import annotations

import time

from kpconsole.jobs import JobContext, register_job_kind
from kpconsole.session import Session

KIND = "tui_wait"
MODULE = "test_tui_jobkinds"


def wait_job(session: Session, params: dict, ctx: JobContext) -> None:
    """Step ``steps`` times, ``every`` seconds apart, reporting loss = 1 / step."""
    steps, every = int(params.get("steps", 100)), float(params.get("every", 0.05))
    for step in range(1, steps + 1):
        ctx.progress(step / steps, f"step {step}/{steps}", {"loss": 1.0 / step})
        time.sleep(every)


register_job_kind(KIND, wait_job, action="jobs.start", description="console test: report a falling loss")


def enable(monkeypatch, tests_dir) -> None:
    """Let a detached runner import this module."""
    import os

    monkeypatch.setenv("KPCONSOLE_JOB_MODULES", MODULE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tests_dir), os.environ.get("PYTHONPATH")])))
