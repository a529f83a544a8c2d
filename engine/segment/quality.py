"""How good and how stable a clustering is: adjusted Rand index, silhouette, bootstrap stability.

* Adjusted Rand index (Hubert & Arabie 1985):
  ARI = (Σ_ij C(n_ij,2) − E) / (½[Σ_i C(a_i,2) + Σ_j C(b_j,2)] − E),
  E = Σ_i C(a_i,2) Σ_j C(b_j,2) / C(n,2), from the contingency table n_ij.
* Silhouette (Rousseeuw 1987): s(i) = (b(i) − a(i)) / max(a(i), b(i)), a = mean distance to the
  own cluster, b = smallest mean distance to another; averaged over a seeded sample of at most
  ``sample`` points (the exact score is O(n²)).
* Bootstrap stability (in the spirit of Hennig 2007 and Lange et al. 2004): refit on resamples
  drawn with replacement, label every point by the refitted model, and average the adjusted
  Rand index against the reference labels. Below 0.75 the clusters are flagged unstable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from engine.segment.metrics import STABILITY_FLAG, Stability


def adjusted_rand_index(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """ARI of two labelings of the same points (1 = identical partitions, ~0 = chance).

    >>> adjusted_rand_index(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]))
    1.0
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError("labelings differ in length")
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.float64)
    np.add.at(table, (ai, bi), 1.0)

    def pairs(v: np.ndarray) -> float:
        return float((v * (v - 1) / 2).sum())

    index = pairs(table)
    rows, cols = pairs(table.sum(1)), pairs(table.sum(0))
    total = len(a) * (len(a) - 1) / 2
    expected = rows * cols / total if total else 0.0
    top = (rows + cols) / 2
    if top == expected:
        return 1.0
    return float((index - expected) / (top - expected))


def silhouette(x: torch.Tensor, labels: torch.Tensor, *, sample: int = 4_000, seed: int = 0) -> float:
    """Mean silhouette over a seeded sample of at most ``sample`` rows (Euclidean distance)."""
    n = x.shape[0]
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randperm(n, generator=generator)[:sample] if n > sample else torch.arange(n)
    xs = x[idx].double()
    ls = labels[idx].to(torch.int64)
    _, ls = torch.unique(ls, return_inverse=True)
    k = int(ls.max()) + 1
    if k < 2:
        return 0.0
    dist = torch.cdist(xs, xs)
    onehot = torch.nn.functional.one_hot(ls, k).double()
    counts = onehot.sum(0)
    sums = dist @ onehot  # n × k: total distance to each cluster
    own = sums.gather(1, ls[:, None]).squeeze(1)
    own_count = counts[ls] - 1
    a = torch.where(own_count > 0, own / own_count.clamp_min(1), torch.zeros_like(own))
    mean_other = sums / counts[None, :]
    mean_other.scatter_(1, ls[:, None], torch.inf)
    b = mean_other.min(1).values
    s = torch.where(own_count > 0, (b - a) / torch.maximum(a, b).clamp_min(1e-12), torch.zeros_like(a))
    return float(s.mean())


Refit = Callable[[torch.Tensor, int], Callable[[torch.Tensor], torch.Tensor]]
"""(resampled rows, seed) → a function that labels any rows with the model fitted on them."""


def bootstrap_stability(x: torch.Tensor, labels: torch.Tensor, refit: Refit, *, resamples: int = 10,
                        sample: int = 20_000, seed: int = 0) -> Stability:
    """Mean ARI between ``labels`` and the labels of models refitted on bootstrap resamples.

    Work is bounded by evaluating on a seeded sample of at most ``sample`` rows; each resample
    draws that many rows with replacement from it.
    """
    if resamples < 1:
        raise ValueError("bootstrap stability needs at least one resample")
    n = x.shape[0]
    generator = torch.Generator().manual_seed(seed)
    base = torch.randperm(n, generator=generator)[:sample] if n > sample else torch.arange(n)
    xs, ls = x[base], labels[base]
    scores = []
    for b in range(resamples):
        draw = torch.randint(len(base), (len(base),), generator=generator)
        predict = refit(xs[draw], seed + 1 + b)
        scores.append(adjusted_rand_index(ls.numpy(), predict(xs).cpu().numpy()))
    mean = float(np.mean(scores))
    return Stability(mean, [round(s, 4) for s in scores], mean >= STABILITY_FLAG)
