"""The epoch loop shared by iterative models (iALS, BPR-MF, neural CF).

Each epoch: the model runs one pass (:meth:`EpochModel.run_epoch`, returning its mean loss);
with validation pairs the loop computes NDCG@10 on them (full ranking, training pairs
excluded), keeps the best weights and stops after ``patience`` epochs without improvement
(``patience`` 0: run every epoch, still keep the best). After each epoch it writes a checkpoint
— weights, optimiser, the random generator's state, history — *before* reporting progress, so
a run cancelled from the progress callback (or killed) resumes from the last finished epoch
and, with the same seed, ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import os
import time
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import torch

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.recommend.base import FitReport, ModelParams, Recommender
from engine.device import generator
from engine.recommend.matrix import UserItemMatrix

CHECKPOINT = "checkpoint.pt"
VALIDATION_K = 10


class EpochParams(ModelParams, Protocol):
    """The parameters :func:`run_epochs` reads."""

    @property
    def epochs(self) -> int: ...

    @property
    def seed(self) -> int: ...

    @property
    def patience(self) -> int: ...


class EpochModel(Recommender):
    """A model trained epoch by epoch; its ``Params`` have ``epochs``, ``seed`` and ``patience``."""

    params: EpochParams
    iterative = True
    #: names in :meth:`state_dict` whose rows are users / items (a warm start maps them by ID)
    user_tensors: tuple[str, ...] = ()
    item_tensors: tuple[str, ...] = ()
    #: an update (warm start from a parent) runs the parent's epochs ÷ this by default
    update_divisor: int = 3

    @property
    def is_primary(self) -> bool:
        """Whether this process writes checkpoints (the only one, or rank 0 of a distributed run)."""
        return True

    @abstractmethod
    def begin(self, train: UserItemMatrix, rng: torch.Generator) -> None:
        """Allocate and initialise the weights (and optimiser) for ``train``."""

    @abstractmethod
    def run_epoch(self, rng: torch.Generator) -> float:
        """One pass over the training data; returns the mean training loss."""

    def training_state(self) -> dict:
        """Everything a checkpoint needs to continue (weights; optimisers add their state)."""
        return {"weights": self.state_dict()}

    def load_training_state(self, state: dict) -> None:
        self.load_state_dict(state["weights"])

    def fit(
        self,
        train: UserItemMatrix,
        *,
        progress: Progress = no_progress,
        validation: UserItemMatrix | None = None,
        checkpoint_dir: Path | None = None,
        resume: bool = False,
        warm_start: Callable[[EpochModel], None] | None = None,
    ) -> FitReport:
        """See :class:`Recommender`; ``warm_start`` runs right after the weights are allocated
        (model updates use it to start from a parent model's weights)."""
        return run_epochs(self, train, progress=progress, validation=validation,
                          checkpoint_dir=checkpoint_dir, resume=resume, warm_start=warm_start)


def _signature(model: EpochModel, train: UserItemMatrix) -> dict:
    return {"algo": model.algo, "params": model.params.as_dict(), "n_users": train.n_users,
            "n_items": train.n_items, "nnz": train.nnz}


def run_epochs(
    model: EpochModel,
    train: UserItemMatrix,
    *,
    progress: Progress = no_progress,
    validation: UserItemMatrix | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    warm_start: Callable[[EpochModel], None] | None = None,
) -> FitReport:
    """Train ``model`` for ``params.epochs`` epochs (fewer when stopping early)."""
    from engine.recommend.evaluate import EvalSetup, evaluate

    params = model.params
    epochs, patience = int(params.epochs), int(params.patience)
    if epochs < 1:
        raise EngineError(f"epochs must be at least 1 (got {epochs})")
    rng = generator(params.seed)
    model.history = train
    model.begin(train, rng)
    if warm_start is not None:
        warm_start(model)
    report = FitReport(epochs=0)
    best_state: dict | None = None
    best_metric, bad_epochs, start = float("-inf"), 0, 0
    path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
    if resume and path is not None and path.exists():
        saved = _load_checkpoint(path, _signature(model, train))
        model.load_training_state(saved["state"])
        rng.set_state(saved["rng"])
        start = report.resumed_from = report.epochs = int(saved["epoch"])
        report.history = list(saved["history"])
        best_state, best_metric, bad_epochs = saved["best_state"], float(saved["best_metric"]), int(saved["bad_epochs"])
        report.best_epoch = saved["best_epoch"]
    setup = None
    if validation is not None:
        val_users = torch.nonzero((train.row_counts() > 0) & (validation.row_counts() > 0)).flatten()
        setup = EvalSetup(train, validation, val_users) if len(val_users) else None
    began = time.perf_counter()
    for epoch in range(start, epochs):
        if patience and bad_epochs >= patience:
            break
        loss = model.run_epoch(rng)
        metrics = {"loss": float(loss)}
        if setup is not None:
            value = evaluate(model, setup, [VALIDATION_K], beyond_accuracy=False)[f"ndcg@{VALIDATION_K}"]
            metrics[f"val_ndcg@{VALIDATION_K}"] = value
            if value > best_metric:
                best_metric, bad_epochs, report.best_epoch = value, 0, epoch + 1
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
        report.epochs = epoch + 1
        report.history.append({"epoch": epoch + 1, **metrics})
        if path is not None and model.is_primary:
            _save_checkpoint(path, {
                "signature": _signature(model, train), "epoch": epoch + 1, "state": model.training_state(),
                "rng": rng.get_state(), "history": report.history, "best_state": best_state,
                "best_metric": best_metric, "bad_epochs": bad_epochs, "best_epoch": report.best_epoch,
            })
        progress((epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs}", metrics)
    report.stopped_early = report.epochs < epochs
    report.seconds = time.perf_counter() - began
    if best_state is not None:
        model.load_state_dict(best_state)
    return report


def _save_checkpoint(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, signature: dict) -> dict:
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: say so in one line
        raise EngineError(f"checkpoint {path} cannot be read ({type(exc).__name__}); remove it to start over") from None
    if not isinstance(saved, dict) or saved.get("signature") != signature:
        raise EngineError(f"checkpoint {path} belongs to another training run (other data or parameters)")
    return saved
