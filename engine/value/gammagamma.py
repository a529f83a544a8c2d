"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: using
iso-value curves for customer base analysis", JMR 42(4); the note "The Gamma-Gamma model of
monetary value", Fader & Hardie 2013).

A customer's transaction values are Gamma(p, ν); across customers ν ~ Gamma(q, γ). Given x
transactions with mean m̄ (repeat transactions only, x > 0):

    log L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m̄ + px ln x − (px+q) ln(γ + x m̄)

    E[M | x, m̄] = (γ + x m̄) p / (px + q − 1)       (conditional expected spend per transaction)
    E[M] = p γ / (q − 1)                               (for a customer with no repeat purchase)

The parameter usually written γ is named ``v`` here, as in the lifetimes package. On CDNOW's
946 repeat customers: p = 6.2488, q = 3.7446, v = 15.4477.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
import torch

from engine.errors import EngineError
from engine.value.mle import FitResult, maximise

PARAMS = ("p", "q", "v")


@dataclass(frozen=True)
class SpendData:
    """x (repeat transactions, > 0) and m̄ (their mean value, > 0) per repeat customer."""

    x: torch.Tensor
    m: torch.Tensor

    @classmethod
    def from_summary(cls, summary: pl.DataFrame) -> SpendData:
        """Repeat customers with a positive mean spend from a repeat-purchase summary."""
        repeat = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary") > 0))
        if repeat.height < 10:
            raise EngineError(
                f"the Gamma-Gamma spend model needs at least 10 repeat customers with spend > 0, found {repeat.height}"
            )
        return cls(torch.from_numpy(repeat["frequency"].cast(pl.Float64).to_numpy().copy()),
                   torch.from_numpy(repeat["monetary"].cast(pl.Float64).to_numpy().copy()))

    @property
    def n(self) -> int:
        return int(self.x.numel())


def log_likelihood(params: torch.Tensor, data: SpendData) -> torch.Tensor:
    """Total Gamma-Gamma log-likelihood at ``params`` = (p, q, v)."""
    p, q, v = params
    x, m = data.x, data.m
    lg = torch.lgamma
    return (lg(p * x + q) - lg(p * x) - lg(q) + q * torch.log(v) + (p * x - 1) * torch.log(m)
            + p * x * torch.log(x) - (p * x + q) * torch.log(v + x * m)).sum()


def fit_gamma_gamma(data: SpendData) -> FitResult:
    """Maximum-likelihood (p, q, v); see :func:`engine.value.mle.maximise` for convergence.

    Amounts are divided by their median c before fitting, so the search works in the same
    range whatever the currency: v scales with c and the log-likelihood shifts by −n ln c
    (the density of m̄ / c is c times that of m̄); both are mapped back.
    """
    c = float(data.m.median())
    scaled = SpendData(data.x, data.m / c)
    fit = maximise(lambda prm: log_likelihood(prm, scaled), PARAMS, (1.0, 1.0, 1.0), n=data.n)
    params = {**fit.params, "v": fit.params["v"] * c}
    errors = {**fit.standard_errors, "v": fit.standard_errors["v"] * c} if fit.standard_errors else {}
    return replace(fit, params=params, log_likelihood=fit.log_likelihood - data.n * math.log(c), standard_errors=errors)


def expected_spend(params: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[M | x, m̄]: expected value of a future transaction; the population mean where x = 0."""
    p, q, v = (params[k] for k in PARAMS)
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    population = p * v / (q - 1) if q > 1 else np.nan
    conditional = (v + x * m) * p / (p * x + q - 1)
    return np.where(x > 0, conditional, population)
