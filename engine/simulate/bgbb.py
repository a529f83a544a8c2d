"""The beta-geometric/beta-Bernoulli model of daily activity and silent churn.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
setting", Marketing Science 29(6). Each day (a transaction opportunity) a user who is still
alive is active with probability ``p``; before each opportunity an alive user leaves for good
with probability ``θ``. Across users ``p ~ Beta(α, β)`` and ``θ ~ Beta(γ, δ)`` — the latter is
the shifted-beta-geometric heterogeneity that makes a cohort's retention rise with tenure.

For a user with ``x`` active days out of ``n`` opportunities, the last at ``t_x``::

    L = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
        + Σ_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)

The first term is "still alive after n", so ``P(alive | x, t_x, n)`` is that term over ``L``;
given alive, the posteriors are ``p ~ Beta(α+x, β+n-x)`` and ``θ ~ Beta(γ, δ+n)``.
Parameters are fitted by maximum likelihood (L-BFGS on log-parameters, users with the same
``(x, t_x, n)`` pooled as the paper does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

_CHUNK = 4_096


@dataclass(frozen=True)
class BGBB:
    """Fitted parameters per group: arrays of α, β (activity) and γ, δ (dropout)."""

    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    delta: np.ndarray

    @property
    def visit_mean(self) -> np.ndarray:
        return self.alpha / (self.alpha + self.beta)

    @property
    def churn_mean(self) -> np.ndarray:
        return self.gamma / (self.gamma + self.delta)


def _log_beta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def _log_moment(mean: torch.Tensor, conc: torch.Tensor, k1: torch.Tensor, k0: torch.Tensor) -> torch.Tensor:
    """``log E[q^k1 (1-q)^k0]`` for ``q ~ Beta(mean·conc, (1-mean)·conc)``; ``conc = inf`` means
    ``q = mean`` for everyone."""
    fixed = torch.isinf(conc)
    c = torch.where(fixed, torch.ones_like(conc), conc)
    a, b = mean * c, (1.0 - mean) * c
    mixed = _log_beta(a + k1, b + k0) - _log_beta(a, b)
    m = mean.clamp(1e-300, 1.0)
    point = k1 * torch.log(m) + torch.where(k0 > 0, k0 * torch.log1p(-mean.clamp(max=1 - 1e-16)), torch.zeros_like(k0))
    return torch.where(fixed, point, mixed)


def _log_step(mean: torch.Tensor, conc: torch.Tensor, k1: torch.Tensor, k0: torch.Tensor) -> torch.Tensor:
    """``log E[q^k1 (1-q)^(k0+1)] - log E[q^k1 (1-q)^k0]``: one more failure, as a ratio
    (``(b+k0)/(a+b+k1+k0)`` for a Beta, ``1-mean`` for a fixed rate)."""
    fixed = torch.isinf(conc)
    c = torch.where(fixed, torch.ones_like(conc), conc)
    mixed = torch.log((1.0 - mean) * c + k0) - torch.log(c + k1 + k0)
    return torch.where(fixed, torch.log1p(-mean.clamp(max=1 - 1e-16)), mixed)


def log_likelihood(visit_mean: torch.Tensor, visit_conc: torch.Tensor, churn_mean: torch.Tensor,
                   churn_conc: torch.Tensor, x: torch.Tensor, t_x: torch.Tensor,
                   n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log L, log of its alive term) per user; every argument a float64 tensor of one shape.

    The terms of the sum over ``i`` are built by their ratios (a cumulative sum of logs),
    so the cost is a few logs per (user, i) rather than Beta functions.
    """
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    alive = _log_moment(visit_mean, visit_conc, x, n - x) + _log_moment(churn_mean, churn_conc, zero, n)
    gap = int((n - t_x).max().item()) if n.numel() else 0
    if gap <= 0:
        return alive, alive
    first = _log_moment(visit_mean, visit_conc, x, t_x - x) + _log_moment(churn_mean, churn_conc, one, t_x)
    col = lambda v: v[..., None]
    j = torch.arange(gap - 1, dtype=torch.float64, device=x.device)
    steps = (_log_step(col(visit_mean), col(visit_conc), col(x), col(t_x - x) + j)
             + _log_step(col(churn_mean), col(churn_conc), col(one), col(t_x) + j))
    dead = torch.cat([col(first), col(first) + torch.cumsum(steps, dim=-1)], dim=-1)
    i = torch.arange(gap, dtype=torch.float64, device=x.device)
    dead = dead.masked_fill(i >= col(n - t_x), float("-inf"))
    total = torch.logsumexp(torch.cat([alive[..., None], dead], dim=-1), dim=-1)
    return total, alive


