"""What the runner hands a job's run function (:class:`JobContext`) and what the function
returns (:class:`JobResult`). See :mod:`kpconsole.jobs` for the contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.progress import Progress, no_progress


@dataclass(frozen=True)
class JobResult:
    """What a job made: ``kind`` of thing (``dataset``, ``model``, …) and its ``id`` (a string)."""

    kind: str
    id: str


def _ignore_log(line: str) -> None:
    """A log that drops every line."""


@dataclass(frozen=True)
class JobContext:
    """What the runner hands a job function.

    * ``job_id`` — the row in the jobs table.
    * ``progress`` — an :class:`engine.progress.Progress` callback: it records progress and a
      heartbeat, and raises :class:`engine.progress.Cancelled` once a cancel was requested.
      Pass it to engine work as it is.
    * ``checkpoint_dir`` — ``<workspace>/models/checkpoints/job-<id>/``, created for you, the
      same folder on every attempt; removed after the job succeeds. Save state there with
      ``torch.save`` and load it with ``torch.load(..., weights_only=True)``.
    * ``resume`` — True when ``jobs resume`` restarted a lost, failed or cancelled job: load
      the latest checkpoint if there is one, else start over.
    * ``log`` — write a line to the job's log (``logs/job-<id>.log``).
    """

    job_id: int
    progress: Progress = no_progress
    checkpoint_dir: Path = field(default_factory=Path)
    resume: bool = False
    log: Callable[[str], None] = _ignore_log
