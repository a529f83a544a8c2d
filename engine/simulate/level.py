"""Level uncertainty: how far the platform's level may drift from what was calibrated.

The replicates of a calibrated world differ by its people's draws (who visits, who joins), not
by how far that calibration itself is off — yet a real platform's level wanders from week to
week for reasons no model before the cut can know (a launch, a newsletter, a competitor). A
predictive band that leaves that out covers too few of the weeks that follow.

Before the cut the weekly totals ``y_t`` (their logarithm ``z_t = log(1 + y_t)``) are read as
the local level model (Harvey 1989, §2.3; Durbin & Koopman 2012, ch. 2)::

    z_t = μ_t + ε_t,    ε_t ~ N(0, σ²_ε)      (the week's own noise)
    μ_t = μ_{t−1} + η_t, η_t ~ N(0, σ²_η)      (the level's drift)

fitted by maximum likelihood with the Kalman filter (a diffuse first level, the variance
ratio ``q = σ²_η / σ²_ε`` searched on a log grid, ``σ²_ε`` concentrated out). The simulator
already draws the week's own noise, so only the drift is added: each replicate ``r`` draws its
own level path, one step a week from the cut,

    m_{r,w} = exp(L_{r,w} − (w + 1)·σ²_η / 2),   L_{r,w} = σ_η · Σ_{j ≤ w} ζ_{r,j},  ζ ~ N(0, 1),

mean one (so the expected path is the calibrated one) and widening as ``√w``: the multiplier
of that replicate's visit probabilities and of its arrival rate on the days of week ``w``.
It is fitted on the last :data:`FIT_WEEKS` weeks (a cohort's arrival months before them would
read as drift: CDNOW's first twelve weeks, σ 0.26 a week on 39 weeks, 0.09 on 26) and not at all
where the weeks hold fewer than :data:`MIN_WEEKLY_TOTAL` on average. The normals are counter-based (:mod:`engine.simulate.rng`, stream ``level``, one per replicate
and week), so a replicate's path is the same in every scenario and in every window of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.simulate.rng import uniform

WEEK = 7
MIN_WEEKS = 8
"""Fewer whole weeks of history than this: no drift is fitted (``sigma`` 0)."""
FIT_WEEKS = 26
"""The weeks the drift is fitted on: the half year before the cut, as the arrival trend."""
MIN_WEEKLY_TOTAL = 20.0
"""A mean weekly total below this: no drift is fitted (a few counts a week are Poisson noise
that ``log(1 + y)`` turns into a drifting level: bicycles.meta, σ 0.53 a week)."""
_Q_GRID = np.exp(np.linspace(np.log(1e-4), np.log(1e2), 121))


@dataclass(frozen=True)
class LevelDrift:
    """The fitted drift of the weekly level (module docstring); ``sigma`` 0: none."""

    sigma: float  # σ_η, the sd of a week's step in log(1 + weekly total)
    noise: float  # σ_ε, the sd of a week's own noise (fitted, not simulated by this module)
    weeks: int  # whole weeks of history it was fitted on

    def as_dict(self) -> dict[str, float | int]:
        return {"sigma_week": self.sigma, "noise_week": self.noise, "weeks": self.weeks}

    def multipliers(self, seed: int, replicates: int, days: int) -> np.ndarray:
        """[days, replicates] mean-one multipliers: replicate ``r``'s level on each day."""
        weeks = -(-days // WEEK)
        if self.sigma <= 0 or days <= 0:
            return np.ones((days, replicates))
        from scipy.special import ndtri  # scipy costs a second at import; only backtests come here

        rows = torch.arange(replicates, dtype=torch.int64)
        cols = torch.arange(weeks, dtype=torch.int64).expand(replicates, weeks)
        u = uniform(seed, "level", 0, rows, cols).double().numpy()  # [R, W]
        walk = self.sigma * np.cumsum(ndtri(u), axis=1)
        steps = np.arange(1, weeks + 1)
        level = np.exp(walk - steps * self.sigma ** 2 / 2.0)  # [R, W]
        return np.repeat(level.T, WEEK, axis=0)[:days]


NO_DRIFT = LevelDrift(sigma=0.0, noise=0.0, weeks=0)
"""Every replicate at the calibrated level."""


def weekly_totals(daily: np.ndarray) -> np.ndarray:
    """The sums of the whole weeks of ``daily`` that end on its last day (oldest first)."""
    daily = np.asarray(daily, dtype=np.float64)
    weeks = len(daily) // WEEK
    return daily[len(daily) - weeks * WEEK:].reshape(weeks, WEEK).sum(axis=1)


def _profile_loglik(z: np.ndarray, q: float) -> tuple[float, float]:
    """Concentrated log-likelihood of the local level model at ratio ``q`` and its ``σ²_ε``
    (diffuse start: the first observation sets the level)."""
    a, p = z[0], 1.0 + q  # after the first observation: level z₀ with variance σ²_ε, then one step
    sum_v2f, sum_logf = 0.0, 0.0
    for y in z[1:]:
        f = p + 1.0
        v = y - a
        sum_v2f += v * v / f
        sum_logf += np.log(f)
        k = p / f
        a += k * v
        p = p * (1.0 - k) + q
    n = len(z) - 1
    s2 = sum_v2f / n
    return -0.5 * (n * np.log(max(s2, 1e-300)) + sum_logf), s2


def fit_level_drift(daily: np.ndarray, weeks: int = FIT_WEEKS) -> LevelDrift:
    """The local level model of the last ``weeks`` :func:`weekly_totals` of ``daily`` (the days
    before the cut), in ``log(1 + y)``, by maximum likelihood (module docstring)."""
    y = weekly_totals(daily)[-weeks:]
    z = np.log1p(y)
    if len(z) < MIN_WEEKS or np.ptp(z) == 0 or y.mean() < MIN_WEEKLY_TOTAL:
        return LevelDrift(sigma=0.0, noise=0.0, weeks=len(z))
    best = max(((*_profile_loglik(z, q), q) for q in _Q_GRID), key=lambda t: t[0])
    _, s2, q = best
    return LevelDrift(sigma=float(np.sqrt(q * s2)), noise=float(np.sqrt(s2)), weeks=len(z))
