"""Forecast baselines for a backtest: what a simulator has to beat, scored on the same days.

Each baseline sees only the daily series before the cut (``history``, its last entry the day
before the first forecast day) and forecasts every day of the horizon at once, as the
simulator does:

* ``naive`` — the last value, ``ŷ_{T+h} = y_T``;
* ``seasonal_naive`` — the same weekday last week, ``ŷ_{T+h} = y_{T+h−7k}`` (``k`` the smallest
  whole number of weeks that reaches back before the cut);
* ``mean28`` — the mean of the last 28 days;
* ``weekday28`` — the mean of the same weekday over the last 28 days (four values each);
* ``ets`` — exponential smoothing with a weekly season (Holt–Winters in its state-space form,
  Hyndman, Koehler, Snyder & Grose 2002), additive errors: ETS(A,N,A) and ETS(A,Ad,A)
  (damped trend, ``φ ≤ 0.98``) are fitted by least squares over the history and the one
  with the lower AICc forecasts (:func:`fit_ets`).

The smoothing is implemented here on NumPy and SciPy rather than taken from statsmodels,
whose ``ExponentialSmoothing`` would bring pandas and patsy into the engine for one
forty-line recursion, and about a second of imports into every backtest; the recursion and
the parameter space are the textbook ones (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, 3rd ed., §8.3 and §8.5).

Scores (:func:`score_forecast`) are the backtest's MAPE over the days whose actual value is
not 0 and the mean absolute scaled error (Hyndman & Koehler 2006)::

    MASE = mean_t |ŷ_t − a_t| / mean_{t∈history} |y_t − y_{t−m}|

with ``m = 7`` for days (the in-sample seasonal-naive error) and ``m = 1`` for weeks (the
in-sample naive error of the weekly sums, weeks ending the day before the cut). MASE < 1
means better than those in-sample one-step forecasts; unlike MAPE it is defined on days
with nothing and does not blow up on small values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BASELINES = ("naive", "seasonal_naive", "mean28", "weekday28", "ets")
"""The baselines every backtest reports, in the order it prints them."""

WEEK = 7
TRAILING = 28
HISTORY_DAYS = 364
"""The baselines (and the MASE scale) look at most 52 weeks back."""


@dataclass(frozen=True)
class Score:
    """A forecast's errors against what happened (None where a score is not defined)."""

    mape_daily: float | None
    mape_weekly: float | None
    mase_daily: float | None
    mase_weekly: float | None

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


# --- the forecasts ------------------------------------------------------------------------


def naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """The last value, repeated.

    >>> naive_forecast(np.array([3.0, 5.0]), 3).tolist()
    [5.0, 5.0, 5.0]
    """
    return np.full(horizon, float(np.asarray(history)[-1]))


def seasonal_naive_forecast(history: np.ndarray, horizon: int, period: int = WEEK) -> np.ndarray:
    """Each day the value of the same day of the season in the last season before the cut.

    >>> seasonal_naive_forecast(np.arange(10.0), 4, period=3).tolist()
    [7.0, 8.0, 9.0, 7.0]
    """
    last = np.asarray(history, dtype=np.float64)[-period:]
    return last[np.arange(horizon) % period]


def trailing_mean_forecast(history: np.ndarray, horizon: int, window: int = TRAILING) -> np.ndarray:
    """The mean of the last ``window`` days, repeated."""
    return np.full(horizon, float(np.mean(np.asarray(history, dtype=np.float64)[-window:])))


def weekday_profile_forecast(history: np.ndarray, horizon: int, window: int = TRAILING,
                             period: int = WEEK) -> np.ndarray:
    """Each day the mean of the same day of the season over the last ``window`` days
    (``window`` a multiple of ``period``).

    >>> weekday_profile_forecast(np.array([1.0, 2.0, 3.0, 5.0]), 3, window=4, period=2).tolist()
    [2.0, 3.5, 2.0]
    """
    last = np.asarray(history, dtype=np.float64)[-window:]
    profile = last.reshape(-1, period).mean(axis=0)
    return profile[np.arange(horizon) % period]


