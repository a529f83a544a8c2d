"""The model registry as a person reads it: list, look up, models side by side, and which
models are stale (trained on a version of their dataset that has since been replaced).

Side by side uses the metrics stored at training time; a cut-off a model was not evaluated
at is computed by the ``compute`` callback the caller passes
(:func:`kpconsole.services.model_evaluation.metrics_at`, which loads the model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kpconsole.errors import ConsoleError
from kpconsole.session import Session
from store import catalog
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


CURRENT, STALE, GONE = "current", "stale", "dataset deleted"


@dataclass(frozen=True)
class Freshness:
    """Whether a model was trained on its dataset as it is now.

    ``state`` is ``current``, ``stale`` (the dataset's content changed since: an append, a
    replace) or ``dataset deleted``; ``trained_version`` is the dataset version the model
    learned from when it is still known (current or kept), ``version`` the dataset's now.
    """

    model_id: int
    dataset: str
    state: str
    trained_version: int | None = None
    version: int | None = None

    @property
    def stale(self) -> bool:
        return self.state == STALE

    @property
    def change(self) -> str:
        """The versions: ``v1 → v2`` (``now v2`` when the trained version is no longer known)."""
        return f"v{self.trained_version} → v{self.version}" if self.trained_version else f"now v{self.version}"

    @property
    def note(self) -> str:
        """Empty for a current model, else a short mark: ``⚠ stale: data changed (v1 → v2)``,
        ``dataset deleted``."""
        if self.state == STALE:
            return f"⚠ stale: data changed ({self.change})"
        return "" if self.state == CURRENT else self.state

    def as_dict(self) -> dict:
        return {"state": self.state, "stale": self.stale, "trained_version": self.trained_version,
                "version": self.version}


def freshness(session: Session, records: list[ModelRecord] | None = None) -> dict[int, Freshness]:
    """Each model's :class:`Freshness` (of ``records``, or of every registered model), by id.

    The one place stale models are told apart, for the CLI (``model list``), the console's
    screens and anything else: it compares a model's dataset hash with its dataset's current
    hash, and finds the version it was trained on among the versions the catalog keeps.
    Reads SQLite only."""
    records = list_models(session) if records is None else records
    now = {d.name: d for d in catalog.list_datasets(session.ws)}
    kept = {(v.dataset, v.content_hash): v.version for v in catalog.kept_versions(session.ws)}
    out = {}
    for r in records:
        dataset = now.get(r.dataset)
        if dataset is None:
            out[r.id] = Freshness(r.id, r.dataset, GONE)
        elif dataset.content_hash == r.dataset_hash:
            out[r.id] = Freshness(r.id, r.dataset, CURRENT, dataset.version, dataset.version)
        else:
            out[r.id] = Freshness(r.id, r.dataset, STALE, kept.get((r.dataset, r.dataset_hash)), dataset.version)
    return out


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
