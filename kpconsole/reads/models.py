"""The model registry as a person reads it: list, look up, and models side by side.

Side by side uses the metrics stored at training time; a cut-off a model was not evaluated
at is computed by the ``compute`` callback the caller passes
(:func:`kpconsole.services.model_evaluation.metrics_at`, which loads the model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kpconsole.errors import ConsoleError
from kpconsole.session import Session
from store import models as registry
from store.models import ModelRecord

#: The columns of ``model compare``, in order.
COMPARED = ("precision", "recall", "ndcg", "map", "hr", "coverage", "novelty", "ild", "popularity", "creator_gini")


def list_models(session: Session, dataset: str | None = None) -> list[ModelRecord]:
    """Registered models, newest first (optionally only those of ``dataset``)."""
    return registry.list_models(session.ws, dataset=dataset)


def get(session: Session, model_id: int) -> ModelRecord:
    """Model ``model_id`` (a one-line error naming the known ids when there is none)."""
    return registry.get_model(session.ws, model_id)


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


#: ``compute(model_id, k)``: a model's metrics at ``k``, computed now.
ComputeMetrics = Callable[[int, int], dict]


def compare(session: Session, model_ids: list[int], k: int = 10, *, compute: ComputeMetrics | None = None) -> Comparison:
    """Metrics at ``k`` for each model: stored ones when it was evaluated at that k, else
    ``compute(model_id, k)`` (without ``compute``, such a model is a one-line error)."""
    if len(model_ids) < 1:
        raise ConsoleError("give at least one model id to compare")
    if k < 1:
        raise ConsoleError(f"k must be at least 1 (got {k})")
    records = [get(session, i) for i in model_ids]
    rows = []
    for record in records:
        metrics = record.metrics
        if f"ndcg@{k}" not in metrics:
            if compute is None:
                raise ConsoleError(f"model {record.id} was not evaluated at k={k}: evaluate it first")
            metrics = compute(record.id, k)
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
