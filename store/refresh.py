"""Refresh marks: the high-water mark of each refreshed dataset's since column (migration 0007)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from store.catalog import get_dataset
from store.workspace import Workspace


@dataclass(frozen=True)
class RefreshMark:
    dataset: str
    since_column: str
    mark: dict  # {"type": "int" | "float" | "text" | "datetime", "value": ...}
    source: str
    updated_at: str


def get_mark(ws: Workspace, dataset: str) -> RefreshMark | None:
    """The mark of ``dataset``, or ``None`` before its first refresh."""
    row = ws.conn.execute(
        "SELECT m.since_column, m.mark, m.source, m.updated_at FROM refresh_marks m "
        "JOIN datasets d ON d.id = m.dataset_id WHERE d.name = ?", (dataset,)).fetchone()
    return RefreshMark(dataset, row[0], json.loads(row[1]), row[2], row[3]) if row else None


def set_mark(ws: Workspace, dataset: str, since_column: str, mark: dict, source: str) -> RefreshMark:
    """Remember ``mark`` as the largest ``since_column`` value of ``dataset`` read so far."""
    record = get_dataset(ws, dataset)
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO refresh_marks (dataset_id, since_column, mark, source, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (dataset_id) DO UPDATE SET since_column = excluded.since_column, mark = excluded.mark, "
            "source = excluded.source, updated_at = excluded.updated_at",
            (record.id, since_column, json.dumps(mark), source, ws.now()))
    mark_now = get_mark(ws, dataset)
    assert mark_now is not None
    return mark_now
