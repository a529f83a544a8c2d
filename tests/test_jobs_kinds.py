"""Test-only job kinds, declared in :data:`JOB_KINDS` (nothing registers on import).

Test processes and detached job processes read them through ``KPCONSOLE_JOB_MODULES=test_jobs_kinds``
with ``tests/`` on ``PYTHONPATH`` (see :func:`job_env`). Nothing here imports pytest, so that a job
process stays light.

* ``walk``: a seeded random walk that checkpoints its whole state (step, tensor, generator
  state) with ``torch.save`` after every step and resumes with ``torch.load(weights_only=True)``
  — a stand-in for resumable training: the result of a killed-and-resumed run must equal an
  uninterrupted one.
* ``gate``: waits until a file exists (deterministic "long" work); ``silent`` skips progress
  reports so that only the heartbeat thread shows it is alive.
* ``stubborn``: ignores cancel requests (never reports progress), and SIGTERM too if asked.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from kpconsole.errors import ConsoleError
from kpconsole.jobs import JobContext, JobKind, JobRequest, JobResult
from kpconsole.session import Session

TESTS = Path(__file__).resolve().parent


def job_env() -> dict[str, str]:
    """Environment additions that let a detached job process find these kinds."""
    path = os.environ.get("PYTHONPATH", "")
    return {"KPCONSOLE_JOB_MODULES": "test_jobs_kinds",
            "PYTHONPATH": f"{TESTS}{os.pathsep}{path}" if path else str(TESTS)}


@dataclass(frozen=True)
class WalkRequest(JobRequest):
    steps: int = 20
    seed: int = 0
    delay_s: float = 0.0


@dataclass(frozen=True)
class GateRequest(JobRequest):
    gate: Path
    silent: bool = False
    timeout_s: float = 60.0


@dataclass(frozen=True)
class StubbornRequest(JobRequest):
    ready: Path
    ignore_term: bool = False
    seconds: float = 60.0


def walk_job(session: Session, request: WalkRequest, ctx: JobContext) -> JobResult:
    """A seeded random walk, checkpointed every step."""
    import torch  # here, so that the other kinds' job processes start faster

    steps, seed, delay = request.steps, request.seed, request.delay_s
    checkpoint = ctx.checkpoint_dir / "walk.pt"
    generator = torch.Generator().manual_seed(seed)
    x, start = torch.zeros(8, dtype=torch.float64), 0
    if ctx.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=True)
        x, start = state["x"], int(state["step"])
        generator.set_state(state["rng"])
        ctx.log(f"resumed from step {start}")
    for step in range(start, steps):
        x = 0.9 * x + torch.randn(8, generator=generator, dtype=torch.float64)
        tmp = checkpoint.with_suffix(".tmp")
        torch.save({"step": step + 1, "x": x, "rng": generator.get_state()}, tmp)
        os.replace(tmp, checkpoint)
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}", {"norm": float(x.norm())})
        time.sleep(delay)
    return JobResult("walk", f"{float(x.sum()):.12f}")


def gate_job(session: Session, request: GateRequest, ctx: JobContext) -> JobResult:
    """Wait until the file ``gate`` exists (at most ``timeout_s``)."""
    gate, silent = request.gate, request.silent
    deadline = time.monotonic() + request.timeout_s
    while not gate.exists():
        if time.monotonic() > deadline:
            raise ConsoleError(f"gate {gate} never opened")
        if not silent:
            ctx.progress(None, "waiting for the gate")
        time.sleep(0.05)
    ctx.progress(1.0, "gate open")
    return JobResult("gate", gate.read_text().strip() or "open")


def stubborn_job(session: Session, request: StubbornRequest, ctx: JobContext) -> JobResult:
    """Sleep without ever reporting (so without noticing a cancel request)."""
    if request.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    request.ready.write_text("ready")
    time.sleep(request.seconds)
    return JobResult("stubborn", "done")


JOB_KINDS = (
    JobKind("walk", request="test_jobs_kinds:WalkRequest", run="test_jobs_kinds:walk_job"),
    JobKind("gate", request="test_jobs_kinds:GateRequest", run="test_jobs_kinds:gate_job"),
    JobKind("stubborn", request="test_jobs_kinds:StubbornRequest", run="test_jobs_kinds:stubborn_job"),
)


def test_walk_is_deterministic_for_a_seed(session, monkeypatch):
    """The reference the resume test relies on: same seed, same walk; another seed, another."""
    from kpconsole.jobs import show_job, start_job

    for key, value in job_env().items():
        monkeypatch.setenv(key, value)

    runs = [start_job(session, "walk", {"steps": 5, "seed": s}, detach=False) for s in (3, 3, 4)]
    results = [show_job(session, job_id).result_id for job_id in runs]
    assert results[0] == results[1] != results[2]