def fit_bgbb(group: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray, groups: int,
             iterations: int = 60) -> BGBB:
    """Maximum-likelihood α, β, γ, δ for each of ``groups`` groups of users.

    A group with no users gets the pooled fit of all users.
    """
    present = np.bincount(group, minlength=groups) > 0
    fitted = _fit(group, x, t_x, n, groups, iterations)
    if not present.all():
        fitted[~present] = _fit(np.zeros_like(group), x, t_x, n, 1, iterations)[0]
    return BGBB(*(fitted[:, k] for k in range(4)))


def _fit(group: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray, groups: int,
         iterations: int) -> np.ndarray:
    keys = np.stack([group, x, t_x, n], axis=1).astype(np.int64)
    patterns, counts = np.unique(keys, axis=0, return_counts=True)
    order = np.argsort(patterns[:, 3] - patterns[:, 2], kind="stable")  # chunks of similar n - t_x
    patterns, counts = patterns[order], counts[order]
    as_t = lambda v: torch.as_tensor(v, dtype=torch.float64)
    idx = torch.as_tensor(patterns[:, 0])
    px, ptx, pn, w = (as_t(patterns[:, 1]), as_t(patterns[:, 2]), as_t(patterns[:, 3]), as_t(counts))
    # start from the pooled activity rate of the observed days and a slow churn
    rate = float(np.clip(x.sum() / max(n.sum(), 1), 1e-3, 1 - 1e-3))
    start = [np.log(rate), np.log(1 - rate), np.log(0.1), np.log(10.0)]
    params = torch.tensor([start] * groups, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        total = torch.zeros((), dtype=torch.float64)
        for lo in range(0, len(px), _CHUNK):
            sl = slice(lo, lo + _CHUNK)
            p = params.clamp(-8.0, 12.0).exp()[idx[sl]]
            vc, cc = p[:, 0] + p[:, 1], p[:, 2] + p[:, 3]
            ll, _ = log_likelihood(p[:, 0] / vc, vc, p[:, 2] / cc, cc, px[sl], ptx[sl], pn[sl])
            loss = -(w[sl] * ll).sum() / w.sum()
            loss.backward()
            total = total + loss.detach()
        return total

    opt.step(closure)
    return params.detach().clamp(-8.0, 12.0).exp().numpy()


def p_alive(visit_mean: ArrayLike, visit_conc: ArrayLike, churn_mean: ArrayLike, churn_conc: ArrayLike,
            x: ArrayLike, t_x: ArrayLike, n: ArrayLike) -> np.ndarray:
    """P(alive after the n-th opportunity | x, t_x, n) per user (array-likes in, NumPy out).

    A concentration of ``inf`` means no heterogeneity (the mean is everyone's rate).
    """
    args = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in
                                 (visit_mean, visit_conc, churn_mean, churn_conc, x, t_x, n)))
    out = np.empty(args[0].shape)
    flat = [torch.as_tensor(np.ascontiguousarray(v).reshape(-1)) for v in args]
    gap = int((args[6] - args[5]).max()) if out.size else 0
    step = max(_CHUNK, (1 << 22) // max(gap, 1))  # bounded memory: rows × gap
    for lo in range(0, out.size, step):
        ll, alive = log_likelihood(*(v[lo:lo + step] for v in flat))
        out.reshape(-1)[lo:lo + step] = torch.exp(alive - ll).numpy()
    return out
