"""Evaluating and comparing registered models (reads: any role may run them).

A model's artifact holds the exact train/test split it was trained on, so evaluation needs no
dataset and gives the same numbers every time: full ranking over every item, the user's
training items excluded (see :mod:`engine.recommend.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from engine.recommend.artifact import load_bundle
from engine.recommend.evaluate import EvalSetup, check_ks
from engine.recommend.evaluate import evaluate as evaluate_model
from kpconsole.errors import ConsoleError
from kpconsole.services import models
from kpconsole.session import Session

#: The columns of ``model compare``, in order.
COMPARED = ("precision", "recall", "ndcg", "map", "hr", "coverage", "novelty", "ild", "popularity", "creator_gini")


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
    record = models.get(session, model_id)
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
    setup = EvalSetup(bundle.train, bundle.test, users, bundle.item_creator, len(bundle.creator_ids))
    metrics = evaluate_model(bundle.model, setup, ks)
    return Evaluation(record.id, record.algo, record.dataset, ks, metrics, int(metrics["users"]), user)


@dataclass(frozen=True)
class Comparison:
    """Side by side at one k; ``comparable`` is False when the models differ in data or split."""

    k: int
    rows: list[dict]
    comparable: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _same_split(a: dict, b: dict) -> bool:
    keys = ("method", "test_ratio", "seed", "cut")
    return all(a.get(k) == b.get(k) for k in keys)


def compare(session: Session, model_ids: list[int], k: int = 10, *, device: str = "auto") -> Comparison:
    """Metrics at ``k`` for each model (stored ones when trained with that k, else computed now)."""
    if len(model_ids) < 1:
        raise ConsoleError("give at least one model id to compare")
    if k < 1:
        raise ConsoleError(f"k must be at least 1 (got {k})")
    records = [models.get(session, i) for i in model_ids]
    rows = []
    for record in records:
        metrics = record.metrics
        if f"ndcg@{k}" not in metrics:
            metrics = evaluate(session, record.id, [k], device=device).metrics
        row = {"id": record.id, "algo": record.algo, "dataset": record.dataset, "split": record.split.get("method"),
               "test_users": record.split.get("test_users"), "fit_seconds": record.fit_seconds}
        row.update({f"{name}@{k}": metrics.get(f"{name}@{k}") for name in COMPARED})
        rows.append(row)
    first = records[0]
    notes = []
    for record in records[1:]:
        if (record.dataset, record.dataset_hash) != (first.dataset, first.dataset_hash):
            notes.append(f"model {record.id} was trained on other data than model {first.id}")
        elif not _same_split(record.split, first.split) or record.interactions != first.interactions:
            notes.append(f"model {record.id} uses another split or other interactions than model {first.id}")
    return Comparison(k, rows, not notes, notes)
