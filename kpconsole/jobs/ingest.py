"""The ``ingest`` job kind: :func:`kpconsole.services.datasets.ingest` as a job, or with
``append`` in its parameters :func:`kpconsole.services.dataset_append.append`.

``kpconsole data ingest … --detach`` checks what it cheaply can (name, path, format, role)
before it records the job, so bad input fails at once with one line and no job.
"""

from __future__ import annotations

from pathlib import Path

from kpconsole.errors import ConsoleError
from kpconsole.jobs.registry import JobContext, JobResult, get_job_kind, register_job_kind
from kpconsole.jobs.service import refuse_unless_allowed, start_job
from kpconsole.services import datasets
from kpconsole.services.datasets import IngestRequest
from kpconsole.session import Session
from store import catalog

KIND = "ingest"


def request_params(request: IngestRequest) -> dict:
    """The job parameters of an ingest request, paths made absolute (the job may run elsewhere)."""
    def absolute(path: Path | None) -> str | None:
        return str(Path(path).expanduser().resolve()) if path else None

    if request.url:  # the URL without its password: the job reads it from PGPASSWORD or ~/.pgpass
        return {**request.params(), "name": request.name, "users": absolute(request.users),
                "items": absolute(request.items)}
    return {**request.params(), "name": request.name, "path": absolute(request.path),
            "users": absolute(request.users), "items": absolute(request.items)}


def request_from_params(params: dict) -> IngestRequest:
    """The ingest request a job's parameters describe; a missing or odd field is a one-line error."""
    try:
        url = params.get("url")
        return IngestRequest(
            path=None if url else Path(params["path"]), name=str(params["name"]),
            format=None if url else params.get("format"), url=url, query=params.get("query"),
            mapping=dict(params.get("mapping") or {}), kind=params.get("kind"),
            users=Path(params["users"]) if params.get("users") else None,
            items=Path(params["items"]) if params.get("items") else None,
            ts_format=params.get("ts_format"), replace=bool(params.get("replace", False)),
            append=bool(params.get("append", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConsoleError(f"ingest job parameters: missing or invalid {exc} (need path or url, and name)") from None


def ingest_job(session: Session, params: dict, ctx: JobContext) -> JobResult:
    """Ingest a file or dump into the workspace (all or nothing)."""
    request = request_from_params(params)
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
    params = request_params(request)
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


register_job_kind(KIND, ingest_job, action="data.ingest", description="ingest a file or dump as a dataset")
