"""Why a user is in their segment: the rule that placed them (RFM, lifecycle) or, for a
clustering, how their standardised features sit against the segment centres."""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.segment import explain
from engine.segment.features import transform
from engine.segment.run import ClusterModel, LifecycleModel
from kpconsole.errors import ConsoleError
from kpconsole.session import Session
from store import segments as store
from store.segments import SegmentationRecord, SegmentRecord


def fitted_model(record: SegmentationRecord) -> LifecycleModel | ClusterModel | None:
    """What explaining a membership needs, typed: a lifecycle's thresholds, a clustering's
    centres; None for RFM (its scores explain themselves)."""
    if record.method == "rfm":
        return None
    if record.method == "lifecycle":
        return LifecycleModel.from_dict(record.model)
    return ClusterModel.from_dict(record.model)


def member(session: Session, record: SegmentationRecord, segs: list[SegmentRecord], user: str) -> dict:
    """Which of ``segs`` ``user`` is in, why (the rule or the nearest centre), and their key values."""
    segment_id = store.segment_of_user(session.ws, record.id, str(user))
    if segment_id is None:
        raise ConsoleError(f"user '{user}' is not in segmentation {record.id} (it has {record.n_users:,} users "
                           f"of dataset '{record.dataset}' as of {record.as_of[:16]})")
    if not record.artifact_path.exists():
        raise ConsoleError(f"segmentation {record.id}: its per-user file {record.artifact_path} is missing")
    rows = pl.scan_parquet(record.artifact_path).filter(pl.col("user_id").cast(pl.String) == str(user)).collect()
    row = rows.row(0, named=True)
    name = next(s.name for s in segs if s.segment_id == segment_id)
    fitted = fitted_model(record)
    if fitted is None:
        why = explain.explain_rfm(row)
    elif isinstance(fitted, LifecycleModel):
        why = explain.explain_lifecycle(row, fitted.thresholds)
    else:
        raw, _ = transform(rows, fitted.columns)
        z = (raw[0] - np.asarray(fitted.mean)) / np.asarray(fitted.std)
        why = explain.explain_cluster(z, segment_id - 1, np.asarray(fitted.centers), fitted.names, fitted.columns)
        if "probability" in row:
            why.append(f"mixture membership probability {row['probability']:.2f}")
    shown = ("recency_days", "tenure_days", "events", "active_days", "orders", "monetary")
    return {"user_id": str(user), "segment_id": segment_id, "segment": name, "why": why,
            "values": {k: row[k] for k in shown if k in row}}
