"""Customer-value fits: one registry row per fit, and per-customer scores (P(alive), expected
purchases, CLV) as a Parquet file under ``models/value/`` when the model makes them.

Registering is all-or-nothing, like a segmentation: the caller writes the Parquet to
:func:`staging_file`, then :func:`register_value_fit` renames it into place and inserts the
row in one transaction, removing the file if the insert fails.
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

FOLDER = "value"
STAGING_PREFIX = ".staging-"
JSON_FIELDS = ("params", "fit", "settings", "results")


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


@contextmanager
def staging_file(ws: Workspace, suffix: str = ".parquet") -> Iterator[Path]:
    """A fresh path under ``models/value/`` to write per-customer scores to; removed if still there."""
    folder(ws).mkdir(parents=True, exist_ok=True)
    path = folder(ws) / f"{STAGING_PREFIX}{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


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
    final = None
    if staged is not None:
        final = folder(ws) / f"{model}-{uuid.uuid4().hex[:12]}{staged.suffix}"
        staged.rename(final)
    values = {
        "dataset": dataset, "dataset_hash": dataset_hash, "model": model, "params": json.dumps(params),
        "log_likelihood": log_likelihood, "fit": json.dumps(fit), "settings": json.dumps(settings, default=str),
        "results": json.dumps(results, default=str), "n": n, "artifact": final.name if final else None,
        "job_id": job_id, "created_at": now(), "created_by": created_by,
    }
    try:
        with ws.transaction() as conn:
            cols = ", ".join(values)
            cur = conn.execute(f"INSERT INTO value_fits ({cols}) VALUES ({', '.join(':' + k for k in values)})", values)
            fit_id = int(cur.lastrowid)
    except BaseException:
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    return get_value_fit(ws, fit_id)


def _record(ws: Workspace, row: dict) -> ValueFitRecord:
    row = dict(row)
    for name in JSON_FIELDS:
        row[name] = json.loads(row[name])
    return ValueFitRecord(**row, folder=folder(ws))


def get_value_fit(ws: Workspace, fit_id: int) -> ValueFitRecord:
    rows = list(ws.db.query("SELECT * FROM value_fits WHERE id = ?", [fit_id]))
    if not rows:
        count = ws.conn.execute("SELECT COUNT(*) FROM value_fits").fetchone()[0]
        hint = "list them with: kpconsole value list" if count else \
            "make one with: kpconsole value fit --data NAME --model bgnbd"
        raise NotFound(f"no value fit {fit_id} ({hint})")
    return _record(ws, rows[0])


def list_value_fits(ws: Workspace, *, dataset: str | None = None, limit: int = 200) -> list[ValueFitRecord]:
    """Newest first, optionally only those of ``dataset``."""
    sql, args = "SELECT * FROM value_fits", []
    if dataset:
        sql += " WHERE dataset = ?"
        args.append(dataset)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [_record(ws, row) for row in ws.db.query(sql, args)]