@dataclass(frozen=True)
class EtsFit:
    """A fitted additive ETS model with a season of ``period`` days."""

    trend: bool  # ETS(A,Ad,A) when True, ETS(A,N,A) when False
    alpha: float
    beta: float
    gamma: float
    phi: float
    level: float  # the states after the last day of history
    slope: float
    season: np.ndarray  # [period]: season[i] belongs to the day i+1 steps after the last one, mod period
    sse: float
    aicc: float

    def forecast(self, horizon: int) -> np.ndarray:
        """``ŷ_{T+h} = l_T + (φ + … + φ^h)·b_T + s_{T+h−m⌈h/m⌉}``."""
        h = np.arange(1, horizon + 1)
        damped = np.cumsum(self.phi ** h) if self.trend else np.zeros(horizon)
        return self.level + damped * self.slope + self.season[(h - 1) % len(self.season)]


def _ets_pass(y: np.ndarray, period: int, alpha: float, beta: float, gamma: float, phi: float,
              level: float, slope: float, season: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """One pass of the error-correction recursion: (SSE, final level, slope, season)."""
    s = list(season)
    sse = 0.0
    for t, value in enumerate(y):
        seasonal = s[t % period]
        e = value - (level + phi * slope + seasonal)
        sse += e * e
        level, slope = level + phi * slope + alpha * e, phi * slope + beta * e
        s[t % period] = seasonal + gamma * e
    n = len(y)
    return sse, level, slope, np.array([s[(n + i) % period] for i in range(period)])


def fit_ets(history: np.ndarray, period: int = WEEK) -> EtsFit:
    """Fit ETS(A,N,A) and ETS(A,Ad,A) by least squares (L-BFGS-B), keep the lower AICc.

    Initial states: the level is the first season's mean, the slope the change of the
    season means over the first two seasons per day, the season the first season's
    deviations from its mean (the classical start; FPP §8.5). Parameters are kept in the
    usual admissible box: ``0 < α < 1``, ``0 ≤ β ≤ α``, ``0 ≤ γ ≤ 1 − α``, ``0.8 ≤ φ ≤ 0.98``.
    AICc ``= n·ln(SSE/n) + 2k + 2k(k+1)/(n−k−1)`` with ``k`` the smoothing parameters plus
    the ``period + 1`` (or ``+ 2``) initial states.
    """
    from scipy.optimize import minimize  # here: SciPy costs every importer of the engine a second

    y = np.asarray(history, dtype=np.float64)
    n = len(y)
    if n < 2 * period:
        raise ValueError(f"exponential smoothing needs at least {2 * period} days of history, got {n}")
    first, second = y[:period], y[period:2 * period]
    level0 = float(first.mean())
    slope0 = float(second.mean() - first.mean()) / period
    season0 = first - first.mean()
    best: EtsFit | None = None
    for trend in (False, True):
        def unpack(p: np.ndarray) -> tuple[float, float, float, float]:
            a = float(p[0])
            return a, (a * float(p[2]) if trend else 0.0), (1.0 - a) * float(p[1]), (float(p[3]) if trend else 1.0)

        def sse(p: np.ndarray) -> float:
            a, b, g, phi = unpack(p)
            return _ets_pass(y, period, a, b, g, phi, level0, slope0 if trend else 0.0, season0)[0]

        start = np.array([0.3, 0.1, 0.1, 0.95])
        bounds = [(1e-4, 0.9999), (0.0, 1.0), (0.0, 1.0), (0.8, 0.98)]
        keep = 4 if trend else 2
        found = minimize(lambda q: sse(np.r_[q, start[keep:]]), start[:keep], method="L-BFGS-B",
                         bounds=bounds[:keep])
        p = np.r_[found.x, start[keep:]]
        a, b, g, phi = unpack(p)
        total, level, slope, season = _ets_pass(y, period, a, b, g, phi, level0, slope0 if trend else 0.0, season0)
        k = keep + period + (2 if trend else 1)
        aicc = n * np.log(max(total, 1e-300) / n) + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf)
        fit = EtsFit(trend=trend, alpha=a, beta=b, gamma=g, phi=phi if trend else 1.0, level=level,
                     slope=slope if trend else 0.0, season=season, sse=total, aicc=float(aicc))
        if best is None or fit.aicc < best.aicc:
            best = fit
    assert best is not None
    return best


def ets_forecast(history: np.ndarray, horizon: int, period: int = WEEK) -> np.ndarray:
    """The forecast of :func:`fit_ets`, floored at 0 (the series are counts and money)."""
    return np.maximum(fit_ets(history, period).forecast(horizon), 0.0)


