"""The model registry: one row per trained recommender, its weights in ``models/<file>.pt``.

Registering is all-or-nothing, like a dataset: the caller writes the artifact to a staging
path (:func:`staging_file`), then :func:`register_model` renames it into place and inserts
the row in one transaction; if anything fails the file is removed and the registry is as it
was. The store keeps the artifact as bytes: what is inside is the engine's business.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from store.clock import now
from store.errors import NotFound
from store.workspace import Workspace

STAGING_PREFIX = ".staging-"
JSON_FIELDS = ("params", "interactions", "split", "metrics", "fit", "drift")


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
    row = dict(row)
    for name in JSON_FIELDS:
        row[name] = json.loads(row[name]) if row[name] is not None else None
    return ModelRecord(**row, models_dir=ws.models_dir)


@contextmanager
def staging_file(ws: Workspace, suffix: str = ".pt") -> Iterator[Path]:
    """A fresh path under ``models/`` to write an artifact to; removed again if still there."""
    ws.models_dir.mkdir(parents=True, exist_ok=True)
    path = ws.models_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


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
    final = ws.models_dir / f"{algo}-{uuid.uuid4().hex[:12]}{staged.suffix}"
    staged.rename(final)
    values = {
        "algo": algo, "params": json.dumps(params), "dataset": dataset, "dataset_hash": dataset_hash,
        "interactions": json.dumps(interactions), "split": json.dumps(split), "metrics": json.dumps(metrics),
        "fit": json.dumps(fit), "n_users": n_users, "n_items": n_items, "n_train": n_train, "device": device,
        "fit_seconds": fit_seconds, "artifact": final.name, "parent_id": parent_id,
        "drift": json.dumps(drift) if drift is not None else None, "job_id": job_id,
        "created_at": now(), "created_by": created_by,
    }
    try:
        with ws.transaction() as conn:
            if parent_id is not None and conn.execute("SELECT 1 FROM models WHERE id = ?", (parent_id,)).fetchone() is None:
                raise NotFound(f"no model {parent_id} (the parent of this update)")
            cols = ", ".join(values)
            cur = conn.execute(f"INSERT INTO models ({cols}) VALUES ({', '.join(':' + k for k in values)})", values)
            model_id = int(cur.lastrowid)
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    return get_model(ws, model_id)


def get_model(ws: Workspace, model_id: int) -> ModelRecord:
    rows = list(ws.db.query("SELECT * FROM models WHERE id = ?", [model_id]))
    if not rows:
        count = ws.conn.execute("SELECT COUNT(*) FROM models").fetchone()[0]
        hint = "list them with: kpconsole model list" if count else "train one with: kpconsole model train --data NAME"
        raise NotFound(f"no model {model_id} ({hint})")
    return _record(ws, rows[0])


def list_models(ws: Workspace, *, dataset: str | None = None, limit: int = 200) -> list[ModelRecord]:
    """Newest first, optionally only those trained on ``dataset``."""
    sql, args = "SELECT * FROM models", []
    if dataset:
        sql += " WHERE dataset = ?"
        args.append(dataset)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [_record(ws, row) for row in ws.db.query(sql, args)]
