"""A nightly refresh: append what is new, update models, rerun segments and value, export.

``kpconsole refresh --data NAME --source SPEC`` runs these steps in order, each through the
service that runs it on its own (so each is audited under its own action as well):

1. **append** the source's new rows to dataset NAME (:func:`kpconsole.services.dataset_append.append`).
   A database source with ``since_column`` asks only for rows past the dataset's high-water mark
   (kept in the store, :mod:`store.refresh`), then moves the mark; a file is appended whole
   (exact duplicates are skipped, so re-reading old rows adds nothing). The mark is read from
   the source *before* the rows are, so a row written meanwhile is read now or next time,
   never lost (and if read twice, skipped as a duplicate).
2. **update** the chosen models (``latest``: the newest model of the dataset; or ids) by a warm start;
3. **segment**: rerun the dataset's newest segmentation with its settings, as of the new data's end;
4. **value**: refit the dataset's newest value fit with its settings, calibrated to the new end;
5. **export** to a folder: ``recommendations-<model>.parquet`` (every user), ``segments.parquet``,
   ``value.parquet``.

Steps 2-4 are skipped when nothing new arrived. The refresh is a job (``jobs list`` shows it)
and audited as ``refresh.run``; the first step that fails stops it with one line, the steps
before it keep their results. The source's password is never recorded: the job's parameters
hold the URL without it, and the job finds the whole URL in this process's memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.progress import Progress, no_progress
from kpconsole.errors import ConsoleError, InvalidField, USER_ERRORS
from kpconsole.jobs import JobContext, JobResult, start_job
from kpconsole.jobs.request import DATABASE_URL, JobRequest
from kpconsole.session import Session

KIND = "refresh"
_URLS: dict[str, str] = {}
"""Redacted URL → the whole URL, for a refresh running in this process (never written)."""
_RESULTS: dict[int, "RefreshResult"] = {}
"""What each refresh job run in this process did, by job id (for the command's output)."""


@dataclass(frozen=True)
class RefreshRequest(JobRequest):
    """What ``kpconsole refresh`` asks for, in plain values (also the ``refresh`` job's
    parameters, which hold the source without its password)."""

    data: str
    source: str = field(metadata=DATABASE_URL)  # a file or folder, or a database URL
    query: str | None = None  # a database's SELECT; default: the one the dataset was ingested with
    since_column: str | None = None
    models: str | None = "latest"  # "latest", "ID,ID,…" or None (update no model)
    export: Path | None = None

    def model_ids(self) -> list[int] | None:
        """The ids ``models`` names, ``None`` for ``latest``."""
        if self.models in (None, "", "latest"):
            return None
        try:
            return [int(part) for part in self.models.split(",") if part.strip()]
        except ValueError:
            raise InvalidField(f"{{models}} {self.models!r}: give latest or model ids such as 3,7", "models") from None


@dataclass
class RefreshResult:
    """What each step did, in order."""

    data: str
    steps: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"data": self.data, "steps": self.steps}

    @property
    def lines(self) -> list[str]:
        return [f"{s['step']}: {s['detail']}" for s in self.steps]


def _database_request(session: Session, request: RefreshRequest, url: str):
    """The append's ingest request and the since-filtered source of a database refresh."""
    from engine.data import database
    from kpconsole.services.datasets import IngestRequest
    from store import refresh as marks
    from store.catalog import get_dataset

    query = request.query or get_dataset(session.ws, request.data).params.get("query")
    if not query:
        raise InvalidField(f"{{query}} is needed: dataset '{request.data}' was not ingested from a database", "query")
    source = database.check_source(url, query)
    kept = marks.get_mark(session.ws, request.data) if request.since_column else None
    mark = kept.mark if kept and kept.since_column == request.since_column else None
    narrowed = database.since(source, request.since_column, mark) if request.since_column else source
    return IngestRequest(path=None, name=request.data, url=url, query=narrowed.query, append=True), narrowed


def _append(session: Session, request: RefreshRequest, url: str, progress: Progress) -> tuple[dict, bool]:
    from engine.data import database
    from kpconsole.services.dataset_append import append
    from kpconsole.services.datasets import IngestRequest
    from store import refresh as marks

    if not database.is_database_url(url):
        result = append(session, IngestRequest(path=Path(request.source), name=request.data, append=True), progress)
        return {"step": "append", "detail": result.line, **_counts(result)}, result.changed
    ingest, narrowed = _database_request(session, request, url)
    new_mark = database.query_max(narrowed, request.since_column) if request.since_column else None
    if request.since_column and new_mark is None:
        return {"step": "append", "detail": f"nothing new past {request.since_column}", "events_added": 0}, False
    result = append(session, ingest, progress)
    if new_mark is not None:
        marks.set_mark(session.ws, request.data, request.since_column, new_mark, narrowed.label)
    detail = result.line + (f"; {request.since_column} now up to {new_mark['value']}" if new_mark else "")
    return {"step": "append", "detail": detail, **_counts(result)}, result.changed


def _counts(result) -> dict:
    return {"version": result.record.version, "events_added": result.events_added, "duplicates": result.duplicates}


