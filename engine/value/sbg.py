"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, "How to
project customer retention", Journal of Interactive Marketing 21(1)).

At the end of each period an active subscriber cancels with probability θ; across subscribers
θ ~ Beta(α, β). With T the period in which a subscriber cancels:

    P(T = t) = B(α+1, β+t−1) / B(α, β)        S(t) = P(T > t) = B(α, β+t) / B(α, β)
    retention rate r_t = S(t)/S(t−1) = (β+t−1) / (α+β+t−1)   (rises with tenure)

Data are (t, churned) pairs with a count: a subscriber lost in period t, or one still active
after t periods (censored). A cohort table "alive at periods 0..n" is the special case in
which the n_{t−1} − n_t lost in period t are churned at t and the n_last still alive are
censored at the last period (:func:`cohort_to_durations`). The paper's two cohorts (1000 at
year 0): regular 631 468 382 326 289 262 241 → α = 0.704, β = 1.182, LL = −1680.27; high end
869 743 653 593 551 517 491 → α = 0.668, β = 3.806, LL = −1611.16.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import betaln

from engine.errors import EngineError
from engine.value.mle import FitResult, maximise

PARAMS = ("alpha", "beta")


@dataclass(frozen=True)
class Durations:
    """Periods observed per group of subscribers, whether they churned, and how many they are."""

    t: torch.Tensor
    churned: torch.Tensor  # bool
    count: torch.Tensor

    @classmethod
    def of(cls, t: Sequence[float], churned: Sequence[bool], count: Sequence[float] | None = None) -> Durations:
        t_arr = np.asarray(t, dtype=np.float64)
        churned_arr = np.asarray(churned, dtype=bool)
        count_arr = np.ones_like(t_arr) if count is None else np.asarray(count, dtype=np.float64)
        if len(t_arr) == 0 or count_arr.sum() <= 0:
            raise EngineError("no subscribers to fit the sBG model on")
        if (t_arr[churned_arr] < 1).any() or (t_arr < 0).any() or (count_arr < 0).any():
            raise EngineError("sBG durations must be ≥ 1 period for churned subscribers, ≥ 0 otherwise, counts ≥ 0")
        if not churned_arr[count_arr > 0].any():
            raise EngineError("no subscriber has cancelled yet: the sBG model has nothing to learn churn from")
        return cls(torch.from_numpy(t_arr), torch.from_numpy(churned_arr), torch.from_numpy(count_arr))

    @property
    def n(self) -> int:
        return int(round(float(self.count.sum())))


def cohort_to_durations(alive: Sequence[float]) -> Durations:
    """``alive[0..n]`` (subscribers still active at the start of each period) → durations.

    >>> d = cohort_to_durations([1000, 631, 468])
    >>> d.t.tolist(), d.churned.tolist(), d.count.tolist()
    ([1.0, 2.0, 2.0], [True, True, False], [369.0, 163.0, 468.0])
    """
    alive = [float(a) for a in alive]
    if len(alive) < 2 or any(b > a for a, b in zip(alive, alive[1:], strict=False)):
        raise EngineError("a cohort needs at least two periods and may only shrink")
    periods = len(alive) - 1
    lost = [alive[i - 1] - alive[i] for i in range(1, periods + 1)]
    return Durations.of(list(range(1, periods + 1)) + [periods], [True] * periods + [False], lost + [alive[-1]])


def _lbeta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def log_likelihood(params: torch.Tensor, data: Durations) -> torch.Tensor:
    """Σ count · [churned · ln P(T = t) + (1 − churned) · ln S(t)] at ``params`` = (α, β)."""
    alpha, beta = params
    t = data.t
    t_churn = torch.where(data.churned, t, torch.ones_like(t))
    log_p = _lbeta(alpha + 1, beta + t_churn - 1) - _lbeta(alpha, beta)
    log_s = _lbeta(alpha, beta + t) - _lbeta(alpha, beta)
    return (data.count * torch.where(data.churned, log_p, log_s)).sum()


def fit_sbg(data: Durations) -> FitResult:
    """Maximum-likelihood (α, β); see :func:`engine.value.mle.maximise` for convergence."""
    return maximise(lambda p: log_likelihood(p, data), PARAMS, (1.0, 1.0), n=data.n)


def survival(params: dict[str, float], periods: int) -> np.ndarray:
    """S(0..periods): the expected share of a new cohort still subscribed after t periods."""
    alpha, beta = params["alpha"], params["beta"]
    t = np.arange(periods + 1, dtype=float)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def retention_rates(params: dict[str, float], periods: int) -> np.ndarray:
    """r_1 … r_periods: r_t = S(t)/S(t−1), the share of those active in period t who renew (eq. 5)."""
    alpha, beta = params["alpha"], params["beta"]
    t = np.arange(1, periods + 1, dtype=float)
    return (beta + t - 1) / (alpha + beta + t - 1)


def discounted_expected_lifetime(params: dict[str, float], discount_rate: float, horizon: int = 1_000) -> float:
    """DEL = Σ_{t≥0} S(t) / (1+d)^t: discounted periods a new subscriber pays for (Fader & Hardie 2010)."""
    s = survival(params, horizon)
    return float((s / (1.0 + discount_rate) ** np.arange(horizon + 1)).sum())
