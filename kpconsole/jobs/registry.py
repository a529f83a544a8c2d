"""Job kinds: the long tasks each area registers so that they can run as jobs.

An area registers its kind when its service module is imported::

    from kpconsole.jobs import JobContext, JobResult, register_job_kind

    def train_job(session: Session, params: dict, ctx: JobContext) -> JobResult:
        ...
        return JobResult("model", str(model_id))

    register_job_kind("train", train_job, action="model.train", description="train a recommender")

A detached job process finds kinds by importing :data:`PROVIDERS`, the modules named in
``$KPCONSOLE_JOB_MODULES`` (comma-separated; for tests and plug-ins), then the modules of
:mod:`kpconsole.services` — in that order, stopping as soon as the kind it needs is registered.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.progress import Progress, no_progress
from kpconsole.errors import ConsoleError
from kpconsole.policy import REQUIRED_ROLE

if TYPE_CHECKING:
    from kpconsole.session import Session

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PROVIDERS = ("kpconsole.jobs.ingest",)
MODULES_ENV = "KPCONSOLE_JOB_MODULES"


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


if TYPE_CHECKING:
    JobFunc = Callable[[Session, dict, JobContext], JobResult | None]
else:
    JobFunc = Callable


@dataclass(frozen=True)
class JobKind:
    """A registered kind: its function, the policy action starting it needs, a description."""

    name: str
    func: JobFunc
    action: str
    description: str


_KINDS: dict[str, JobKind] = {}
_IMPORT_FAILURES: dict[str, str] = {}


def register_job_kind(kind: str, func: JobFunc, *, action: str = "jobs.start", description: str = "") -> JobKind:
    """Register (or re-register, after a module reload) the job kind ``kind``.

    ``action`` is the :data:`kpconsole.policy.REQUIRED_ROLE` entry of the change the job makes
    (e.g. ``data.ingest``): starting or resuming the job is refused up front to a role that
    may not make it. Registering a different function under a taken name is an error.
    """
    if not KIND_NAME.match(kind):
        raise ValueError(f"job kind {kind!r}: use 1-32 lower-case letters, digits or '_', starting with a letter")
    if action not in REQUIRED_ROLE:
        raise ValueError(f"job kind {kind!r}: action {action!r} is not in kpconsole.policy.REQUIRED_ROLE")
    old = _KINDS.get(kind)
    if old is not None and _qualname(old.func) != _qualname(func):
        raise ValueError(f"job kind {kind!r} is already registered by {_qualname(old.func)}")
    doc = (func.__doc__ or "").strip()
    spec = JobKind(kind, func, action, description or (doc.splitlines()[0] if doc else ""))
    _KINDS[kind] = spec
    return spec


def _qualname(func: JobFunc) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def get_job_kind(kind: str) -> JobKind:
    """The registered kind ``kind``, importing providers (until it is found) when it is not known yet."""
    if kind not in _KINDS:
        discover(until=kind)
    try:
        return _KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        failed = f"; could not import: {', '.join(f'{m} ({e})' for m, e in _IMPORT_FAILURES.items())}" \
            if _IMPORT_FAILURES else ""
        raise ConsoleError(f"unknown job kind '{kind}' (known: {known}{failed})") from None


def job_kinds() -> list[JobKind]:
    """Every kind that can be found, by name."""
    discover()
    return [_KINDS[k] for k in sorted(_KINDS)]


def _provider_names() -> list[str]:
    """Modules that may register kinds: ours, ``$KPCONSOLE_JOB_MODULES``, then kpconsole.services.*."""
    names = list(PROVIDERS)
    names += [m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()]
    try:
        services = importlib.import_module("kpconsole.services")
        names += [f"kpconsole.services.{m.name}" for m in pkgutil.iter_modules(services.__path__)]
    except ImportError as exc:  # pragma: no cover - the package is part of kpconsole
        _IMPORT_FAILURES["kpconsole.services"] = type(exc).__name__
    return names


def discover(until: str | None = None) -> None:
    """Import the modules that register job kinds (stopping once ``until`` is registered); a
    module that fails to import is remembered, not fatal."""
    for name in _provider_names():
        if until is not None and until in _KINDS:
            return
        if name in _IMPORT_FAILURES:
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # another area's module is broken: its kinds are missing, ours are not
            _IMPORT_FAILURES[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
