"""Segmentation in the console: run (audited, also as a job). Listing and showing:
:mod:`kpconsole.reads.segments`; why a user is in their segment: :mod:`kpconsole.services.segment_members`.

``run`` loads a dataset, calls :func:`engine.segment.run.segment_users`, adds each segment's
interests from the newest collaborative-filtering model of the dataset that has embeddings
(when there is one), and registers the result (store/segments.py): the segmentation row, its
segments with their profiles, every user's assignment, and the per-user rows as Parquet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace

import polars as pl
import torch

from engine.progress import Progress, no_progress
from engine.device import DEVICES
from engine.segment.interests import segment_interests
from engine.segment.lifecycle import LifecycleThresholds
from engine.segment.metrics import InterestsSource
from engine.segment.run import METHODS, SegmentationResult, segment_users
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.jobs import JobContext, JobRequest, JobResult, start_job
from kpconsole.jobs.kinds import get_job_kind
from kpconsole.jobs.service import refuse_unless_allowed
from kpconsole.services import datasets
from kpconsole.session import Session
from store import segments as store
from store.segments import SegmentationRecord

JOB_KIND = "segment"
FACTOR_ALGOS = ("als", "bpr", "ncf")  # the recommenders with user and item embeddings


def parse_k(text: str | int) -> int | str:
    """``auto`` or a positive integer; anything else is a one-line error."""
    if isinstance(text, int) or str(text).isdigit():
        k = int(text)
        if k < 1:
            raise InvalidField("{k} must be at least 1 (or auto)", "k")
        return k
    if str(text).lower() == "auto":
        return "auto"
    raise InvalidField(f"{{k}} {text!r}: give a positive number of segments or auto", "k")


@dataclass(frozen=True)
class SegmentRequest(JobRequest):
    """What ``kpconsole segment run`` asks for, in plain values (also a ``segment`` job's parameters)."""

    data: str
    method: str
    k: int | str = "auto"
    as_of: dt.datetime | None = None
    seed: int = 0
    device: str = "auto"
    resamples: int = 10
    model_id: int | None = None  # CF model for interests; None = the newest with embeddings
    thresholds: dict[str, float] = field(default_factory=dict)  # lifecycle overrides, e.g. {"active_days": 14}

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConsoleError(f"unknown method '{self.method}' (one of {', '.join(METHODS)})")
        if self.device not in DEVICES:
            raise ConsoleError(f"unknown device '{self.device}' (one of {', '.join(DEVICES)})")
        object.__setattr__(self, "k", parse_k(self.k))  # "7" reads as 7, "AUTO" as auto
        if self.resamples < 0:
            raise InvalidField("{resamples} must be 0 or more", "resamples")
        known = {f.name for f in fields(LifecycleThresholds)}
        unknown = sorted(set(self.thresholds) - known)
        if unknown:
            raise ConsoleError(f"unknown lifecycle threshold(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def run(session: Session, request: SegmentRequest, progress: Progress = no_progress, *,
        job_id: int | None = None) -> SegmentationRecord:
    """Segment a dataset's users and register the result; audited as ``segment.run``."""
    with session.action("segment.run", target=request.data, params=request.as_params()):
        record = datasets.get(session, request.data)
        users = datasets.load(record, "users") if "users" in record.tables else None
        items = datasets.load(record, "items") if "items" in record.tables else None
        result = segment_users(
            datasets.load(record, "events"), users, items, method=request.method, k=request.k,
            as_of=request.as_of, seed=request.seed, device=request.device, resamples=request.resamples,
            thresholds=LifecycleThresholds(**request.thresholds), progress=progress,
        )
        interests, model_id, note = _interests(session, request, result, items)
        profiles = [{"name": p["segment"], **{k: v for k, v in p.items() if k != "segment"},
                     **interests.get(p["segment_id"], {})} for p in result.segments]
        metrics = replace(result.metrics, interests=InterestsSource(model_id, note))
        with store.staging_file(session.ws) as staged:
            result.users.write_parquet(staged)
            ids = result.users.select(pl.col("user_id").cast(pl.String), "segment_id")
            return store.register_segmentation(
                session.ws, staged, dataset=record.name, dataset_hash=record.content_hash, method=request.method,
                params=request.as_params(), metrics=metrics.as_dict(), model=result.model_dict(),
                as_of=result.as_of.isoformat(),
                segments=profiles, assignments=ids.iter_rows(), created_by=session.actor.name, job_id=job_id,
            )


def _interests(session: Session, request: SegmentRequest, result: SegmentationResult, items
               ) -> tuple[dict[int, dict], int | None, str | None]:
    """({segment_id: {"top_interests": […], "interests_members": n}}, model id, note) from the
    chosen or newest factor model of the dataset; with none, ({}, None, why not)."""
    from kpconsole.reads import models as model_reads
    from kpconsole.services import models as model_service

    if request.model_id is not None:
        candidates = [model_reads.get(session, request.model_id)]
    else:
        candidates = [m for m in model_reads.list_models(session, dataset=request.data) if m.algo in FACTOR_ALGOS]
    if not candidates:
        return {}, None, f"no factor model ({', '.join(FACTOR_ALGOS)}) trained on '{request.data}' yet"
    loaded = model_service.load_model(session, candidates[0].id, device="cpu")
    users_v, items_v = loaded.user_embeddings(), loaded.item_embeddings()
    if users_v is None or items_v is None:
        raise ConsoleError(f"model {candidates[0].id} ({loaded.record.algo}) has no embeddings: pick an als, bpr or ncf model")
    assigned = result.users
    member_index = loaded.user_index(assigned["user_id"])
    idx, scores, counts = segment_interests(users_v.cpu(), items_v.cpu(), member_index,
                                            torch.from_numpy(assigned["segment_id"].to_numpy() - 1), result.k)
    titles = _titles(items, loaded.item_ids)
    out: dict[int, dict] = {}
    for s in range(result.k):
        out[s + 1] = {"top_interests": [
            {"item_id": loaded.item_ids[int(j)], "title": titles.get(loaded.item_ids[int(j)]), "lift": round(float(v), 4)}
            for j, v in zip(idx[s].tolist(), scores[s].tolist(), strict=True) if j >= 0
        ], "interests_members": int(counts[s])}
    return out, loaded.record.id, None


def _titles(items, item_ids: pl.Series) -> dict:
    if items is None or "title" not in items.collect_schema():
        return {}
    frame = items.select("item_id", "title").filter(pl.col("item_id").is_in(item_ids.implode())).collect()
    return dict(frame.iter_rows())


def segment_job(session: Session, request: SegmentRequest, ctx: JobContext) -> JobResult:
    """Segment a dataset's users (rfm, lifecycle, kmeans or gmm)."""
    ctx.log(f"segmenting '{request.data}' by {request.method} (k={request.k})")
    record = run(session, request, ctx.progress, job_id=ctx.job_id)
    ctx.log(f"segmentation {record.id}: {record.k} segments over {record.n_users:,} users")
    return JobResult("segmentation", str(record.id))


def start(session: Session, request: SegmentRequest) -> int:
    """Check the role, the request and the dataset, then start a detached segment job."""
    params = request.as_params()
    refuse_unless_allowed(session, get_job_kind(JOB_KIND), request.data, params)
    datasets.get(session, request.data)
    return start_job(session, JOB_KIND, params)