def forecast_baselines(history: np.ndarray, horizon: int) -> dict[str, np.ndarray | None]:
    """Every baseline's forecast of the ``horizon`` days after ``history`` (None where the
    history is too short for it: a week for the seasonal ones, two weeks for ``ets``; the
    28-day ones use the whole weeks there are when there are fewer than four)."""
    y = np.asarray(history, dtype=np.float64)
    n = len(y)
    weeks = min(TRAILING, n) // WEEK * WEEK
    return {
        "naive": naive_forecast(y, horizon) if n else None,
        "seasonal_naive": seasonal_naive_forecast(y, horizon) if n >= WEEK else None,
        "mean28": trailing_mean_forecast(y, horizon, min(TRAILING, n)) if n else None,
        "weekday28": weekday_profile_forecast(y, horizon, weeks) if weeks else None,
        "ets": ets_forecast(y, horizon) if n >= 2 * WEEK else None,
    }


# --- the scores ---------------------------------------------------------------------------


def mape(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    """Mean absolute percentage error over the entries where ``actual`` is not 0 (None if none).

    >>> mape(np.array([110.0, 5.0, 45.0]), np.array([100.0, 0.0, 50.0]))
    10.0
    """
    predicted, actual = np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    keep = actual != 0
    if not keep.any():
        return None
    return float(100.0 * np.mean(np.abs(predicted[keep] - actual[keep]) / np.abs(actual[keep])))


def mase(predicted: np.ndarray, actual: np.ndarray, history: np.ndarray, period: int) -> float | None:
    """Mean absolute scaled error: the forecast's MAE over the in-sample MAE of the
    ``period``-step naive forecast of ``history`` (None when that is 0 or undefined).

    >>> mase(np.array([4.0, 4.0]), np.array([5.0, 3.0]), np.array([1.0, 3.0, 2.0]), 1)
    0.6666666666666666
    """
    h = np.asarray(history, dtype=np.float64)
    if len(h) <= period or len(predicted) == 0:
        return None
    scale = float(np.mean(np.abs(h[period:] - h[:-period])))
    if scale == 0:
        return None
    return float(np.mean(np.abs(np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64))) / scale)


def weekly_sums(values: np.ndarray, from_end: bool = False) -> np.ndarray:
    """Sums over whole 7-day blocks along the first axis: from the first day (a horizon), or
    ending on the last day (``from_end``: a history, weeks ending the day before the cut)."""
    v = np.asarray(values, dtype=np.float64)
    weeks = len(v) // WEEK
    v = v[len(v) - weeks * WEEK:] if from_end else v[:weeks * WEEK]
    return v.reshape(weeks, WEEK, *v.shape[1:]).sum(axis=1)


def score_forecast(predicted: np.ndarray, actual: np.ndarray, history: np.ndarray) -> Score:
    """MAPE and MASE of a daily forecast over the horizon, by day and by week (module docstring)."""
    predicted, actual = np.asarray(predicted, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    weeks_p, weeks_a = weekly_sums(predicted), weekly_sums(actual)
    has_weeks = len(weeks_a) > 0
    return Score(mape_daily=mape(predicted, actual),
                 mape_weekly=mape(weeks_p, weeks_a) if has_weeks else None,
                 mase_daily=mase(predicted, actual, history, WEEK),
                 mase_weekly=mase(weeks_p, weeks_a, weekly_sums(history, from_end=True), 1) if has_weeks else None)


def best_baseline(scores: dict[str, Score], field: str = "mape_weekly") -> str | None:
    """The baseline with the lowest ``field`` (None when no baseline has one)."""
    known = {name: getattr(s, field) for name, s in scores.items() if getattr(s, field) is not None}
    return min(known, key=known.__getitem__) if known else None


def ratios_to_best(simulator: Score, baselines: dict[str, Score]) -> dict[str, float | None]:
    """Per score, the simulator's over the best baseline's (< 1: the simulator is better)."""
    out: dict[str, float | None] = {}
    for field in ("mape_weekly", "mape_daily", "mase_weekly", "mase_daily"):
        best = best_baseline(baselines, field)
        mine = getattr(simulator, field)
        low = getattr(baselines[best], field) if best else None
        out[field] = None if mine is None or not low else mine / low
    return out
