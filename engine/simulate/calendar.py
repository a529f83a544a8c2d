"""The calendar of the days after a cut, learnt from the days before it: per-day multipliers.

A calibrated world has one visit probability per agent and one arrival rate; the data's days
do not all look alike. Three profiles, each fitted on the daily series *before* the cut (its
last entry the day before) and each one number per simulated day, carry the calendar into a
simulation as data — visits through ``simulate(visit_multipliers=…)``, arrivals through
:attr:`~engine.simulate.world.World.arrival_weights`:

* **weekday** (visits) — :func:`weekday_visit_multipliers`: each weekday's share of the last 8
  weeks' actives;
* **yearly** (visits) — :func:`yearly_visit_multipliers`: where the history spans at least
  :data:`YEARLY_MIN_DAYS` days, each week of the year's share of its year (the last one or two
  52-week years before the cut), smoothed over neighbouring weeks;
* **trend** (arrivals) — :func:`arrival_trend`: a log-linear (Poisson) fit of the new users per
  day over the last :data:`TREND_DAYS` days, extrapolated and capped at ×2 or ×½.

Every profile shrinks towards 1 where the history is thin (pseudo-counts), and is all ones
where it is too short. A launch calendar (courses that start on known dates) is another
profile of the same kind: :mod:`engine.simulate.launches`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEEK = 7
YEAR = 52 * WEEK
"""A year of the yearly profile: 52 whole weeks, so that its weeks keep their weekdays."""

WEEKDAY_WEEKS = 8
WEEKDAY_PRIOR = 20.0
"""Pseudo-actives added to every weekday's total: a thin history's profile stays near 1."""

YEARLY_MIN_DAYS = 400
YEARLY_PRIOR = 20.0
"""Pseudo-actives added to every week of a year: a quiet site's yearly profile stays near 1."""

TREND_DAYS = 182
TREND_MIN_DAYS = 28
TREND_CAP = 2.0
"""The trend is fitted on at most the last 26 weeks and never moves the rate past ×2 or ×½."""


def weekday_visit_multipliers(history: np.ndarray, days: int, weeks: int = WEEKDAY_WEEKS,
                              prior: float = WEEKDAY_PRIOR) -> np.ndarray:
    """One visit multiplier per simulated day from the daily actives ``history`` before the cut
    (its last entry the day before): over the last ``weeks`` whole weeks, weekday ``w``'s total
    ``S_w`` gives ``m_w = (S_w + c) / (S̄ + c)`` (``S̄`` the mean of the seven totals, ``c`` =
    ``prior`` pseudo-actives, so a thin profile shrinks towards 1); day ``h`` after the cut gets
    the multiplier of its weekday (1 everywhere with less than two weeks of history).

    >>> weekday_visit_multipliers(np.tile([30.0, 10, 10, 10, 10, 10, 10], 2), 8, prior=0.0).round(3).tolist()
    [2.333, 0.778, 0.778, 0.778, 0.778, 0.778, 0.778, 2.333]
    """
    h = np.asarray(history, dtype=np.float64)
    n = min(weeks, len(h) // WEEK) * WEEK
    if n < 2 * WEEK:
        return np.ones(days)
    totals = h[len(h) - n:].reshape(-1, WEEK).sum(axis=0)
    mean = totals.mean()
    if mean + prior <= 0:
        return np.ones(days)
    return ((totals + prior) / (mean + prior))[np.arange(days) % WEEK]


def yearly_visit_multipliers(history: np.ndarray, days: int, min_days: int = YEARLY_MIN_DAYS,
                             prior: float = YEARLY_PRIOR) -> np.ndarray:
    """One visit multiplier per simulated day from the week of the year it falls in.

    The last one or two 52-week years of ``history`` (daily actives, its last entry the day
    before the cut) are cut into weeks; in each year week ``w``'s sum ``S_w`` gives
    ``(S_w + c) / (S̄ + c)`` (``S̄`` that year's mean week, ``c`` = ``prior``), the years are
    averaged (a year's level drops out: only its shape counts), smoothed with weights 1-2-1 over
    neighbouring weeks (the year wraps) and scaled to mean 1. Day ``h`` after the cut falls in
    week ``(h mod 364) // 7`` of the year that ended the day before the cut. All ones when the
    history is shorter than ``min_days`` days (a single year's shape would be fitted on a part of
    one season).

    >>> year = np.repeat(np.r_[np.full(26, 70.0), np.full(26, 210.0)], 7)
    >>> m = yearly_visit_multipliers(np.r_[np.zeros(50), year], 364, prior=0.0)
    >>> round(float(m[7]), 3), round(float(m[200]), 3), round(float(m.mean()), 3)
    (0.5, 1.5, 1.0)
    """
    h = np.asarray(history, dtype=np.float64)
    if len(h) < min_days:
        return np.ones(days)
    years = min(2, len(h) // YEAR)
    weeks = h[len(h) - years * YEAR:].reshape(years, YEAR // WEEK, WEEK).sum(axis=2)  # [years, 52]
    mean = weeks.mean(axis=1, keepdims=True)
    if (mean + prior <= 0).any():
        return np.ones(days)
    shape = ((weeks + prior) / (mean + prior)).mean(axis=0)
    smooth = (np.roll(shape, 1) + 2 * shape + np.roll(shape, -1)) / 4
    smooth /= smooth.mean()
    return smooth[(np.arange(days) % YEAR) // WEEK]


@dataclass(frozen=True)
class Trend:
    """A log-linear rate ``λ_t = exp(a + b·t)`` fitted on the days before a cut."""

    growth: float  # b: the rate's change per day, as a log (0.01 ≈ +1 % a day)
    days: int  # days fitted on (0: no fit, growth 0)

    def weights(self, days: int, lag: float, cap: float = TREND_CAP) -> np.ndarray:
        """The rate on each of ``days`` days after the cut relative to the rate ``lag`` days
        before it (where the calibrated rate was measured): ``exp(b·(h + lag))``, kept in
        ``[1/cap, cap]`` so that a steep fit cannot explode over a long horizon."""
        return np.clip(np.exp(self.growth * (np.arange(days) + lag)), 1.0 / cap, cap)


def arrival_trend(joins: np.ndarray, window: int = TREND_DAYS, min_days: int = TREND_MIN_DAYS) -> Trend:
    """Fit ``λ_t = exp(a + b·t)`` to the new users per day ``joins`` (its last entry the day
    before the cut) over the last ``window`` days by Poisson maximum likelihood (Newton's method
    on the concave log-likelihood ``Σ y_t(a + b·t) − e^{a + b·t}``); no trend (growth 0) with
    fewer than ``min_days`` days or fewer than two days with joins.

    >>> t = np.arange(182)
    >>> round(arrival_trend(np.round(50 * np.exp(-0.01 * t))).growth, 3)
    -0.01
    """
    y = np.asarray(joins, dtype=np.float64)[-window:]
    if len(y) < min_days or (y > 0).sum() < 2:
        return Trend(growth=0.0, days=0)
    t = (np.arange(len(y)) - (len(y) - 1) / 2) / len(y)  # centred and scaled: a well-conditioned Newton
    theta = np.array([np.log(y.mean()), 0.0])
    design = np.stack([np.ones_like(t), t], axis=1)
    for _ in range(50):
        rate = np.exp(design @ theta)
        step = np.linalg.solve(design.T @ (design * rate[:, None]), design.T @ (y - rate))
        theta += step
        if np.abs(step).max() < 1e-10:
            break
    return Trend(growth=float(theta[1]) / len(y), days=len(y))
