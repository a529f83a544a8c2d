"""Means with 95 % intervals over replicates, and paired differences between two runs.

Replicates are independent draws of the same model, so the mean of a KPI over R replicates
has the Student-t confidence interval ``x̄ ± t_{0.975, R-1} · s / √R``: it covers the model's
expected value (not one future path) 95 % of the time.

Two runs with the same seed, days and replicates share their random numbers
(:mod:`engine.simulate.rng`), so replicate r of run A and replicate r of run B differ only by
the scenario. Their difference ``d_r = A_r - B_r`` is compared pairwise, with the same
t-interval over ``d``; identical scenarios give ``d_r = 0`` exactly.

A *predictive* band is another thing: where one future falls, not where the mean lies. The
replicates are draws of that future, so with enough of them (``R ≥ 2/(1 − level)``, 40 for
95 %) the band is their own quantiles, ``q_{2.5 %}`` to ``q_{97.5 %}`` of the replicates' values
(linear interpolation between order statistics). With fewer, those quantiles sit inside the few
replicates' range and cover a new draw less often than promised (the range of 8 draws holds a
ninth only 7/9 of the time), so the band is the Student-t prediction interval
``x̄ ± t_{0.975, R−1} · s · √(1 + 1/R)`` — exact for a normal KPI, always wider than the interval
of the mean, and, unlike it, not narrowing to nothing as replicates are added
(:func:`predictive_band`).
"""

from __future__ import annotations

import numpy as np


def t_multiplier(replicates: int, level: float = 0.95) -> float:
    """``t_{(1+level)/2, R-1}``; 0 for a single replicate (no interval)."""
    if replicates < 2:
        return 0.0
    from scipy import stats  # imported here: it adds a second to every command's start

    return float(stats.t.ppf((1.0 + level) / 2.0, replicates - 1))


def mean_interval(values: np.ndarray, level: float = 0.95, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high) of ``values`` over the replicate ``axis``.

    >>> m, lo, hi = mean_interval(np.array([1.0, 2.0, 3.0]))
    >>> float(m), round(float(lo), 3), round(float(hi), 3)
    (2.0, -0.484, 4.484)
    """
    values = np.asarray(values, dtype=np.float64)
    r = values.shape[axis]
    mean = values.mean(axis=axis)
    if r < 2:
        return mean, mean.copy(), mean.copy()
    half = t_multiplier(r, level) * values.std(axis=axis, ddof=1) / np.sqrt(r)
    return mean, mean - half, mean + half


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95, axis: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean difference, low, high) of two independent samples (Welch–Satterthwaite df)."""
    from scipy import stats

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = a.shape[axis], b.shape[axis]
    va, vb = a.var(axis=axis, ddof=1) / na, b.var(axis=axis, ddof=1) / nb
    diff = a.mean(axis=axis) - b.mean(axis=axis)
    se = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(se > 0, (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1)), 1.0)
    half = stats.t.ppf((1.0 + level) / 2.0, df) * se
    return diff, diff - half, diff + half


def predictive_band(values: np.ndarray, level: float = 0.95, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of where one replicate's value falls, over the replicate ``axis``: the
    ``(1 ∓ level)/2`` quantiles of the replicates when there are at least ``2/(1 − level)`` of
    them, else the t prediction interval (module docstring).

    >>> lo, hi = predictive_band(np.arange(41.0))
    >>> round(float(lo), 9), round(float(hi), 9)
    (1.0, 39.0)
    >>> lo, hi = predictive_band(np.array([1.0, 2.0, 3.0]))
    >>> round(float(lo), 3), round(float(hi), 3)
    (-2.968, 6.968)
    """
    values = np.asarray(values, dtype=np.float64)
    r = values.shape[axis]
    if r >= 2.0 / (1.0 - level) - 1e-9:
        q = np.quantile(values, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=axis)
        return q[0], q[1]
    mean = values.mean(axis=axis)
    if r < 2:
        return mean, mean.copy()
    half = t_multiplier(r, level) * values.std(axis=axis, ddof=1) * np.sqrt(1.0 + 1.0 / r)
    return mean - half, mean + half


def at_least_zero(low: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``low`` raised to 0 where every value of ``values`` is ≥ 0: the mean or one draw of a count
    is never negative, though a t interval over few replicates can reach below 0.

    >>> at_least_zero(np.array([-0.484, 1.0]), np.array([1.0, 2.0, 3.0])).tolist()
    [0.0, 1.0]
    """
    values = np.asarray(values)
    return np.maximum(low, 0.0) if values.size and values.min() >= 0 else low


def share_inside(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float | None:
    """The share of ``actual`` values inside ``[low, high]`` (bounds included; None if empty).

    >>> share_inside(np.array([1.0, 5.0, 3.0, 9.0]), np.array([0.0, 0.0, 3.0, 0.0]), np.array([2.0, 4.0, 4.0, 9.0]))
    0.75
    """
    actual = np.asarray(actual, dtype=np.float64)
    if actual.size == 0:
        return None
    return float(np.mean((actual >= low) & (actual <= high)))
