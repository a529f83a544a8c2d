"""Evaluating registered models (reads: any role may run them; side by side: :mod:`kpconsole.reads.models`).

A model's artifact holds the exact train/test split it was trained on, so evaluation needs no
dataset and gives the same numbers every time: full ranking over every item, the user's
training items excluded (see :mod:`engine.recommend.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.recommend.artifact import load_bundle
from engine.recommend.evaluate import EvalSetup, check_ks
from engine.recommend.evaluate import evaluate as evaluate_model
from kpconsole.errors import ConsoleError
from kpconsole.reads import models as model_reads
from kpconsole.services import models
from kpconsole.session import Session


@dataclass(frozen=True)
class Evaluation:
    model_id: int
    algo: str
    dataset: str
    ks: list[int]
    metrics: dict[str, float]
    users: int
    user: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate(session: Session, model_id: int, ks: list[int], *, user: str | None = None,
             device: str = "auto") -> Evaluation:
    """Metrics of model ``model_id`` at each k, over its test users — or for one ``user``."""
    record = model_reads.get(session, model_id)
    bundle = load_bundle(record.artifact_path, device)
    ks = check_ks(ks, bundle.train.n_items)
    users = bundle.split.test_users()
    if user is not None:
        index = int(models.index_of(bundle.user_ids, [user])[0])
        if index < 0:
            raise ConsoleError(f"user {user} is not in model {model_id}'s data (dataset '{record.dataset}')")
        if not bool((users == index).any()):
            raise ConsoleError(f"user {user} has no test interactions (or no training history) in model {model_id}'s "
                               "split: nothing to evaluate")
        users = torch.tensor([index])
    setup = EvalSetup(bundle.train, bundle.test, users, bundle.item_creator, len(bundle.creator_ids),
                      bundle.split.blocked_items())
    metrics = evaluate_model(bundle.model, setup, ks)
    return Evaluation(record.id, record.algo, record.dataset, ks, metrics, int(metrics["users"]), user)


def metrics_at(session: Session, device: str = "auto") -> model_reads.ComputeMetrics:
    """``compute(model_id, k)`` for :func:`kpconsole.reads.models.compare`: evaluates the model at k now."""
    return lambda model_id, k: evaluate(session, model_id, [k], device=device).metrics
