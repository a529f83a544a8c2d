"""Maximum likelihood for models with positive parameters, converged properly.

Customer-value likelihoods are flat in some directions (BG/NBD's ``a`` and ``b`` trade off
against each other), so a loose optimiser stops early and reports parameters a few percent
off. :func:`maximise` therefore works in two stages on ``θ = log(params)``:

1. quasi-Newton (scipy L-BFGS-B) with exact gradients from torch autograd in float64;
2. Newton polishing with the exact Hessian (``torch.autograd.functional.hessian``) and a
   backtracking line search, until the largest gradient component of the *total*
   log-likelihood with respect to ``θ`` is below ``gtol``.

A fit counts as converged only when that gradient test passes, the Hessian is negative
definite (a maximum, not a saddle), no parameter sits at the search bound e^±12, and every
parameter is identified: its relative standard error (delta method) is below
``MAX_RELATIVE_SE``. A likelihood that keeps rising toward a boundary (every subscriber of a
cohort cancels in the first period: β → 0) has a vanishing gradient far out but no maximum;
the huge standard error gives it away. Otherwise :class:`FitResult` says what failed.

The likelihoods are small (a few thousand customers × a few parameters): torch's intra-op
threads cost more than they save on them, several times more on a busy machine, so a fit runs
on one thread and restores the caller's setting afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import minimize

from engine.threads import one_thread

LogLikelihood = Callable[[torch.Tensor], torch.Tensor]
"""Maps the positive parameters (1-D float64 tensor) to the total log-likelihood (a scalar)."""

GTOL = 1e-6
NEWTON_STEPS = 50
LOG_BOUND = 12.0  # parameters stay within e^±12
MAX_RELATIVE_SE = 1e3


@dataclass(frozen=True)
class FitResult:
    """The maximum-likelihood estimate and how the optimiser got there."""

    params: dict[str, float]
    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    gradient_norm: float
    n: int  # observations (customers, or cohort members)
    standard_errors: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            **self.params, "log_likelihood": self.log_likelihood, "converged": self.converged,
            "message": self.message, "iterations": self.iterations, "gradient_norm": self.gradient_norm,
            "n": self.n, "standard_errors": self.standard_errors,
        }


def maximise(
    log_likelihood: LogLikelihood,
    names: Sequence[str],
    start: Sequence[float],
    *,
    n: int,
    gtol: float = GTOL,
) -> FitResult:
    """Maximise ``log_likelihood`` over positive parameters named ``names`` from ``start``.

    >>> fit = maximise(lambda p: -(p[0] - 2.0) ** 2, ["x"], [1.0], n=1)
    >>> round(fit.params["x"], 6), fit.converged
    (2.0, True)
    """
    with one_thread():
        return _maximise(log_likelihood, names, start, n=n, gtol=gtol)


def _maximise(log_likelihood: LogLikelihood, names: Sequence[str], start: Sequence[float], *, n: int,
              gtol: float) -> FitResult:
    def total(theta: torch.Tensor) -> torch.Tensor:
        return log_likelihood(torch.exp(theta))

    def objective(theta_np: np.ndarray) -> tuple[float, np.ndarray]:
        theta = torch.tensor(theta_np, dtype=torch.float64, requires_grad=True)
        value = total(theta)
        if not torch.isfinite(value):
            return math.inf, np.zeros_like(theta_np)
        (grad,) = torch.autograd.grad(value, theta)
        return -float(value.detach()) / n, -grad.numpy() / n

    theta0 = np.log(np.asarray(start, dtype=np.float64))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(theta0)
    first = minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                     options={"maxiter": 2_000, "ftol": 1e-15, "gtol": 1e-12})
    theta = torch.tensor(first.x, dtype=torch.float64)
    iterations = int(first.nit)
    value, grad, hess = _derivatives(total, theta)
    for _ in range(NEWTON_STEPS):
        if _grad_max(grad) < gtol:
            break
        step = _newton_step(grad, hess)
        t = 1.0
        while t > 1e-10:
            candidate = torch.clamp(theta + t * step, -LOG_BOUND, LOG_BOUND)
            cand_value = total(candidate).detach()
            if torch.isfinite(cand_value) and cand_value >= value - 1e-12 * abs(float(value)):
                break
            t /= 2
        else:
            break
        theta = candidate
        iterations += 1
        value, grad, hess = _derivatives(total, theta)
    params = torch.exp(theta)
    gmax = _grad_max(grad)
    finite = bool(torch.isfinite(value)) and bool(torch.isfinite(hess).all())
    negative_definite = finite and bool((torch.linalg.eigvalsh(_symmetric(hess)) < 0).all())
    errors = _standard_errors(names, params, hess) if negative_definite else {}
    at_bound = [(nm, th) for nm, th in zip(names, theta.tolist(), strict=True) if abs(th) >= LOG_BOUND - 1e-6]
    estimate = dict(zip(names, params.tolist(), strict=True))
    flat = [nm for nm in names if errors and errors[nm] > MAX_RELATIVE_SE * abs(estimate[nm])]
    if not finite:
        message = "the log-likelihood is not finite at the estimate"
    elif at_bound:
        message = ("; ".join(f"parameter {nm} ran off to {'0' if th < 0 else 'infinity'}" for nm, th in at_bound)
                   + ": the likelihood is flat that way, no finite maximum")
    elif not negative_definite:
        message = "the estimate is not a maximum (the Hessian is not negative definite)"
    elif gmax >= gtol:
        message = f"the gradient did not vanish (max |dLL/dlog θ| = {gmax:.1e})"
    elif flat:
        message = (f"the likelihood is flat in {', '.join(flat)}: no finite maximum "
                   f"(relative standard error above {MAX_RELATIVE_SE:g})")
    else:
        message = f"converged: max |dLL/dlog θ| = {gmax:.1e}"
    converged = message.startswith("converged")
    return FitResult(
        params={nm: float(v) for nm, v in zip(names, params.tolist(), strict=True)},
        log_likelihood=float(value),
        converged=converged,
        message=message,
        iterations=iterations,
        gradient_norm=gmax,
        n=n,
        standard_errors=errors if converged else {},
    )


def _derivatives(total: LogLikelihood, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    theta = theta.detach().clone().requires_grad_(True)
    value = total(theta)
    (grad,) = torch.autograd.grad(value, theta)
    hess = torch.autograd.functional.hessian(total, theta.detach())
    return value.detach(), grad.detach(), hess.detach()


def _grad_max(grad: torch.Tensor) -> float:
    return float(grad.abs().max()) if torch.isfinite(grad).all() else math.inf


def _symmetric(m: torch.Tensor) -> torch.Tensor:
    return (m + m.T) / 2


def _newton_step(grad: torch.Tensor, hess: torch.Tensor) -> torch.Tensor:
    """Newton's direction for a maximum; falls back to gradient ascent where H is not negative definite."""
    h = _symmetric(hess)
    if torch.isfinite(h).all() and (torch.linalg.eigvalsh(h) < 0).all():
        return torch.linalg.solve(-h, grad)
    return grad / max(1.0, float(grad.abs().max()))


def _standard_errors(names: Sequence[str], params: torch.Tensor, hess_theta: torch.Tensor) -> dict[str, float]:
    """Delta-method standard errors: Var(p) = p² · Var(θ), Var(θ) = diag((−H_θ)⁻¹)."""
    cov = torch.linalg.inv(-_symmetric(hess_theta))
    se = params * torch.sqrt(torch.clamp(torch.diagonal(cov), min=0.0))
    return {nm: float(v) for nm, v in zip(names, se.tolist(), strict=True)}
