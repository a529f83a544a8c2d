"""Gaussian mixture clustering by EM in torch (full covariances, float64).

Model: x ~ Σ_j π_j N(μ_j, Σ_j). E-step: responsibilities γ_ij ∝ π_j N(x_i | μ_j, Σ_j) (in log
space, via the Cholesky factor of Σ_j); M-step: π_j = Σ_i γ_ij / n, μ_j = Σ_i γ_ij x_i / n_j,
Σ_j = Σ_i γ_ij (x_i − μ_j)(x_i − μ_j)ᵀ / n_j + ``reg``·I, with ``reg`` = 10⁻³ of the unit
variance of the standardised features so that a component of identical users cannot collapse
into a spike of unbounded likelihood. Starts from k-means; stops when the
mean log-likelihood gains less than ``tol``. BIC = −2 log L + p ln n with
p = (k − 1) + k·d + k·d(d + 1)/2 free parameters (Schwarz 1978); lower is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.errors import EngineError
from engine.device import resolve_device
from engine.segment.kmeans import kmeans

BLOCK_ROWS = 262_144


@dataclass(frozen=True)
class GMMResult:
    labels: torch.Tensor  # int64, n (most probable component), CPU
    probability: torch.Tensor  # float64, n: responsibility of that component
    weights: torch.Tensor  # k
    means: torch.Tensor  # k × d
    covariances: torch.Tensor  # k × d × d
    log_likelihood: float
    bic: float
    iterations: int
    converged: bool


def _log_resp(x: torch.Tensor, weights: torch.Tensor, means: torch.Tensor, chol: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """log π_j N(x_i | μ_j, Σ_j) normalised over j, and log p(x_i)."""
    d = x.shape[1]
    half_logdet = torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)  # k
    parts = []
    for start in range(0, x.shape[0], BLOCK_ROWS):
        xb = x[start:start + BLOCK_ROWS]
        diff = xb[None, :, :] - means[:, None, :]  # k × b × d
        sol = torch.linalg.solve_triangular(chol, diff.transpose(1, 2), upper=False)  # k × d × b
        maha = (sol * sol).sum(1).T  # b × k
        parts.append(torch.log(weights)[None, :] - 0.5 * maha - half_logdet[None, :] - 0.5 * d * math.log(2 * math.pi))
    joint = torch.cat(parts)
    norm = torch.logsumexp(joint, dim=1)
    return joint - norm[:, None], norm


def gmm(x: torch.Tensor, k: int, *, seed: int = 0, max_iter: int = 200, tol: float = 1e-6, reg: float = 1e-3,
        device: str = "auto") -> GMMResult:
    """Fit a k-component full-covariance mixture to the rows of ``x``."""
    n, d = x.shape
    if k > n:
        raise EngineError(f"k = {k} is larger than the number of users ({n:,})")
    dev = resolve_device(device, float64=True)
    data = x.to(dev, dtype=torch.float64)
    start = kmeans(x, k, seed=seed, device=device)
    resp = torch.nn.functional.one_hot(start.labels.to(dev), k).to(torch.float64)
    eye = torch.eye(d, dtype=torch.float64, device=dev)
    previous = -math.inf
    converged = False
    iterations = 0
    for step in range(1, max_iter + 1):
        iterations = step
        nk = resp.sum(0) + 1e-12
        weights = nk / n
        means = (resp.T @ data) / nk[:, None]
        covs = torch.stack([
            ((resp[:, j, None] * (data - means[j])).T @ (data - means[j])) / nk[j] for j in range(k)
        ]) + reg * eye
        chol = torch.linalg.cholesky(covs)
        log_resp, log_px = _log_resp(data, weights, means, chol)
        resp = torch.exp(log_resp)
        mean_ll = float(log_px.mean())
        if mean_ll - previous < tol:
            converged = True
            break
        previous = mean_ll
    log_l = float(log_px.sum())
    params = (k - 1) + k * d + k * d * (d + 1) / 2
    prob, labels = resp.max(1)
    return GMMResult(labels.cpu(), prob.cpu(), weights.cpu(), means.cpu(), covs.cpu(), log_l,
                     -2 * log_l + params * math.log(n), iterations, converged)


def predict(model: GMMResult, x: torch.Tensor) -> torch.Tensor:
    """Most probable component of each row under a fitted mixture."""
    chol = torch.linalg.cholesky(model.covariances)
    log_resp, _ = _log_resp(x.to(torch.float64), model.weights, model.means, chol)
    return log_resp.argmax(1)
