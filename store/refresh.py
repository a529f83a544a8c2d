"""Refresh marks: the high-water mark of each refreshed dataset's since column (migration 0007)."""

from __future__ import annotations

from dataclasses import dataclass

from store.catalog import get_dataset
from store.tables import REFRESH_MARKS
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
    rows = REFRESH_MARKS.rows(
        ws, "SELECT d.name AS dataset, m.since_column, m.mark, m.source, m.updated_at FROM refresh_marks m "
        "JOIN datasets d ON d.id = m.dataset_id WHERE d.name = ?", [dataset])
    return RefreshMark(**rows[0]) if rows else None


def set_mark(ws: Workspace, dataset: str, since_column: str, mark: dict, source: str) -> RefreshMark:
    """Remember ``mark`` as the largest ``since_column`` value of ``dataset`` read so far."""
    record = get_dataset(ws, dataset)
    with ws.transaction():
        REFRESH_MARKS.upsert(ws, {"dataset_id": record.id, "since_column": since_column, "mark": mark,
                                  "source": source, "updated_at": ws.now()}, pk="dataset_id")
    mark_now = get_mark(ws, dataset)
    assert mark_now is not None
    return mark_now
