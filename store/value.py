"""Customer-value fits: one registry row per fit, and per-customer scores (P(alive), expected
purchases, CLV) as a Parquet file under ``models/value/`` when the model makes them.

Registering is all-or-nothing, like a segmentation: the caller writes the Parquet to
:func:`staging_file`, then :func:`register_value_fit` renames it into place and inserts the
row in one transaction, removing the file if the insert fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager

from store import registry
from store.errors import NotFound, Remedy
from store.tables import VALUE_FITS
from store.workspace import Workspace

FOLDER = "value"


@dataclass(frozen=True)
class ValueFitRecord:
    id: int
    dataset: str
    dataset_hash: str
    model: str
    params: dict
    log_likelihood: float
    fit: dict
    settings: dict
    results: dict
    n: int
    artifact: str | None
    job_id: int | None
    created_at: str
    created_by: str
    folder: Path

    @property
    def artifact_path(self) -> Path | None:
        return self.folder / self.artifact if self.artifact else None

    def as_dict(self) -> dict:
        """The estimates under their usual names at the top level, beside everything else."""
        out = {"id": self.id, "dataset": self.dataset, "model": self.model, **self.params,
               "log_likelihood": self.log_likelihood}
        out.update({k: v for k, v in self.__dict__.items() if k not in ("folder", "params", "log_likelihood")})
        out["params"] = self.params
        out["artifact_path"] = str(self.artifact_path) if self.artifact else None
        return out


def folder(ws: Workspace) -> Path:
    return ws.models_dir / FOLDER


def staging_file(ws: Workspace, suffix: str = ".parquet") -> ContextManager[Path]:
    """A fresh path under ``models/value/`` to write per-customer scores to; removed if still there."""
    return registry.staging_path(folder(ws), suffix)


def register_value_fit(
    ws: Workspace,
    staged: Path | None,
    *,
    dataset: str,
    dataset_hash: str,
    model: str,
    params: dict,
    log_likelihood: float,
    fit: dict,
    settings: dict,
    results: dict,
    n: int,
    created_by: str,
    job_id: int | None = None,
) -> ValueFitRecord:
    """Move ``staged`` (if any) into place and insert the fit's row; both happen, or neither."""
    with registry.publish(ws, staged, model) as (_, artifact):
        fit_id = VALUE_FITS.insert(ws, {
            "dataset": dataset, "dataset_hash": dataset_hash, "model": model, "params": params,
            "log_likelihood": log_likelihood, "fit": fit, "settings": settings, "results": results, "n": n,
            "artifact": artifact, "job_id": job_id, "created_at": ws.now(), "created_by": created_by,
        })
    return get_value_fit(ws, fit_id)


def _record(ws: Workspace, row: dict) -> ValueFitRecord:
    return ValueFitRecord(**row, folder=folder(ws))


def get_value_fit(ws: Workspace, fit_id: int) -> ValueFitRecord:
    row = registry.row_by_id(ws, VALUE_FITS, fit_id)
    if row is None:
        remedy = (Remedy("list them with", "value list") if registry.has_rows(ws, VALUE_FITS)
                  else Remedy("make one with", "value fit", (("data", "NAME"), ("model", "bgnbd"))))
        raise NotFound(f"no value fit {fit_id}", remedy)
    return _record(ws, row)


def list_value_fits(ws: Workspace, *, dataset: str | None = None, limit: int = 200) -> list[ValueFitRecord]:
    """Newest first, optionally only those of ``dataset``."""
    return [_record(ws, row) for row in registry.newest_rows(ws, VALUE_FITS, dataset=dataset, limit=limit)]

