"""Segmentations: the registry row, its segments, every user's assignment, and a Parquet file
of per-user rows (the values behind each membership) under ``models/segments/``.

Registering is all-or-nothing: the caller writes the Parquet to a staging path
(:func:`staging_file`), then :func:`register_segmentation` renames it into place and inserts
the registry row, the segments and the assignments in one transaction; if anything fails the
file is removed and the tables are as they were.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from store.clock import now
from store.errors import NotFound
from store.workspace import Workspace

FOLDER = "segments"
STAGING_PREFIX = ".staging-"
JSON_FIELDS = ("params", "metrics", "model")


@dataclass(frozen=True)
class SegmentationRecord:
    id: int
    dataset: str
    dataset_hash: str
    method: str
    k: int
    params: dict
    metrics: dict
    model: dict
    n_users: int
    as_of: str
    artifact: str
    job_id: int | None
    created_at: str
    created_by: str
    folder: Path

    @property
    def artifact_path(self) -> Path:
        return self.folder / self.artifact

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "folder"}
        out["artifact_path"] = str(self.artifact_path)
        return out


@dataclass(frozen=True)
class SegmentRecord:
    segment_id: int
    name: str
    users: int
    profile: dict

    def as_dict(self) -> dict:
        return {"segment_id": self.segment_id, "name": self.name, "users": self.users, **self.profile}


def folder(ws: Workspace) -> Path:
    return ws.models_dir / FOLDER


@contextmanager
def staging_file(ws: Workspace, suffix: str = ".parquet") -> Iterator[Path]:
    """A fresh path under ``models/segments/`` to write per-user rows to; removed if still there."""
    folder(ws).mkdir(parents=True, exist_ok=True)
    path = folder(ws) / f"{STAGING_PREFIX}{uuid.uuid4().hex}{suffix}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def register_segmentation(
    ws: Workspace,
    staged: Path,
    *,
    dataset: str,
    dataset_hash: str,
    method: str,
    params: dict,
    metrics: dict,
    model: dict,
    as_of: str,
    segments: list[dict],
    assignments: Iterable[tuple[str, int]],
    created_by: str,
    job_id: int | None = None,
) -> SegmentationRecord:
    """Move ``staged`` into place and insert the row, its ``segments`` (dicts with segment_id,
    name, users and the rest as profile) and ``assignments`` ((user_id, segment_id) pairs)."""
    final = folder(ws) / f"{method}-{uuid.uuid4().hex[:12]}{staged.suffix}"
    staged.rename(final)
    n_users = sum(int(s["users"]) for s in segments)
    values = {
        "dataset": dataset, "dataset_hash": dataset_hash, "method": method, "k": len(segments),
        "params": json.dumps(params), "metrics": json.dumps(metrics), "model": json.dumps(model),
        "n_users": n_users, "as_of": as_of, "artifact": final.name, "job_id": job_id,
        "created_at": now(), "created_by": created_by,
    }
    try:
        with ws.transaction() as conn:
            cols = ", ".join(values)
            cur = conn.execute(f"INSERT INTO segmentations ({cols}) VALUES ({', '.join(':' + k for k in values)})", values)
            seg_id = int(cur.lastrowid)
            conn.executemany(
                "INSERT INTO segments (segmentation_id, segment_id, name, users, profile) VALUES (?, ?, ?, ?, ?)",
                [(seg_id, int(s["segment_id"]), str(s["name"]), int(s["users"]),
                  json.dumps({k: v for k, v in s.items() if k not in ("segment_id", "name", "users")}, default=str))
                 for s in segments],
            )
            conn.executemany(
                "INSERT INTO segment_assignments (segmentation_id, user_id, segment_id) VALUES (?, ?, ?)",
                ((seg_id, user, int(segment)) for user, segment in assignments),
            )
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    return get_segmentation(ws, seg_id)


def _record(ws: Workspace, row: dict) -> SegmentationRecord:
    row = dict(row)
    for name in JSON_FIELDS:
        row[name] = json.loads(row[name])
    return SegmentationRecord(**row, folder=folder(ws))


def get_segmentation(ws: Workspace, segmentation_id: int) -> SegmentationRecord:
    rows = list(ws.db.query("SELECT * FROM segmentations WHERE id = ?", [segmentation_id]))
    if not rows:
        count = ws.conn.execute("SELECT COUNT(*) FROM segmentations").fetchone()[0]
        hint = "list them with: kpconsole segment list" if count else \
            "make one with: kpconsole segment run --data NAME --method rfm"
        raise NotFound(f"no segmentation {segmentation_id} ({hint})")
    return _record(ws, rows[0])


def list_segmentations(ws: Workspace, *, dataset: str | None = None, limit: int = 200) -> list[SegmentationRecord]:
    """Newest first, optionally only those of ``dataset``."""
    sql, args = "SELECT * FROM segmentations", []
    if dataset:
        sql += " WHERE dataset = ?"
        args.append(dataset)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [_record(ws, row) for row in ws.db.query(sql, args)]


def segments_of(ws: Workspace, segmentation_id: int) -> list[SegmentRecord]:
    """The segments of a segmentation, by segment_id."""
    rows = ws.db.query(
        "SELECT segment_id, name, users, profile FROM segments WHERE segmentation_id = ? ORDER BY segment_id",
        [segmentation_id],
    )
    return [SegmentRecord(r["segment_id"], r["name"], r["users"], json.loads(r["profile"])) for r in rows]


def segment_of_user(ws: Workspace, segmentation_id: int, user_id: str) -> int | None:
    """The segment a user was assigned to, or None when the user is not in the segmentation."""
    row = ws.conn.execute(
        "SELECT segment_id FROM segment_assignments WHERE segmentation_id = ? AND user_id = ?",
        (segmentation_id, user_id),
    ).fetchone()
    return int(row[0]) if row else None
