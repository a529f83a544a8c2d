"""A segmentation's quality figures as typed values: what is stored with it and read back.

:func:`engine.segment.run.segment_users` returns a :class:`SegmentationMetrics`; the console stores
its :meth:`~SegmentationMetrics.as_dict` (JSON) and reads a stored one back with
:meth:`~SegmentationMetrics.from_dict`, so the CLI and the TUI read ``metrics.clusters.stability.mean_ari``
rather than keys of a nested dict. ``as_dict`` keeps the stored shape exactly (which keys appear
depends on the method). Standard library only: listing segmentations imports neither NumPy nor Polars.

>>> m = SegmentationMetrics(120, clusters=ClusterMetrics(Stability(0.9, [0.9], True), [], "auto", 3))
>>> SegmentationMetrics.from_dict(m.as_dict()) == m
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: below this mean adjusted Rand index over bootstrap resamples, clusters are flagged unstable
STABILITY_FLAG = 0.75


@dataclass(frozen=True)
class Stability:
    """Bootstrap stability of a clustering (:func:`engine.segment.quality.bootstrap_stability`)."""

    mean_ari: float
    scores: list[float]
    stable: bool
    flag_below: float = STABILITY_FLAG

    def as_dict(self) -> dict:
        return {"mean_ari": self.mean_ari, "scores": self.scores, "stable": self.stable, "flag_below": self.flag_below}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Stability:
        return cls(values["mean_ari"], values["scores"], values["stable"], values["flag_below"])


@dataclass(frozen=True)
class ClusterMetrics:
    """What a k-means or GMM segmentation adds: stability (None when no resamples were asked for),
    each k tried (silhouette or BIC, ``passed_over`` where a cluster was too small), the k asked for
    (a number or ``auto``) and the k used; for GMM its BIC and log-likelihood."""

    stability: Stability | None
    selection: list[dict]
    k_requested: int | str
    k: int
    bic: float | None = None
    log_likelihood: float | None = None

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"stability": self.stability.as_dict() if self.stability else None,
                               "selection": self.selection, "k_requested": self.k_requested, "k": self.k}
        if self.bic is not None:
            out.update(bic=self.bic, log_likelihood=self.log_likelihood)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ClusterMetrics:
        stability = values["stability"]
        return cls(Stability.from_dict(stability) if stability else None, values["selection"],
                   values["k_requested"], values["k"], values.get("bic"), values.get("log_likelihood"))


@dataclass(frozen=True)
class InterestsSource:
    """Which collaborative-filtering model gave the segments their interests (None: no model, and
    ``note`` says why)."""

    model_id: int | None
    note: str | None


@dataclass(frozen=True)
class SegmentationMetrics:
    """Users segmented; RFM: users with a purchase scored; clusters: :class:`ClusterMetrics`;
    once interests were looked for: their :class:`InterestsSource`."""

    users: int
    paying_users: int | None = None
    clusters: ClusterMetrics | None = None
    interests: InterestsSource | None = None

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"users": self.users}
        if self.paying_users is not None:
            out["paying_users"] = self.paying_users
        if self.clusters is not None:
            out.update(self.clusters.as_dict())
        if self.interests is not None:
            out.update(interests_model=self.interests.model_id, interests_note=self.interests.note)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SegmentationMetrics:
        clusters = ClusterMetrics.from_dict(values) if "selection" in values else None
        interests = (InterestsSource(values["interests_model"], values["interests_note"])
                     if "interests_model" in values else None)
        return cls(values["users"], values.get("paying_users"), clusters, interests)
