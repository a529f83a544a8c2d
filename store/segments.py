"""Segmentations: the registry row, its segments, every user's assignment, and a Parquet file
of per-user rows (the values behind each membership) under ``models/segments/``.

Registering is all-or-nothing: the caller writes the Parquet to a staging path
(:func:`staging_file`), then :func:`register_segmentation` renames it into place and inserts
the registry row, the segments and the assignments in one transaction; if anything fails the
file is removed and the tables are as they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager

from store import registry
from store.errors import NotFound, Remedy
from store.tables import SEGMENT_ASSIGNMENTS, SEGMENTATIONS, SEGMENTS
from store.workspace import Workspace

FOLDER = "segments"


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


def staging_file(ws: Workspace, suffix: str = ".parquet") -> ContextManager[Path]:
    """A fresh path under ``models/segments/`` to write per-user rows to; removed if still there."""
    return registry.staging_path(folder(ws), suffix)


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
    with registry.publish(ws, staged, method) as (_, artifact):
        seg_id = SEGMENTATIONS.insert(ws, {
            "dataset": dataset, "dataset_hash": dataset_hash, "method": method, "k": len(segments),
            "params": params, "metrics": metrics, "model": model,
            "n_users": sum(int(s["users"]) for s in segments), "as_of": as_of, "artifact": artifact,
            "job_id": job_id, "created_at": ws.now(), "created_by": created_by,
        })
        SEGMENTS.insert_all(ws, ({
            "segmentation_id": seg_id, "segment_id": int(s["segment_id"]), "name": str(s["name"]),
            "users": int(s["users"]), "profile": {k: v for k, v in s.items() if k not in ("segment_id", "name", "users")},
        } for s in segments))
        SEGMENT_ASSIGNMENTS.insert_all(ws, ({"segmentation_id": seg_id, "user_id": user, "segment_id": int(segment)}
                                            for user, segment in assignments))
    return get_segmentation(ws, seg_id)


def _record(ws: Workspace, row: dict) -> SegmentationRecord:
    return SegmentationRecord(**row, folder=folder(ws))


def get_segmentation(ws: Workspace, segmentation_id: int) -> SegmentationRecord:
    row = registry.row_by_id(ws, SEGMENTATIONS, segmentation_id)
    if row is None:
        remedy = (Remedy("list them with", "segment list") if registry.has_rows(ws, SEGMENTATIONS)
                  else Remedy("make one with", "segment run", (("data", "NAME"), ("method", "rfm"))))
        raise NotFound(f"no segmentation {segmentation_id}", remedy)
    return _record(ws, row)


def list_segmentations(ws: Workspace, *, dataset: str | None = None, limit: int = 200) -> list[SegmentationRecord]:
    """Newest first, optionally only those of ``dataset``."""
    return [_record(ws, row) for row in registry.newest_rows(ws, SEGMENTATIONS, dataset=dataset, limit=limit)]


def segments_of(ws: Workspace, segmentation_id: int) -> list[SegmentRecord]:
    """The segments of a segmentation, by segment_id."""
    rows = SEGMENTS.rows(
        ws, "SELECT segment_id, name, users, profile FROM segments WHERE segmentation_id = ? ORDER BY segment_id",
        [segmentation_id],
    )
    return [SegmentRecord(**row) for row in rows]


def segment_of_user(ws: Workspace, segmentation_id: int, user_id: str) -> int | None:
    """The segment a user was assigned to, or None when the user is not in the segmentation."""
    row = ws.conn.execute(
        "SELECT segment_id FROM segment_assignments WHERE segmentation_id = ? AND user_id = ?",
        (segmentation_id, user_id),
    ).fetchone()
    return int(row[0]) if row else None
