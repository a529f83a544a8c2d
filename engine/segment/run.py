"""One segmentation from a dataset's tables: features, the method, per-user rows and profiles.

``method`` is ``rfm``, ``lifecycle``, ``kmeans`` or ``gmm``. The result carries everything a
person may ask later without recomputing: each user's segment with the values behind it
(:attr:`SegmentationResult.users`), the segment profiles, the quality figures, and for
clusters the standardisation and centres needed to explain a membership.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress, scaled
from engine.segment import lifecycle, rfm
from engine.segment.cluster import cluster_users
from engine.segment.features import default_as_of, standardise, user_features
from engine.segment.profiles import segment_profiles

METHODS = ("rfm", "lifecycle", "kmeans", "gmm")


@dataclass(frozen=True)
class SegmentationResult:
    method: str
    as_of: dt.datetime
    k: int
    users: pl.DataFrame  # user_id, segment_id, segment, method columns, features
    segments: list[dict]  # one profile per segment (segment_id, segment, users, …)
    metrics: dict  # quality: stability, selection of k, …
    model: dict  # what explaining needs: thresholds, or columns/mean/std/centers/names


def segment_users(
    events: pl.LazyFrame,
    users: pl.LazyFrame | None = None,
    items: pl.LazyFrame | None = None,
    *,
    method: str,
    k: int | str = "auto",
    as_of: dt.datetime | None = None,
    seed: int = 0,
    device: str = "auto",
    thresholds: lifecycle.LifecycleThresholds | None = None,
    resamples: int = 10,
    progress: Progress = no_progress,
) -> SegmentationResult:
    """Segment every user (see the module docstring); raises :class:`EngineError` on bad input."""
    thresholds = thresholds or lifecycle.LifecycleThresholds()
    if method not in METHODS:
        raise EngineError(f"unknown segmentation method '{method}' (one of {', '.join(METHODS)})")
    as_of = as_of or default_as_of(events)
    progress(0.02, "computing features")
    features = user_features(events, users, items, as_of=as_of).collect()
    if features.height == 0:
        raise EngineError(f"no users with events or a join date before {as_of:%Y-%m-%d %H:%M}")
    model: dict = {}
    metrics: dict = {"users": features.height}
    if method == "rfm":
        scores = rfm.rfm_scores(features)
        order = [*rfm.SEGMENTS, rfm.NO_PURCHASE]
        assigned = _number(scores, order)
        metrics["paying_users"] = int(scores["r"].is_not_null().sum())
    elif method == "lifecycle":
        stages = lifecycle.lifecycle_stages(events, users, as_of, thresholds).rename({"stage": "segment"})
        assigned = _number(stages, list(lifecycle.STAGES))
        model["thresholds"] = thresholds.as_dict()
    else:
        progress(0.1, "standardising")
        std = standardise(features)
        clustering = cluster_users(std.matrix, std.columns, method=method, k=k, seed=seed, device=device,
                                   resamples=resamples, progress=scaled(progress, 0.1, 0.85))
        assigned = pl.DataFrame({
            "user_id": features["user_id"],
            "segment_id": pl.Series(clustering.labels + 1, dtype=pl.Int64),
            "segment": [clustering.names[j] for j in clustering.labels],
        })
        if clustering.probability is not None:
            assigned = assigned.with_columns(pl.Series("probability", clustering.probability))
        model.update(columns=std.columns, mean=std.mean.tolist(), std=std.std.tolist(),
                     centers=np.round(clustering.centers, 6).tolist(), names=clustering.names)
        stability = clustering.stability.as_dict() if clustering.stability else None
        metrics.update(stability=stability, selection=clustering.selection,
                       k_requested=k, k=clustering.k)
        if clustering.bic is not None:
            metrics.update(bic=clustering.bic, log_likelihood=clustering.log_likelihood)
    progress(0.9, "profiling segments")
    per_user = assigned.join(features.drop("first_at"), on="user_id", how="left").sort("user_id")
    profiles = segment_profiles(
        assigned, features, events.filter(pl.col("ts") < as_of), items,
        centers=np.asarray(model["centers"]) if "centers" in model else None, columns=model.get("columns"),
    )
    progress(1.0, "segmented")
    return SegmentationResult(method, as_of, len(profiles), per_user, profiles, metrics, model)


def _number(frame: pl.DataFrame, order: list[str]) -> pl.DataFrame:
    """segment_id = 1, 2, … following ``order``, over the segments present."""
    present = [s for s in order if s in set(frame["segment"].to_list())]
    ids = {name: i + 1 for i, name in enumerate(present)}
    return frame.with_columns(pl.col("segment").replace_strict(ids, return_dtype=pl.Int64).alias("segment_id")).select(
        "user_id", "segment_id", "segment", pl.exclude("user_id", "segment_id", "segment"))
