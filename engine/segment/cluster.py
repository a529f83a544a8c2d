"""Clustering users end to end: choose k, fit, measure stability, name the clusters.

``k="auto"`` tries k = 2 … ``max_k`` and keeps the best: the highest silhouette (sampled, see
:mod:`engine.segment.quality`) for k-means, the lowest BIC for a Gaussian mixture. A candidate
whose smallest cluster holds less than ``MIN_CLUSTER_SHARE`` (1 %) of the users is passed over
(and marked so in the selection): splitting off a handful of outliers raises the silhouette of
everyone else without finding a segment anyone could act on. (If every candidate has such a
cluster, the best of them is kept.) The chosen model's bootstrap stability (mean adjusted
Rand over resamples) is reported and flagged below 0.75, unless no resamples were asked for
(then it is ``None``: not measured). Clusters are numbered 1 … k from the largest down and
named after the standardised features in which their centre stands out most
(``high answers, comments``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.errors import EngineError, InvalidParameter
from engine.progress import Progress, no_progress
from engine.segment import gmm as gmm_mod
from engine.segment.kmeans import kmeans, nearest
from engine.segment.quality import Stability, bootstrap_stability, silhouette

METHODS = ("kmeans", "gmm")
DEFAULT_MAX_K = 10
NAME_THRESHOLD = 0.5  # a centre must stand out by half a standard deviation to be named after it
MIN_CLUSTER_SHARE = 0.01


@dataclass(frozen=True)
class Clustering:
    method: str
    k: int
    labels: np.ndarray  # 0 … k−1, cluster 0 the largest
    centers: np.ndarray  # k × d, standardised units
    names: list[str]
    stability: Stability | None  # None when no resamples were asked for
    selection: list[dict] = field(default_factory=list)  # per k tried: silhouette or bic
    probability: np.ndarray | None = None  # GMM: responsibility of the chosen component
    log_likelihood: float | None = None
    bic: float | None = None


def _fit(method: str, x: torch.Tensor, k: int, seed: int, device: str):
    if method == "kmeans":
        return kmeans(x, k, seed=seed, device=device)
    return gmm_mod.gmm(x, k, seed=seed, device=device)


def _labeller(method: str, model) -> Callable[[torch.Tensor], torch.Tensor]:
    if method == "kmeans":
        return lambda rows: nearest(rows, model.centers)[0]
    return lambda rows: gmm_mod.predict(model, rows)


def cluster_users(
    x: torch.Tensor,
    columns: list[str],
    *,
    method: str = "kmeans",
    k: int | str = "auto",
    max_k: int = DEFAULT_MAX_K,
    seed: int = 0,
    device: str = "auto",
    resamples: int = 10,
    progress: Progress = no_progress,
) -> Clustering:
    """Cluster the standardised matrix ``x`` (rows = users, ``columns`` its feature names)."""
    if method not in METHODS:
        raise EngineError(f"unknown clustering method '{method}' (one of {', '.join(METHODS)})")
    n = x.shape[0]
    if k == "auto":
        if n < 3:
            raise InvalidParameter(f"{{k}} auto needs at least 3 users, the data have {n}", "k")
        candidates = list(range(2, min(max_k, n - 1) + 1))
    else:
        if not isinstance(k, int) or k < 1:
            raise EngineError(f"k must be a positive integer or 'auto', not {k!r}")
        if k > n:
            raise EngineError(f"k = {k} is larger than the number of users ({n:,})")
        candidates = [k]
    selection: list[dict] = []
    fitted = []
    for i, kk in enumerate(candidates):
        progress(0.7 * i / len(candidates), f"{method} k={kk}")
        model = _fit(method, x, kk, seed, device)
        smallest = int(torch.bincount(model.labels, minlength=kk).min())
        if method == "kmeans":
            score = silhouette(x, model.labels, seed=seed) if kk > 1 else 0.0
            row = {"k": kk, "silhouette": round(score, 4), "inertia": round(model.inertia, 2)}
        else:
            score = -model.bic  # higher is better, like the silhouette
            row = {"k": kk, "bic": round(model.bic, 2), "log_likelihood": round(model.log_likelihood, 2)}
        row["smallest"] = smallest
        tiny = len(candidates) > 1 and smallest < max(2.0, MIN_CLUSTER_SHARE * n)
        if tiny:
            row["passed_over"] = f"smallest cluster has {smallest} users (< 1%)"
        selection.append(row)
        fitted.append((tiny, score, kk, model))
    eligible = [f for f in fitted if not f[0]] or fitted
    _, _, chosen_k, model = max(eligible, key=lambda f: f[1])
    stability = None
    if resamples > 0:
        progress(0.75, f"bootstrap stability of k={chosen_k}")
        stability = bootstrap_stability(
            x, model.labels, lambda rows, s: _labeller(method, _fit(method, rows, chosen_k, s, device)),
            resamples=resamples, seed=seed,
        )
    labels = model.labels.numpy()
    order = np.argsort(-np.bincount(labels, minlength=chosen_k), kind="stable")
    relabel = np.empty(chosen_k, dtype=np.int64)
    relabel[order] = np.arange(chosen_k)
    labels = relabel[labels]
    xs = x.numpy()
    centers = np.stack([xs[labels == j].mean(0) if (labels == j).any() else np.zeros(xs.shape[1])
                        for j in range(chosen_k)])
    progress(1.0, "clustered")
    return Clustering(
        method=method, k=chosen_k, labels=labels, centers=centers, names=name_clusters(centers, columns),
        stability=stability, selection=selection,
        probability=model.probability.numpy() if method == "gmm" else None,
        log_likelihood=model.log_likelihood if method == "gmm" else None,
        bic=model.bic if method == "gmm" else None,
    )


def readable(column: str) -> str:
    """``n_answer`` → ``answers``, ``share_like`` → ``like share``, ``spend_purchase`` → ``purchase spend``."""
    if column.startswith("n_"):
        return column[2:].replace("_", " ") + "s"
    if column.startswith("share_"):
        return column[6:].replace("_", " ") + " share"
    if column.startswith("mix_"):
        return column[4:].replace("_", " ") + " content"
    if column.startswith("spend_"):
        return column[6:] + " spend"
    return column.replace("_", " ")


def name_clusters(centers: np.ndarray, columns: list[str]) -> list[str]:
    """Name each centre after its (at most two) most raised features, one per event kind."""
    names = []
    for center in centers:
        order = np.argsort(-center)
        picked: list[str] = []
        seen: set[str] = set()
        for j in order:
            if center[j] < NAME_THRESHOLD or len(picked) == 2:
                break
            kind = columns[j].split("_", 1)[-1]
            if kind in seen:
                continue
            seen.add(kind)
            picked.append(readable(columns[j]))
        if picked:
            names.append("high " + ", ".join(picked))
        else:
            names.append("low activity" if center.mean() < 0 else "average")
    return names
