"""The ``ingest`` job kind: :func:`kpconsole.services.datasets.ingest` as a job, or with
``append`` in its parameters :func:`kpconsole.services.dataset_append.append`.

``kpconsole data ingest … --detach`` checks what it cheaply can (name, path, format, role)
before it records the job, so bad input fails at once with one line and no job.
"""

from __future__ import annotations

from pathlib import Path

from kpconsole.errors import ConsoleError
from kpconsole.jobs.context import JobContext, JobResult
from kpconsole.jobs.kinds import get_job_kind
from kpconsole.jobs.service import refuse_unless_allowed, start_job
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import Session
from store import catalog

KIND = "ingest"


def ingest_job(session: Session, request: IngestRequest, ctx: JobContext) -> JobResult:
    """Ingest a file or dump into the workspace (all or nothing)."""
    if request.append:
        from kpconsole.services.dataset_append import append

        ctx.log(f"appending {request.source_label} to '{request.name}'")
        result = append(session, request, ctx.progress)
        ctx.log(result.line)
        return JobResult("dataset", result.record.name)
    ctx.log(f"ingesting {request.source_label} as '{request.name}'")
    record = datasets.ingest(session, request, ctx.progress)
    p = record.profile
    ctx.log(f"ingested '{record.name}': {p['n_events']:,} events, {p['n_users']:,} users, {p['n_items']:,} items")
    return JobResult("dataset", record.name)


def start_ingest(session: Session, request: IngestRequest) -> int:
    """Check the role and the request, then start a detached ingest job; returns its id."""
    params = request.as_params()  # paths made absolute: the job may run in another folder
    refuse_unless_allowed(session, get_job_kind(KIND), request.name, params)
    catalog.check_name(request.name)
    if request.url:
        source = datasets.check_database_request(request)
        if source.password:
            raise ConsoleError("a detached job never writes a password down: leave it out of the URL and give it "
                               "through PGPASSWORD or ~/.pgpass")
    else:
        datasets.detect_format(Path(request.path), request.format)
    if request.append:
        from kpconsole.services.dataset_append import existing

        existing(session, request.name)
    elif catalog.dataset_exists(session.ws, request.name) and not request.replace:
        raise datasets.already_exists(request.name)
    return start_job(session, KIND, params)

