"""The model registry: one row per trained recommender, its weights in ``models/<file>.pt``.

Registering is all-or-nothing, like a dataset: the caller writes the artifact to a staging
path (:func:`staging_file`), then :func:`register_model` renames it into place and inserts
the row in one transaction; if anything fails the file is removed and the registry is as it
was. The store keeps the artifact as bytes: what is inside is the engine's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager

from store import registry
from store.errors import NotFound, Remedy
from store.tables import MODELS
from store.workspace import Workspace


@dataclass(frozen=True)
class ModelRecord:
    id: int
    algo: str
    params: dict
    dataset: str
    dataset_hash: str
    interactions: dict
    split: dict
    metrics: dict
    fit: dict
    n_users: int
    n_items: int
    n_train: int
    device: str
    fit_seconds: float
    artifact: str
    parent_id: int | None
    drift: dict | None
    job_id: int | None
    created_at: str
    created_by: str
    models_dir: Path

    @property
    def artifact_path(self) -> Path:
        return self.models_dir / self.artifact

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "models_dir"}
        out["artifact_path"] = str(self.artifact_path)
        return out


def _record(ws: Workspace, row: dict) -> ModelRecord:
    return ModelRecord(**row, models_dir=ws.models_dir)


def staging_file(ws: Workspace, suffix: str = ".pt") -> ContextManager[Path]:
    """A fresh path under ``models/`` to write an artifact to; removed again if still there."""
    return registry.staging_path(ws.models_dir, suffix)


def register_model(
    ws: Workspace,
    staged: Path,
    *,
    algo: str,
    params: dict,
    dataset: str,
    dataset_hash: str,
    interactions: dict,
    split: dict,
    metrics: dict,
    fit: dict,
    n_users: int,
    n_items: int,
    n_train: int,
    device: str,
    fit_seconds: float,
    created_by: str,
    parent_id: int | None = None,
    drift: dict | None = None,
    job_id: int | None = None,
) -> ModelRecord:
    """Move ``staged`` into place and insert its row; both happen, or neither."""
    with registry.publish(ws, staged, algo) as (conn, artifact):
        if parent_id is not None and conn.execute("SELECT 1 FROM models WHERE id = ?", (parent_id,)).fetchone() is None:
            raise NotFound(f"no model {parent_id} (the parent of this update)")
        model_id = MODELS.insert(ws, {
            "algo": algo, "params": params, "dataset": dataset, "dataset_hash": dataset_hash,
            "interactions": interactions, "split": split, "metrics": metrics, "fit": fit,
            "n_users": n_users, "n_items": n_items, "n_train": n_train, "device": device,
            "fit_seconds": fit_seconds, "artifact": artifact, "parent_id": parent_id, "drift": drift,
            "job_id": job_id, "created_at": ws.now(), "created_by": created_by,
        })
    return get_model(ws, model_id)


def get_model(ws: Workspace, model_id: int) -> ModelRecord:
    row = registry.row_by_id(ws, MODELS, model_id)
    if row is None:
        remedy = (Remedy("list them with", "model list") if registry.has_rows(ws, MODELS)
                  else Remedy("train one with", "model train", (("data", "NAME"),)))
        raise NotFound(f"no model {model_id}", remedy)
    return _record(ws, row)


def list_models(ws: Workspace, *, dataset: str | None = None, limit: int = 200) -> list[ModelRecord]:
    """Newest first, optionally only those trained on ``dataset``."""
    return [_record(ws, row) for row in registry.newest_rows(ws, MODELS, dataset=dataset, limit=limit)]
