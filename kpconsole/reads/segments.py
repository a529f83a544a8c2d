"""Segmentations as a person reads them: list them, show one with its segments.

With a user, :func:`show` also says which segment they are in and why; that reads the
segmentation's per-user Parquet (:mod:`kpconsole.services.segment_members`), loaded then.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.segment.metrics import SegmentationMetrics
from kpconsole.session import Session
from store import segments as store
from store.segments import SegmentationRecord, SegmentRecord


def list_segmentations(session: Session, data: str | None = None) -> list[SegmentationRecord]:
    """Registered segmentations, newest first (optionally only those of dataset ``data``)."""
    return store.list_segmentations(session.ws, dataset=data)


def metrics(record: SegmentationRecord) -> SegmentationMetrics:
    """A segmentation's stored quality figures, typed (stability, the k tried, interests' model)."""
    return SegmentationMetrics.from_dict(record.metrics)


@dataclass(frozen=True)
class SegmentationView:
    """A segmentation with its segments, and one user's membership when asked for."""

    record: SegmentationRecord
    segments: list[SegmentRecord]
    member: dict | None = None

    @property
    def metrics(self) -> SegmentationMetrics:
        return metrics(self.record)

    def as_dict(self) -> dict:
        return {**self.record.as_dict(), "segments": [s.as_dict() for s in self.segments], "member": self.member}


def show(session: Session, segmentation_id: int, user: str | None = None) -> SegmentationView:
    """A segmentation's segments; with ``user``, which segment they are in and why."""
    record = store.get_segmentation(session.ws, segmentation_id)
    segs = store.segments_of(session.ws, segmentation_id)
    if user is None:
        return SegmentationView(record, segs)
    from kpconsole.services.segment_members import member  # reads Parquet: Polars, NumPy

    return SegmentationView(record, segs, member(session, record, segs, user))
