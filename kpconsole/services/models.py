"""Recommender models: train, update, list, show, and load them for scoring.

The CLI (``kpconsole model …``), the TUI and other services call these functions. Training
and updating are changes (``model.train`` / ``model.update`` in the policy, audited); both
also run as jobs (kinds ``train`` and ``model_update``) so that a long run survives a closed
terminal, can be cancelled, and resumes from its last epoch checkpoint (``jobs resume``).

Another service that needs a trained model (the simulator, for instance) calls
:func:`load_model` and uses the returned :class:`LoadedModel`: ``score``/``recommend`` over
user indices, the ID ↔ index maps, and the embeddings where the algorithm has them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import torch

from engine.progress import Progress, no_progress, scaled
from engine.recommend.artifact import ModelBundle, load_bundle, save_bundle
from engine.recommend.base import Recommender
from engine.recommend.distributed import fit_distributed, join_group, placement_from_env
from engine.recommend.evaluate import EvalSetup, evaluate
from engine.recommend.features import ItemFeatures, build_item_features
from engine.recommend.interactions import Interactions, build_interactions, check_kinds, default_kinds
from engine.recommend.splits import make_split, validation_split
from engine.recommend.update import warm_start_update
from kpconsole.errors import ConsoleError
from kpconsole.jobs import JobContext, JobResult, start_job
from kpconsole.jobs.kinds import get_job_kind
from kpconsole.jobs.service import refuse_unless_allowed
from kpconsole.services import datasets
from kpconsole.reads.models import get
from kpconsole.services.model_requests import TrainRequest, UpdateRequest
from kpconsole.session import Session
from store import models as registry
from store.catalog import DatasetRecord
from store.models import ModelRecord

VALIDATION_RATIO = 0.1


@dataclass
class LoadedModel:
    """A registered model, loaded: what scoring and serving need.

    ``user_ids[k]`` / ``item_ids[k]`` are the IDs of index ``k``; ``train`` is the user × item
    matrix it learned from (its training history, excluded when recommending).
    """

    record: ModelRecord
    bundle: ModelBundle

    @property
    def model(self) -> Recommender:
        return self.bundle.model

    @property
    def user_ids(self) -> pl.Series:
        return self.bundle.user_ids

    @property
    def item_ids(self) -> pl.Series:
        return self.bundle.item_ids

    @property
    def train(self):
        return self.bundle.train

    def user_index(self, ids: list | pl.Series) -> torch.Tensor:
        """Indices of user IDs (-1 for IDs the model does not know)."""
        return index_of(self.user_ids, ids)

    def item_index(self, ids: list | pl.Series) -> torch.Tensor:
        """Indices of item IDs (-1 for IDs the model does not know)."""
        return index_of(self.item_ids, ids)

    def score(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item (``len(users) × n_items``, on the model's device)."""
        return self.model.score(users)

    def recommend(self, users: torch.Tensor, k: int, *, exclude_seen: bool = True,
                  blocked: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` item indices and scores per user (-1 / -inf where nothing is left)."""
        return self.model.recommend(users, k, exclude=self.train if exclude_seen else None, blocked=blocked)

    def user_embeddings(self) -> torch.Tensor | None:
        return self.model.user_embeddings()

    def item_embeddings(self) -> torch.Tensor | None:
        return self.model.item_embeddings()


def index_of(known: pl.Series, ids: list | pl.Series) -> torch.Tensor:
    wanted = pl.Series("id", ids)
    if wanted.dtype != known.dtype:
        wanted = wanted.cast(known.dtype, strict=False)
    table = pl.DataFrame({"id": known, "i": pl.int_range(len(known), dtype=pl.Int64, eager=True)})
    joined = pl.DataFrame({"id": wanted}).join(table, on="id", how="left", maintain_order="left")
    return torch.from_numpy(joined["i"].fill_null(-1).to_numpy().copy())


# --- reading ------------------------------------------------------------------------------


def load_model(session: Session, model_id: int, device: str = "auto") -> LoadedModel:
    """The registered model ``model_id`` with its weights loaded on ``device``."""
    record = get(session, model_id)
    return LoadedModel(record, load_bundle(record.artifact_path, device))


# --- training -----------------------------------------------------------------------------


def interactions_for(session: Session, dataset: str, events: tuple[str, ...], weights: dict[str, float],
                     progress: Progress = no_progress) -> tuple[Interactions, DatasetRecord]:
    """The dataset's interactions of the chosen kinds (its defaults when none are chosen)."""
    record = datasets.get(session, dataset)
    kinds_present = record.profile.get("kinds", {})
    kinds = tuple(events) or default_kinds(kinds_present, record.format)
    check_kinds(kinds, weights, kinds_present)
    items = datasets.load(record, "items") if "items" in record.tables else None
    progress(0.5, f"reading {dataset} events")
    data = build_interactions(datasets.load(record, "events"), kinds, weights, items)
    progress(1.0, f"{data.matrix.nnz:,} interactions")
    return data, record


def item_features_for(record: DatasetRecord, data: Interactions) -> ItemFeatures:
    """The content features of ``data``'s items (tags, words of titles and bodies, kind, creator,
    price bucket) from the dataset's ``items`` and, where it has one, ``post_texts`` table."""
    items = datasets.load(record, "items") if "items" in record.tables else None
    texts = datasets.load(record, "post_texts") if "post_texts" in record.tables else None
    return build_item_features(data.item_ids, items, texts)


def _fit(model: Recommender, train, request: TrainRequest, progress: Progress, checkpoint_dir: Path | None,
         resume: bool):
    """Fit on one process, on ``request.distributed`` spawned processes, or as this torchrun rank;
    returns (the pairs it was fitted on — fewer with a validation slice —, the fit report)."""
    validation = None
    if request.patience:
        carved = validation_split(train, VALIDATION_RATIO, request.seed + 1)
        train, validation = carved.train, carved.test
    if request.distributed:
        return train, fit_distributed(model, train, request.distributed, progress=progress, validation=validation,
                                      checkpoint_dir=checkpoint_dir, resume=resume)
    return train, model.fit(train, progress=progress, validation=validation, checkpoint_dir=checkpoint_dir,
                            resume=resume)


def train(session: Session, request: TrainRequest, progress: Progress = no_progress, *,
          checkpoint_dir: Path | None = None, resume: bool = False, job_id: int | None = None) -> ModelRecord | None:
    """Train, evaluate and register a model; returns its record (None on a torchrun rank > 0).

    All or nothing: the artifact and the registry row appear together or not at all.
    """
    placement = placement_from_env()
    if placement is not None and placement.rank != 0:
        _train_torchrun_follower(session, request, placement, checkpoint_dir)
        return None
    with session.action("model.train", target=request.data, params=request.as_params()):
        data, record = interactions_for(session, request.data, request.events, request.weights,
                                        scaled(progress, 0.0, 0.05))
        split = make_split(data.matrix, data.pair_ts, request.split, test_ratio=request.test_ratio,
                           seed=request.seed, cut=request.cut_datetime())
        model = request.make_model()
        if model.uses_item_features:
            model.item_features = item_features_for(record, data)
        if placement is not None:
            model.placement = placement
            model.device = join_group(placement, model.device)
        began = time.perf_counter()
        fitted_on, fit = _fit(model, split.train, request, scaled(progress, 0.05, 0.9), checkpoint_dir, resume)
        fit_seconds = time.perf_counter() - began
        model.history = split.train
        setup = EvalSetup(split.train, split.test, split.test_users(), data.item_creator, len(data.creator_ids),
                          split.blocked_items())
        metrics = evaluate(model, setup, request.ks, progress=scaled(progress, 0.9, 0.99))
        bundle = ModelBundle(model, split, data.user_ids, data.item_ids, data.item_creator, data.creator_ids,
                             data.kinds, data.weights, fit.as_dict())
        split_info = {**split.describe(), "validation_pairs": split.train.nnz - fitted_on.nnz}
        saved = _register(session, bundle, record, split_info, metrics, fit.as_dict(), fit_seconds, job_id)
        progress(1.0, f"model {saved.id} registered")
        return saved


def _train_torchrun_follower(session: Session, request: TrainRequest, placement, checkpoint_dir: Path | None) -> None:
    """A torchrun rank other than 0: train its shard of every batch; rank 0 registers."""
    data, _ = interactions_for(session, request.data, request.events, request.weights)
    split = make_split(data.matrix, data.pair_ts, request.split, test_ratio=request.test_ratio,
                       seed=request.seed, cut=request.cut_datetime())
    model = request.make_model()
    model.placement = placement
    model.device = join_group(placement, model.device)
    _fit(model, split.train, request, no_progress, checkpoint_dir, False)


def _register(session: Session, bundle: ModelBundle, dataset_record, split_info: dict, metrics: dict, fit: dict,
              fit_seconds: float, job_id: int | None, parent_id: int | None = None,
              drift: dict | None = None) -> ModelRecord:
    model = bundle.model
    with registry.staging_file(session.ws) as staged:
        save_bundle(bundle, staged)
        return registry.register_model(
            session.ws, staged, algo=model.algo, params=model.params.as_dict(), dataset=dataset_record.name,
            dataset_hash=dataset_record.content_hash,
            interactions={"kinds": list(bundle.kinds), "weights": bundle.weights},
            split=split_info, metrics=metrics, fit=fit, n_users=bundle.train.n_users,
            n_items=bundle.train.n_items, n_train=bundle.train.nnz, device=str(model.device),
            fit_seconds=fit_seconds, created_by=session.actor.name, parent_id=parent_id, drift=drift, job_id=job_id,
        )


def update(session: Session, request: UpdateRequest, progress: Progress = no_progress, *,
           job_id: int | None = None) -> ModelRecord:
    """Fold ``request.data``'s events into model ``request.model_id`` (warm start); the new
    model is registered with the parent's id and a drift report."""
    with session.action("model.update", target=str(request.model_id), params=request.as_params()):
        parent_record = get(session, request.model_id)
        parent = load_bundle(parent_record.artifact_path, request.device)
        if parent.model.uses_item_features:
            raise ConsoleError(f"model {parent_record.id} ({parent.model.algo}) learns from item features, which a "
                               "warm-start update does not refresh yet: train a new model on the new data instead")
        data, record = interactions_for(session, request.data, tuple(parent.kinds), dict(parent.weights),
                                        scaled(progress, 0.0, 0.05))
        began = time.perf_counter()
        result = warm_start_update(parent, data, epochs=request.epochs, device=request.device,
                                   progress=scaled(progress, 0.05, 0.9))
        fit_seconds = time.perf_counter() - began
        child = result.bundle
        setup = EvalSetup(child.train, child.test, child.split.test_users(), child.item_creator,
                          len(child.creator_ids), child.split.blocked_items())
        ks = {int(k.split("@")[1]) for k in parent_record.metrics if "@" in k}
        ks = sorted(k for k in ks if k <= child.train.n_items) or [min(10, child.train.n_items)]
        metrics = evaluate(child.model, setup, ks)
        saved = _register(session, child, record, child.split.describe(), metrics, result.fit.as_dict(), fit_seconds,
                          job_id, parent_id=parent_record.id, drift=result.drift)
        progress(1.0, f"model {saved.id} registered (update of {parent_record.id})")
        return saved


# --- as jobs ------------------------------------------------------------------------------


def train_job(session: Session, request: TrainRequest, ctx: JobContext) -> JobResult:
    """Train a recommender (checkpointed every epoch; ``jobs resume`` continues it)."""
    ctx.log(f"training {request.algo} on '{request.data}'")
    record = train(session, request, ctx.progress, checkpoint_dir=ctx.checkpoint_dir, resume=ctx.resume,
                   job_id=ctx.job_id)
    ctx.log(f"model {record.id}: " + "  ".join(f"{k}={v:.4f}" for k, v in record.metrics.items() if k.endswith("@10")))
    return JobResult("model", str(record.id))


def update_job(session: Session, request: UpdateRequest, ctx: JobContext) -> JobResult:
    """Update a recommender with new events (warm start) and report drift."""
    record = update(session, request, ctx.progress, job_id=ctx.job_id)
    return JobResult("model", str(record.id))


def start_training(session: Session, request: TrainRequest, *, detach: bool = True,
                   progress: Progress | None = None) -> int:
    """Check the request cheaply, then run it as a ``train`` job; returns the job id."""
    params = request.as_params()
    refuse_unless_allowed(session, get_job_kind("train"), request.data, params)
    request.make_model()
    interactions_kinds_check(session, request)
    return start_job(session, "train", params, detach=detach, progress=progress)


def start_update(session: Session, request: UpdateRequest, *, detach: bool = True,
                 progress: Progress | None = None) -> int:
    """Check the request cheaply, then run it as a ``model_update`` job; returns the job id."""
    params = request.as_params()
    refuse_unless_allowed(session, get_job_kind("model_update"), str(request.model_id), params)
    get(session, request.model_id)
    datasets.get(session, request.data)
    return start_job(session, "model_update", params, detach=detach, progress=progress)


def interactions_kinds_check(session: Session, request: TrainRequest) -> None:
    """The dataset exists and has the chosen event kinds (a one-line error otherwise)."""
    record = datasets.get(session, request.data)
    kinds_present = record.profile.get("kinds", {})
    kinds = tuple(request.events) or default_kinds(kinds_present, record.format)
    check_kinds(kinds, request.weights, kinds_present)


def model_from_job(session: Session, job_id: int) -> ModelRecord:
    """The model a finished train/update job made (a one-line error if it made none)."""
    from kpconsole.jobs import show_job

    job = show_job(session, job_id)
    if job.result_kind != "model" or not job.result_id:
        raise ConsoleError(f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else "") + "; no model")
    return get(session, int(job.result_id))

