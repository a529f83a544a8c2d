"""The job kinds, as data: each kind's request type, run function and policy action.

:data:`KINDS` is the whole list this installation ships. Its request types and run functions
are ``"module:attr"`` strings, imported only when a job of that kind is started or run, so
reading the table (``jobs kinds``, ``jobs --help``) imports no service, Polars or torch. No
module registers anything when imported.

More kinds, for tests and plug-ins, come two ways:

* ``$KPCONSOLE_JOB_MODULES`` names modules (comma-separated) that each define a ``JOB_KINDS``
  sequence of :class:`JobKind`; it is read on every lookup, so a detached job process, which
  inherits the environment, finds the same kinds as the process that started the job;
* :func:`add_job_kind` adds one kind to this process only (a job run inline, a test fixture).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpconsole.errors import ConsoleError
from kpconsole.policy import REQUIRED_ROLE

if TYPE_CHECKING:
    from kpconsole.jobs.context import JobContext, JobResult
    from kpconsole.jobs.request import JobRequest
    from kpconsole.session import Session

    RunFunction = Callable[[Session, Any, JobContext], JobResult | None]

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
MODULES_ENV = "KPCONSOLE_JOB_MODULES"


@dataclass(frozen=True)
class JobKind:
    """One kind of job.

    * ``request`` — ``"module:Class"``, a :class:`~kpconsole.jobs.request.JobRequest` subclass:
      the job's parameters are read into it (checked) before the job is recorded and again
      when it runs;
    * ``run`` — ``"module:function"``, called as ``run(session, request, ctx)`` and returning
      a :class:`~kpconsole.jobs.context.JobResult` or None;
    * ``action`` — the change the job makes, an entry of :data:`kpconsole.policy.REQUIRED_ROLE`:
      a role that may not make it is refused before a job is recorded;
    * ``description`` — one line for ``jobs kinds``.
    """

    name: str
    request: str
    run: str
    action: str = "jobs.start"
    description: str = ""

    def __post_init__(self) -> None:
        if not KIND_NAME.match(self.name):
            raise ValueError(f"job kind {self.name!r}: use 1-32 lower-case letters, digits or '_', "
                             "starting with a letter")
        if self.action not in REQUIRED_ROLE:
            raise ValueError(f"job kind {self.name!r}: action {self.action!r} is not in kpconsole.policy.REQUIRED_ROLE")
        for target in (self.request, self.run):
            if not TARGET.match(target):
                raise ValueError(f"job kind {self.name!r}: {target!r} is not 'module:attribute'")

    def request_type(self) -> type[JobRequest]:
        """The request class (imports its module)."""
        found: type[JobRequest] = _resolve(self.request)
        return found

    def run_function(self) -> RunFunction:
        """The run function (imports its module)."""
        found: RunFunction = _resolve(self.run)
        return found

    def read_request(self, params: Mapping[str, Any]) -> JobRequest:
        """The request job parameters ``params`` describe (a one-line error when they are not one)."""
        return self.request_type().from_params(params, self.name)


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


KINDS: dict[str, JobKind] = {kind.name: kind for kind in (
    JobKind("ingest", request="kpconsole.services.datasets:IngestRequest", run="kpconsole.jobs.ingest:ingest_job",
            action="data.ingest", description="ingest a file or dump as a dataset"),
    JobKind("train", request="kpconsole.services.model_requests:TrainRequest",
            run="kpconsole.services.models:train_job", action="model.train", description="train a recommender"),
    JobKind("model_update", request="kpconsole.services.model_requests:UpdateRequest",
            run="kpconsole.services.models:update_job", action="model.update",
            description="update a recommender with new events (warm start)"),
    JobKind("segment", request="kpconsole.services.segments:SegmentRequest",
            run="kpconsole.services.segments:segment_job", action="segment.run",
            description="segment a dataset's users"),
    JobKind("value_fit", request="kpconsole.services.value:ValueRequest", run="kpconsole.services.value:value_job",
            action="value.fit", description="fit a customer-value model"),
    JobKind("sim_run", request="kpconsole.services.simulate:SimRunRequest", run="kpconsole.services.simulate:run_job",
            action="sim.run", description="simulate a scenario"),
    JobKind("sim_backtest", request="kpconsole.services.simulate_backtest:BacktestRequest",
            run="kpconsole.services.simulate_backtest:backtest_job", action="sim.backtest",
            description="backtest the simulator on a dataset"),
    JobKind("refresh", request="kpconsole.services.refresh:RefreshRequest",
            run="kpconsole.services.refresh:refresh_job", action="refresh.run",
            description="append new events, update models, rerun segments and value, export"),
)}
"""The kinds kpconsole ships, by name."""

_ADDED: dict[str, JobKind] = {}


def add_job_kind(kind: JobKind) -> JobKind:
    """Add ``kind`` for this process (adding the same kind again is harmless); a name that is
    taken by another kind is an error."""
    _check_free(kind, {**KINDS, **_ADDED, **_from_modules()})
    _ADDED[kind.name] = kind
    return kind


def _check_free(kind: JobKind, taken: Mapping[str, JobKind]) -> None:
    old = taken.get(kind.name)
    if old is not None and old != kind:
        raise ValueError(f"job kind {kind.name!r} is already defined (run by {old.run})")


def _from_modules() -> dict[str, JobKind]:
    """The kinds of the modules named in ``$KPCONSOLE_JOB_MODULES``."""
    found: dict[str, JobKind] = {}
    for name in (m.strip() for m in os.environ.get(MODULES_ENV, "").split(",")):
        if not name:
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ConsoleError(f"{MODULES_ENV}: cannot import {name} ({exc})") from None
        kinds: Iterable[JobKind] = getattr(module, "JOB_KINDS", ())
        for kind in kinds:
            _check_free(kind, {**KINDS, **found})
            found[kind.name] = kind
    return found


def _all() -> dict[str, JobKind]:
    return {**KINDS, **_from_modules(), **_ADDED}


def get_job_kind(name: str) -> JobKind:
    """The kind called ``name``; an unknown one is a one-line error listing the known."""
    known = _all()
    try:
        return known[name]
    except KeyError:
        raise ConsoleError(f"unknown job kind '{name}' (known: {', '.join(sorted(known))})") from None


def job_kinds() -> list[JobKind]:
    """Every kind, by name."""
    known = _all()
    return [known[name] for name in sorted(known)]
