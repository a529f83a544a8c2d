"""The Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987; likelihood as in
Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and related expressions").

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); their lifetime is exponential
with rate μ ~ Gamma(s, β). Integrating λ and μ out of
``L(λ, μ | x, t_x, T) = λ^x e^−(λ+μ)T + ∫_{t_x}^T λ^x μ e^−(λ+μ)τ dτ`` gives

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ ]

The textbook writes the integral with the Gaussian hypergeometric ₂F₁; here it is computed by
Gauss–Legendre quadrature on ``v = ln(α+τ)`` (the integrand is smooth and bounded on a finite
interval), which keeps the whole likelihood differentiable by torch autograd so the fit can
converge tightly. (A test checks it against the ₂F₁ form.)

    P(alive | x, t_x, T) = (α+T)^−(r+x) (β+T)^−s / [ … the bracket above … ]
    E[Y(t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)

On CDNOW's 2,357-customer sample (39-week calibration): r = 0.5533, α = 10.578, s = 0.6062,
β = 11.667.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from engine.value.data import RepeatData
from engine.value.mle import FitResult, maximise

PARAMS = ("r", "alpha", "s", "beta")
QUADRATURE_NODES = 96

_nodes, _weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
_NODES = torch.from_numpy((_nodes + 1.0) / 2.0)  # on [0, 1]
_WEIGHTS = torch.from_numpy(_weights / 2.0)


def _log_bracket_terms(params: torch.Tensor, x: torch.Tensor, t_x: torch.Tensor, T: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """log of the bracket's "alive at T" and "died in (t_x, T]" terms, and where (t_x, T] is not empty."""
    r, alpha, s, beta = params
    alive = -(r + x) * torch.log(alpha + T) - s * torch.log(beta + T)
    lo = torch.log(alpha + t_x)
    width = torch.log(alpha + T) - lo  # v from ln(α+t_x) to ln(α+T)
    has_interval = width > 0
    width = torch.where(has_interval, width, torch.ones_like(width))  # placeholder, masked below
    v = lo[:, None] + width[:, None] * _NODES[None, :]
    tau_plus_alpha = torch.exp(v)
    tau = tau_plus_alpha - alpha
    # dτ = (α+τ) dv, so the integrand in v is (α+τ)^−(r+x−1) (β+τ)^−(s+1)
    log_f = -(r + x[:, None] - 1) * v - (s + 1) * torch.log(beta + tau)
    log_integral = torch.logsumexp(log_f + torch.log(_WEIGHTS)[None, :], dim=1) + torch.log(width)
    died = torch.log(s) + log_integral
    return alive, died, has_interval


def _log_bracket(alive: torch.Tensor, died: torch.Tensor, has_interval: torch.Tensor) -> torch.Tensor:
    """log of the bracket; a customer who bought at T (t_x = T) has no interval to die in."""
    return torch.where(has_interval, torch.logaddexp(alive, died), alive)


def log_likelihood(params: torch.Tensor, data: RepeatData) -> torch.Tensor:
    """Total Pareto/NBD log-likelihood at ``params`` = (r, α, s, β)."""
    r, alpha, s, beta = params
    x = data.x
    terms = _log_bracket_terms(params, x, data.t_x, data.T)
    head = torch.lgamma(r + x) - torch.lgamma(r) + r * torch.log(alpha) + s * torch.log(beta)
    return (head + _log_bracket(*terms)).sum()


def fit_pareto_nbd(data: RepeatData) -> FitResult:
    """Maximum-likelihood (r, α, s, β); see :func:`engine.value.mle.maximise` for convergence."""
    start = (1.0, max(float(data.T.mean()), 1.0), 1.0, max(float(data.T.mean()), 1.0))
    return maximise(lambda p: log_likelihood(p, data), PARAMS, start, n=data.n)


def p_alive(params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, t_x, T): the share of the likelihood in which the customer is still alive at T."""
    p = torch.tensor([params[k] for k in PARAMS], dtype=torch.float64)
    terms = _log_bracket_terms(p, *(torch.as_tensor(np.asarray(v, dtype=np.float64)) for v in (x, t_x, T)))
    return torch.exp(terms[0] - _log_bracket(*terms)).numpy()


def expected_purchases(params: Mapping[str, float], t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected transactions in the next ``t`` periods."""
    r, alpha, s, beta = (params[k] for k in PARAMS)
    if t <= 0:
        return np.zeros_like(np.asarray(x, dtype=float))
    if abs(s - 1.0) < 1e-9:
        per_alive = (r + x) * (beta + T) / (alpha + T) * np.log((beta + T + t) / (beta + T))
    else:
        per_alive = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1))
    return per_alive * p_alive(params, x, t_x, T)