def refresh(session: Session, request: RefreshRequest, progress: Progress = no_progress, *,
            url: str | None = None, job_id: int | None = None) -> RefreshResult:
    """Run the refresh's steps (see the module docstring); a failed step raises one line that
    names it, the steps before it keep their results."""
    from kpconsole.services import models, segments, value
    from kpconsole.services.model_requests import UpdateRequest
    from kpconsole.services.segments import SegmentRequest
    from kpconsole.services.value import ValueRequest
    from store import models as model_store
    from store import segments as segment_store
    from store import value as value_store

    ids = request.model_ids()
    result = RefreshResult(request.data)
    step = "append"

    def note(entry: dict) -> None:
        result.steps.append(entry)
        progress(0.0, f"{entry['step']}: {entry['detail']}")

    with session.action("refresh.run", target=request.data, params=request.as_params()):
        try:
            began = time.perf_counter()
            entry, changed = _append(session, request, url or request.source, progress)
            note(entry)
            updated: list[int] = []
            if changed:
                chosen = ids if ids is not None else [m.id for m in model_store.list_models(
                    session.ws, dataset=request.data, limit=1)] if request.models else []
                for model_id in chosen:
                    step = f"update model {model_id}"
                    child = models.update(session, UpdateRequest(model_id=model_id, data=request.data), job_id=job_id)
                    updated.append(child.id)
                    note({"step": step, "detail": f"model {child.id} (warm start of {model_id})", "model": child.id})
                newest = segment_store.list_segmentations(session.ws, dataset=request.data, limit=1)
                if newest:
                    step = f"segment (as segmentation {newest[0].id})"
                    params = {**newest[0].params, "as_of": None, "model_id": None}
                    seg = segments.run(session, SegmentRequest.from_params(params, "segment"), job_id=job_id)
                    note({"step": "segment", "detail": f"segmentation {seg.id} (as {newest[0].id})",
                          "segmentation": seg.id})
                fits = value_store.list_value_fits(session.ws, dataset=request.data, limit=1)
                if fits:
                    step = f"value (as fit {fits[0].id})"
                    # the fit's settings are its request's, with the observation end it found
                    settings = {**fits[0].settings, "calibration_end": None}
                    settings.pop("observation_end", None)
                    fit = value.fit(session, ValueRequest.from_params(settings, "value_fit"), job_id=job_id)
                    note({"step": "value", "detail": f"value fit {fit.id} (as {fits[0].id})", "value_fit": fit.id})
            if request.export is not None:
                step = "export"
                for entry in _export(session, request, updated or ids or []):
                    note(entry)
            note({"step": "done", "detail": f"in {time.perf_counter() - began:.1f} s"})
        except USER_ERRORS as exc:
            raise ConsoleError(f"refresh of '{request.data}' failed at {step}: {str(exc).splitlines()[0]}") from None
    return result


def _export(session: Session, request: RefreshRequest, model_ids: list[int]) -> list[dict]:
    """The exports of the newest results into ``request.export``: one file each, atomically."""
    from kpconsole.services.exports import export_segments, export_target, export_value
    from kpconsole.services.recommend_batches import RecommendationExport, export_recommendations
    from store import models as model_store
    from store import segments as segment_store
    from store import value as value_store

    folder = Path(request.export)
    if not folder.is_dir():
        raise InvalidField(f"{{export}} {folder}: no such folder", "export")
    if not model_ids:
        model_ids = [m.id for m in model_store.list_models(session.ws, dataset=request.data, limit=1)]
    out = []
    for model_id in model_ids:
        summary = export_recommendations(session, RecommendationExport(model_id=model_id),
                                         export_target(folder / f"recommendations-{model_id}.parquet"))
        out.append({"step": "export", "detail": summary.line, "path": str(summary.path)})
    for name, newest, write in (
        ("segments", segment_store.list_segmentations(session.ws, dataset=request.data, limit=1), export_segments),
        ("value", value_store.list_value_fits(session.ws, dataset=request.data, limit=1), export_value),
    ):
        if newest:
            summary = write(session, newest[0].id, export_target(folder / f"{name}.parquet"))
            out.append({"step": "export", "detail": summary.line, "path": str(summary.path)})
    return out


def refresh_job(session: Session, request: RefreshRequest, ctx: JobContext) -> JobResult:
    """Append, update, segment, value, export (see :mod:`kpconsole.services.refresh`)."""
    result = refresh(session, request, ctx.progress, url=_URLS.get(request.source), job_id=ctx.job_id)
    _RESULTS[ctx.job_id] = result
    for line in result.lines:
        ctx.log(line)
    return JobResult("dataset", request.data)


def run_refresh(session: Session, request: RefreshRequest,
                progress: Progress | None = None) -> tuple[int, RefreshResult | None, str | None]:
    """Run a refresh here as a recorded job; returns its id, what it did, and its error (``None``
    when it succeeded)."""
    from engine.data.database import is_database_url, redact
    from kpconsole.jobs.service import show_job
    from store.catalog import get_dataset

    get_dataset(session.ws, request.data)
    request.model_ids()
    if request.export is not None and not Path(request.export).is_dir():
        raise InvalidField(f"{{export}} {request.export}: no such folder", "export")
    if not is_database_url(request.source) and not Path(request.source).exists():
        raise InvalidField(f"{{source}} {request.source}: no such file or folder", "source")
    _URLS[redact(request.source)] = request.source
    try:
        job_id = start_job(session, KIND, request.as_params(), detach=False, progress=progress)
    finally:
        _URLS.pop(redact(request.source), None)
    job = show_job(session, job_id)
    return job_id, _RESULTS.pop(job_id, None), job.error if job.status != "succeeded" else None

