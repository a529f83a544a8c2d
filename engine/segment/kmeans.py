"""k-means in torch: k-means++ seeding (Arthur & Vassilvitskii 2007) and Lloyd's iterations.

Minimises the inertia Σ_i ‖x_i − c_{z_i}‖². Seeding picks the first centre uniformly and each
next one with probability ∝ D(x)², the squared distance to the nearest centre chosen so far
(with ``2 + ⌊ln k⌋`` candidates per step, keeping the one that lowers the inertia most, as
scikit-learn does). Lloyd's steps then alternate assignment and mean update until no label
changes or the inertia improves by less than ``tol`` (relative, 10⁻⁴: on a million users the
steps after that move the inertia by about 10⁻⁴ in all and cost as much again as everything
before). ``n_init`` seeded restarts
keep the lowest inertia. Distances are computed in row blocks as ‖x‖² − 2x·c + ‖c‖² (‖x‖²
once, and only ‖c‖² − 2x·c for the argmin), and cluster sums as one-hot products per block in
float32 added up in float64, so a million users take a few hundred MB at most; a cluster that empties is re-seeded with the
point farthest from its centre. Random draws come from one seeded CPU generator, so a seed
gives the same clustering on the same device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.errors import EngineError
from engine.device import resolve_device, uniforms

BLOCK_ROWS = 262_144


@dataclass(frozen=True)
class KMeansResult:
    labels: torch.Tensor  # int64, n, on the CPU
    centers: torch.Tensor  # float32, k × d, on the CPU
    inertia: float
    iterations: int


def squared_distances(x: torch.Tensor, centers: torch.Tensor, x_norms: torch.Tensor | None = None) -> torch.Tensor:
    """‖x_i − c_j‖² for every row and centre (n × k), clamped at 0; ``x_norms`` = ‖x_i‖² if known."""
    xx = (x * x).sum(1) if x_norms is None else x_norms
    d = torch.addmm((centers * centers).sum(1)[None, :], x, centers.T, alpha=-2.0)
    return d.add_(xx[:, None]).clamp_min_(0.0)


def nearest(x: torch.Tensor, centers: torch.Tensor, x_norms: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(label, squared distance) of the nearest centre for every row, in row blocks.

    The label is the argmin of ‖c‖² − 2x·c (‖x‖² is the same for every centre of a row), one
    fused ``addmm``; the distance adds ‖x‖² back.
    """
    x_norms = (x * x).sum(1) if x_norms is None else x_norms
    labels = torch.empty(x.shape[0], dtype=torch.int64, device=x.device)
    dist = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    cc = (centers * centers).sum(1)[None, :]
    for start in range(0, x.shape[0], BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        partial, labels[rows] = torch.addmm(cc, x[rows], centers.T, alpha=-2.0).min(1)
        dist[rows] = (partial + x_norms[rows]).clamp_min_(0.0)
    return labels, dist


def cluster_sums(x: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Σ of the rows of each cluster (k × d, float64): per row block, a one-hot matrix times
    the rows (a matrix product beats ``index_add_`` several times on CPU), the float32 block
    sums added up in float64."""
    sums = torch.zeros(k, x.shape[1], dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        block = labels[rows]
        onehot = torch.zeros(len(block), k, dtype=x.dtype, device=x.device).scatter_(1, block[:, None], 1.0)
        sums += (onehot.T @ x[rows]).double()
    return sums


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator, x_norms: torch.Tensor) -> torch.Tensor:
    """k-means++ seeding with greedy candidate trials; returns k × d centres."""
    n = x.shape[0]
    trials = 2 + int(math.log(k))
    first = int(uniforms(1, generator, torch.device("cpu"))[0] * n)
    centers = [x[min(first, n - 1)]]
    closest = squared_distances(x, centers[0][None, :], x_norms)[:, 0]
    for _ in range(1, k):
        cdf = torch.cumsum(closest, 0, dtype=torch.float64)
        total = cdf[-1]
        if total <= 0:  # fewer distinct points than k: the rest are duplicates
            pick = torch.randint(n, (trials,), generator=generator).to(x.device)
        else:
            pick = torch.searchsorted(cdf, uniforms(trials, generator, x.device) * total).clamp_max(n - 1)
        cand = x[pick]
        cand_d = torch.minimum(closest[:, None], squared_distances(x, cand, x_norms))  # n × trials
        best = int(torch.argmin(cand_d.sum(0, dtype=torch.float64)))
        centers.append(cand[best])
        closest = cand_d[:, best].contiguous()
    return torch.stack(centers)


def _lloyd(x: torch.Tensor, centers: torch.Tensor, max_iter: int, tol: float, x_norms: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    k = centers.shape[0]
    previous = math.inf
    labels = None
    for it in range(1, max_iter + 1):
        new_labels, dist = nearest(x, centers, x_norms)
        inertia = float(dist.sum(dtype=torch.float64))
        changed = labels is None or bool((new_labels != labels).any())
        labels = new_labels
        sums = cluster_sums(x, labels, k)
        counts = torch.bincount(labels, minlength=k)
        empty = torch.nonzero(counts == 0).flatten()
        if len(empty):
            far = torch.topk(dist, len(empty)).indices
            sums[empty] = x[far].double()
            counts = counts.clone()
            counts[empty] = 1
        centers = (sums / counts[:, None]).to(x.dtype)
        converged = not changed or (previous < math.inf and previous - inertia <= tol * previous)
        if converged and len(empty) == 0:
            return labels, centers, inertia, it
        previous = inertia
    labels, dist = nearest(x, centers, x_norms)
    return labels, centers, float(dist.sum(dtype=torch.float64)), max_iter


def kmeans(x: torch.Tensor, k: int, *, seed: int = 0, n_init: int = 3, max_iter: int = 100,
           tol: float = 1e-4, device: str = "auto") -> KMeansResult:
    """Cluster the rows of ``x`` (n × d) into ``k`` groups; the best of ``n_init`` seeded runs."""
    n = x.shape[0]
    if k < 1:
        raise EngineError(f"k must be at least 1, not {k}")
    if k > n:
        raise EngineError(f"k = {k} is larger than the number of users ({n:,})")
    dev = resolve_device(device, float64=True)
    data = x.to(dev, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    best: KMeansResult | None = None
    x_norms = (data * data).sum(1)
    for _ in range(max(1, n_init)):
        centers = kmeans_plus_plus(data, k, generator, x_norms)
        labels, centers, inertia, iterations = _lloyd(data, centers, max_iter, tol, x_norms)
        if best is None or inertia < best.inertia:
            best = KMeansResult(labels.cpu(), centers.cpu(), inertia, iterations)
    assert best is not None
    return best
