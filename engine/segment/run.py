"""One segmentation from a dataset's tables: features, the method, per-user rows and profiles.

``method`` is a key of :data:`METHODS` (``rfm``, ``lifecycle``, ``kmeans``, ``gmm``): the one table
from a method's name to the function that assigns segments, which the console validates against.
The result carries everything a person may ask later without recomputing: each user's segment with
the values behind it (:attr:`SegmentationResult.users`), the segment profiles, the quality figures
(:class:`~engine.segment.metrics.SegmentationMetrics`), and what explaining a membership needs
(lifecycle thresholds, or for clusters the standardisation and centres).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress, scaled
from engine.segment import lifecycle, rfm
from engine.segment.cluster import cluster_users
from engine.segment.features import default_as_of, standardise, user_features
from engine.segment.metrics import ClusterMetrics, SegmentationMetrics
from engine.segment.profiles import segment_profiles


@dataclass(frozen=True)
class LifecycleModel:
    """What explaining a lifecycle stage needs: the day thresholds used."""

    thresholds: lifecycle.LifecycleThresholds

    def as_dict(self) -> dict:
        return {"thresholds": self.thresholds.as_dict()}

    @classmethod
    def from_dict(cls, values: dict) -> LifecycleModel:
        return cls(lifecycle.LifecycleThresholds(**values["thresholds"]))


@dataclass(frozen=True)
class ClusterModel:
    """What explaining a cluster membership needs: the standardised feature columns, their mean and
    standard deviation, the centres (k × columns, standardised units, 6 decimals) and names."""

    columns: list[str]
    mean: list[float]
    std: list[float]
    centers: list[list[float]]
    names: list[str]

    def as_dict(self) -> dict:
        return {"columns": self.columns, "mean": self.mean, "std": self.std, "centers": self.centers,
                "names": self.names}

    @classmethod
    def from_dict(cls, values: dict) -> ClusterModel:
        return cls(list(values["columns"]), list(values["mean"]), list(values["std"]),
                   [list(row) for row in values["centers"]], list(values["names"]))


@dataclass(frozen=True)
class SegmentationResult:
    method: str
    as_of: dt.datetime
    k: int
    users: pl.DataFrame  # user_id, segment_id, segment, method columns, features
    segments: list[dict]  # one profile per segment (segment_id, segment, users, …)
    metrics: SegmentationMetrics
    model: LifecycleModel | ClusterModel | None  # None for RFM: its segments explain themselves

    def model_dict(self) -> dict:
        """The model as stored with the segmentation (``{}`` for RFM)."""
        return self.model.as_dict() if self.model is not None else {}


@dataclass(frozen=True)
class _Inputs:
    """What every method may read: the tables, the per-user features and the request."""

    events: pl.LazyFrame
    users: pl.LazyFrame | None
    features: pl.DataFrame
    as_of: dt.datetime
    method: str
    k: int | str
    seed: int
    device: str
    thresholds: lifecycle.LifecycleThresholds
    resamples: int


@dataclass(frozen=True)
class _Assigned:
    """A method's answer: user_id, segment_id, segment (and its own columns), and what it adds."""

    frame: pl.DataFrame
    metrics: SegmentationMetrics
    model: LifecycleModel | ClusterModel | None


def _by_rfm(given: _Inputs, progress: Progress) -> _Assigned:
    scores = rfm.rfm_scores(given.features)
    paying = int(scores["r"].is_not_null().sum())
    return _Assigned(_number(scores, [*rfm.SEGMENTS, rfm.NO_PURCHASE]),
                     SegmentationMetrics(given.features.height, paying_users=paying), None)


def _by_lifecycle(given: _Inputs, progress: Progress) -> _Assigned:
    stages = lifecycle.lifecycle_stages(given.events, given.users, given.as_of, given.thresholds)
    return _Assigned(_number(stages.rename({"stage": "segment"}), list(lifecycle.STAGES)),
                     SegmentationMetrics(given.features.height), LifecycleModel(given.thresholds))


def _by_clusters(given: _Inputs, progress: Progress) -> _Assigned:
    progress(0.1, "standardising")
    std = standardise(given.features)
    clustering = cluster_users(std.matrix, std.columns, method=given.method, k=given.k, seed=given.seed,
                               device=given.device, resamples=given.resamples, progress=scaled(progress, 0.1, 0.85))
    assigned = pl.DataFrame({
        "user_id": given.features["user_id"],
        "segment_id": pl.Series(clustering.labels + 1, dtype=pl.Int64),
        "segment": [clustering.names[j] for j in clustering.labels],
    })
    if clustering.probability is not None:
        assigned = assigned.with_columns(pl.Series("probability", clustering.probability))
    model = ClusterModel(std.columns, std.mean.tolist(), std.std.tolist(),
                         np.round(clustering.centers, 6).tolist(), clustering.names)
    clusters = ClusterMetrics(clustering.stability, clustering.selection, given.k, clustering.k,
                              clustering.bic, clustering.log_likelihood)
    return _Assigned(assigned, SegmentationMetrics(given.features.height, clusters=clusters), model)


#: method name → the function assigning every user a segment
METHODS: dict[str, Callable[[_Inputs, Progress], _Assigned]] = {
    "rfm": _by_rfm, "lifecycle": _by_lifecycle, "kmeans": _by_clusters, "gmm": _by_clusters,
}


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
    if method not in METHODS:
        raise EngineError(f"unknown segmentation method '{method}' (one of {', '.join(METHODS)})")
    as_of = as_of or default_as_of(events)
    progress(0.02, "computing features")
    features = user_features(events, users, items, as_of=as_of).collect()
    if features.height == 0:
        raise EngineError(f"no users with events or a join date before {as_of:%Y-%m-%d %H:%M}")
    given = _Inputs(events, users, features, as_of, method, k, seed, device,
                    thresholds or lifecycle.LifecycleThresholds(), resamples)
    assigned = METHODS[method](given, progress)
    progress(0.9, "profiling segments")
    per_user = assigned.frame.join(features.drop("first_at"), on="user_id", how="left").sort("user_id")
    clusters = assigned.model if isinstance(assigned.model, ClusterModel) else None
    profiles = segment_profiles(
        assigned.frame, features, events.filter(pl.col("ts") < as_of), items,
        centers=np.asarray(clusters.centers) if clusters else None, columns=clusters.columns if clusters else None,
    )
    progress(1.0, "segmented")
    return SegmentationResult(method, as_of, len(profiles), per_user, profiles, assigned.metrics, assigned.model)


def _number(frame: pl.DataFrame, order: list[str]) -> pl.DataFrame:
    """segment_id = 1, 2, … following ``order``, over the segments present."""
    present = [s for s in order if s in set(frame["segment"].to_list())]
    ids = {name: i + 1 for i, name in enumerate(present)}
    return frame.with_columns(pl.col("segment").replace_strict(ids, return_dtype=pl.Int64).alias("segment_id")).select(
        "user_id", "segment_id", "segment", pl.exclude("user_id", "segment_id", "segment"))
