"""Backtest: calibrate on the data before a cut, simulate the days after it, compare with what happened.

The simulation after the cut uses the ``organic`` policy (agents find items by their own
tastes, as they did in the data — the dataset does not say what a recommender showed), the
calibrated membership plan, and no ads, sponsorship or fees, so its ``gross`` is directly the
data's net sales (purchases + subscriptions + renewals − refunds).

Accuracy is the mean absolute percentage error over the days whose actual value is not 0::

    MAPE = 100/|D| · Σ_{d∈D} |ŝ_d − a_d| / a_d        (ŝ_d: mean over replicates)

for daily actives (users with any activity event) and daily revenue; both are also compared
by week (7-day sums), where day-to-day noise and single large purchases average out.

**Baselines.** The same days are forecast by the baselines of :mod:`engine.simulate.baselines`
(naive, seasonal-naive, the mean and the weekday profile of the last 28 days, exponential
smoothing) from the same series before the cut (at most 52 weeks of it), and every forecast —
the simulator's mean path and each baseline's — gets the same MAPE and MASE, by day and by
week; ``ratio_to_best`` divides the simulator's score by the best baseline's.

**Two kinds of interval.** The simulator's mean path has the Student-t interval of the mean
over replicates (:func:`~engine.simulate.intervals.mean_interval`): where the model's expected
value lies. Where *one* future falls is the predictive band of the replicates' own daily values
and of their weekly sums (:func:`~engine.simulate.intervals.predictive_band`: their 2.5–97.5 %
quantiles from 40 replicates, the t prediction interval below; never below 0 for a series
that cannot be); ``coverage_weekly`` is the share of the held-out weeks whose actual sum falls
inside that band (about 0.95 for a well-calibrated model).

**The calendar.** Visits and arrivals in the data follow the calendar (fewer on a Q&A site's
weekends, registrations bunched before a course starts); the calibrated visit probabilities and
arrival rate do not. Before the cut (:mod:`engine.simulate.calendar`): the daily actives of the
last 8 weeks give one visit multiplier per weekday, those of the last one or two years (where
there are 400 days) one per week of the year, and the new users per day a trend in arrivals;
where the data has courses with start dates, the launch calendar
(:mod:`engine.simulate.launches`) replaces the yearly profile and the trend. The simulation
multiplies each day's visit probabilities by ``weekday × season`` and draws its arrivals at the
rate ``season × trend`` (:attr:`~engine.simulate.world.World.arrival_weights`).

**Level uncertainty.** The replicates of one calibration differ by its people's draws, not by
how far the calibration itself is off, so their band alone covers too few real weeks. The local
level model fitted on the weekly actives before the cut (:mod:`engine.simulate.level`) gives each
replicate its own mean-one random walk of the level, a step a week, multiplying its visit
probabilities. Not where the data has a launch calendar: the launches' bunched registrations
read as a level that jumps by half every week (OULAD: a fitted σ of 0.56–0.81 a week), and
paths drawn with that drift explode.

**Join days.** The visit process is fitted on the days after joining and a simulated arrival
first visits the day after it joins (:mod:`engine.simulate.joiners`); the simulated actives of a
day are its visitors plus its joiners times the share of the pre-cut joiners who were active on
the day they joined (all of them in OULAD, where joining is the first registration).

**Community.** Where the data has questions, the simulator's new questions (a growing catalog:
:mod:`engine.simulate.questions`) are set next to the real ones created after the cut
(:func:`actual_community`): how many were asked, the share with an answer within the simulated
horizon, and the mean days from asking to the first answer (calendar days: 0 = the same day)
— the same definitions on both sides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress, scaled
from engine.scalars import as_datetime
from engine.simulate.baselines import (
    BASELINES,
    HISTORY_DAYS,
    WEEK,
    Score,
    best_baseline,
    forecast_baselines,
    mape,
    ratios_to_best,
    score_forecast,
    weekly_sums,
)
from engine.simulate.calendar import (
    YEAR,
    Trend,
    arrival_trend,
    weekday_visit_multipliers,
    yearly_visit_multipliers,
)
from engine.simulate.calibrate import ARRIVAL_WINDOW_DAYS, MONEY_KINDS, Calibration, calibrate, purchases_as_visits
from engine.simulate.intervals import at_least_zero, mean_interval, predictive_band, share_inside
from engine.simulate.joiners import joins_before, simulated_joiners
from engine.simulate.launches import SIZE_DAYS, launch_calendar
from engine.simulate.level import NO_DRIFT, fit_level_drift
from engine.simulate.levers import Levers, Membership, Settings, Tier
from engine.simulate.policies import PolicySpec
from engine.simulate.run import SimResult, simulate
from engine.simulate.world import World

REVENUE_IN = ("purchase", "subscribe", "renew")
SERIES = ("actives", "revenue")
"""The scored series: daily actives (KPI ``dau``) and daily net revenue (KPI ``gross``)."""
COMMUNITY = ("questions_asked", "answer_rate", "time_to_first_answer")
"""The Q&A figures set next to the data's: run totals of these KPIs."""

__all__ = ["BASELINES", "Backtest", "SeriesScores", "actual_community", "actual_series", "backtest_calendar",
           "calibrated_levers", "mape", "resolve_cut", "run_backtest", "score_series", "weekday_visit_multipliers"]


@dataclass(frozen=True)
class SeriesScores:
    """One scored series of a backtest: the simulator and every baseline on the same days, and
    the simulator's bands (daily arrays over the horizon, weekly over its whole weeks)."""

    simulator: Score
    baselines: dict[str, Score]
    forecasts: dict[str, np.ndarray]  # each baseline's daily forecast
    mean: np.ndarray  # the simulator's mean path
    mean_low: np.ndarray  # the interval of the mean
    mean_high: np.ndarray
    low: np.ndarray  # the predictive band
    high: np.ndarray
    weekly_actual: np.ndarray
    weekly_mean: np.ndarray
    weekly_mean_low: np.ndarray
    weekly_mean_high: np.ndarray
    weekly_low: np.ndarray
    weekly_high: np.ndarray
    coverage_daily: float | None
    coverage_weekly: float | None

    def as_dict(self) -> dict:
        """The scores, the best baseline by weekly MAPE, the ratios and the weekly bands."""
        r = lambda v: [float(x) for x in v]
        return {"simulator": self.simulator.as_dict(),
                "baselines": {name: s.as_dict() for name, s in self.baselines.items()},
                "best_baseline": best_baseline(self.baselines),
                "ratio_to_best": ratios_to_best(self.simulator, self.baselines),
                "coverage_weekly": self.coverage_weekly, "coverage_daily": self.coverage_daily,
                "weekly": {"actual": r(self.weekly_actual), "mean": r(self.weekly_mean),
                           "mean_low": r(self.weekly_mean_low), "mean_high": r(self.weekly_mean_high),
                           "low": r(self.weekly_low), "high": r(self.weekly_high)}}


def score_series(replicates: np.ndarray, actual: np.ndarray, history: np.ndarray,
                 level: float = 0.95, extra: dict[str, np.ndarray] | None = None) -> SeriesScores:
    """Score the simulated ``replicates`` [days, R] and every baseline (forecast from
    ``history``, the days before the cut; ``extra``: more forecasts by name) against ``actual``
    [days] (module docstring)."""
    replicates = np.asarray(replicates, dtype=np.float64)
    days = len(actual)
    mean, mean_low, mean_high = mean_interval(replicates, level, axis=1)
    low, high = predictive_band(replicates, level, axis=1)
    mean_low, low = at_least_zero(mean_low, replicates), at_least_zero(low, replicates)  # counts stay counts
    weekly = weekly_sums(replicates)  # [weeks, R]
    w_mean, w_mean_low, w_mean_high = mean_interval(weekly, level, axis=1)
    w_low, w_high = predictive_band(weekly, level, axis=1) if len(weekly) else (np.zeros(0), np.zeros(0))
    w_mean_low, w_low = at_least_zero(w_mean_low, weekly), at_least_zero(w_low, weekly)
    weekly_actual = weekly_sums(actual)
    forecasts = {name: f for name, f in forecast_baselines(history, days).items() if f is not None} | (extra or {})
    return SeriesScores(
        simulator=score_forecast(mean, actual, history),
        baselines={name: score_forecast(f, actual, history) for name, f in forecasts.items()},
        forecasts=forecasts, mean=mean, mean_low=mean_low, mean_high=mean_high, low=low, high=high,
        weekly_actual=weekly_actual, weekly_mean=w_mean, weekly_mean_low=w_mean_low, weekly_mean_high=w_mean_high,
        weekly_low=w_low, weekly_high=w_high, coverage_daily=share_inside(actual, low, high),
        coverage_weekly=share_inside(weekly_actual, w_low, w_high))


@dataclass(frozen=True)
class Backtest:
    calibration: Calibration
    result: SimResult
    cut: str  # first simulated day
    actual_actives: np.ndarray  # [days]
    actual_revenue: np.ndarray  # [days]
    mape_actives: float | None
    mape_actives_weekly: float | None
    mape_revenue: float | None
    mape_revenue_weekly: float | None
    history_days: int  # days before the cut the baselines saw
    weekday_multipliers: dict[str, float]  # visit multiplier by weekday name (Mon … Sun)
    scores: dict[str, SeriesScores]  # by SERIES
    community: dict[str, dict[str, float | None]] | None = None  # by COMMUNITY: simulated (mean, low, high), actual
    calendar: dict = field(default_factory=dict)  # what the calendar was made of (BacktestCalendar.described)
    simulated_actives: np.ndarray | None = None  # [days, R]: visitors + joiners active on their join day

    def as_dict(self) -> dict:
        """The MAPEs, and for actives at the top (for revenue under ``revenue``) the simulator's
        and each baseline's scores, the ratios to the best baseline and the predictive bands;
        for data with questions, ``community``: each Q&A figure simulated and actual."""
        actives = self.scores["actives"].as_dict()
        return {"cut": self.cut, "days": len(self.actual_actives), "mape_actives": self.mape_actives,
                "mape_actives_weekly": self.mape_actives_weekly, "mape_revenue": self.mape_revenue,
                "mape_revenue_weekly": self.mape_revenue_weekly, "history_days": self.history_days,
                "weekday_multipliers": self.weekday_multipliers, "calendar": self.calendar,
                **actives, "revenue": self.scores["revenue"].as_dict(),
                **({"community": self.community} if self.community is not None else {}),
                "actual_actives": self.actual_actives.tolist(), "actual_revenue": self.actual_revenue.tolist()}


def calibrated_levers(world: World) -> Levers:
    """The platform as calibrated: its membership plan (if any) as the one tier, no other money."""
    tiers = (Tier("plan", world.plan_price),) if world.plan_price > 0 else ()
    return Levers(membership=Membership(tiers=tiers, period_days=world.period_days))


def resolve_cut(events: pl.DataFrame, cut: dt.datetime | float) -> dt.datetime:
    """A date, or a ratio in (0, 1) of the events' time span, as the first day after the cut."""
    lo, hi = events["ts"].min(), events["ts"].max()
    if lo is None:
        raise EngineError("no events to backtest on")
    first, last = as_datetime(lo), as_datetime(hi)
    if isinstance(cut, float):
        if not 0.0 < cut < 1.0:
            raise EngineError(f"cut ratio {cut} must be between 0 and 1")
        cut = first + (last - first) * cut
    day = dt.datetime.combine(cut.date(), dt.time())
    if not first.date() < day.date() <= last.date():
        raise EngineError(f"cut {day:%Y-%m-%d} must fall after the first event day ({first:%Y-%m-%d}) "
                          f"and not after the last ({last:%Y-%m-%d})")
    return day


def actual_series(events: pl.DataFrame, cut: dt.datetime, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily actives and daily net revenue from ``cut`` for ``days`` days (0 on a day without)."""
    after = events.filter(pl.col("ts") >= dt.datetime.combine(cut.date(), dt.time())).with_columns(
        (pl.col("ts").dt.date() - pl.lit(cut.date())).dt.total_days().alias("day")).filter(pl.col("day") < days)
    actives = after.filter(~pl.col("kind").is_in(MONEY_KINDS)).group_by("day").agg(pl.col("user_id").n_unique())
    money = after.filter(pl.col("kind").is_in([*REVENUE_IN, "refund"])).with_columns(
        pl.when(pl.col("kind") == "refund").then(-pl.col("amount")).otherwise(pl.col("amount")).alias("net"))
    revenue = money.group_by("day").agg(pl.col("net").sum())
    a = np.zeros(days)
    r = np.zeros(days)
    a[actives["day"].to_numpy()] = actives["user_id"].to_numpy()
    r[revenue["day"].to_numpy()] = revenue["net"].to_numpy()
    return a, r


def actual_community(items: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime, days: int) -> dict[str, float | None]:
    """The questions created from ``cut`` for ``days`` days: how many, the share with an ``answer``
    event within those days, and the mean calendar days from creation to the first (0: the same
    day; None when none was answered)."""
    start, end = cut.date(), cut.date() + dt.timedelta(days=days)
    day = lambda col: (pl.col(col).dt.date() - pl.lit(start)).dt.total_days()
    asked = (items.filter((pl.col("kind") == "question") & (pl.col("created_at").dt.date() >= pl.lit(start))
                          & (pl.col("created_at").dt.date() < pl.lit(end)))
             .select(pl.col("item_id").cast(pl.String), day("created_at").alias("asked")))
    answers = (events.filter(pl.col("kind") == "answer").group_by(pl.col("item_id").cast(pl.String))
               .agg(pl.col("ts").min().alias("first")).select("item_id", day("first").alias("answered")))
    waits = (asked.join(answers, on="item_id", how="inner")
             .filter((pl.col("answered") >= pl.col("asked")) & (pl.col("answered") < days))
             .select(pl.col("answered") - pl.col("asked"))).to_series()
    return {"questions_asked": float(asked.height),
            "answer_rate": len(waits) / asked.height if asked.height else None,
            "time_to_first_answer": float(waits.mean()) if len(waits) else None}  # type: ignore[arg-type]


def _community(result: SimResult, actual: dict[str, float | None], level: float) -> dict | None:
    """Each Q&A figure simulated (run total: mean and interval over replicates) and actual; None
    when neither the data nor the simulation has a question."""
    if not actual["questions_asked"] and not result.totals("questions_asked").any():
        return None
    summary = result.summary(level)
    return {name: {"simulated": summary[name]["mean"], "low": summary[name]["low"], "high": summary[name]["high"],
                   "actual": actual[name]} for name in COMMUNITY}


@dataclass(frozen=True)
class BacktestCalendar:
    """The calendar a backtest simulates with (module docstring), one entry per simulated day."""

    visits: np.ndarray  # multiplier of the visit probabilities: weekday × season
    arrivals: np.ndarray  # arrival weights: season × trend
    arrivals_per_day: float  # the rate the weights multiply
    first_day_share: float  # joiners active on their join day, before the cut
    weekdays: np.ndarray  # [7] from the first simulated day (ones without weekdays)
    described: dict  # what it is made of, for the summary

    def weekday_names(self, cut: dt.datetime) -> dict[str, float]:
        """The weekday multipliers by weekday name (Mon … Sun)."""
        return {(cut + dt.timedelta(days=k)).strftime("%a"): float(self.weekdays[k]) for k in range(WEEK)}


def backtest_calendar(users: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime, days: int,
                      history: np.ndarray, arrivals_per_day: float, *, weekdays: bool = True,
                      seasons: bool = True) -> BacktestCalendar:
    """The calendar of the ``days`` days from ``cut`` from what happened before it: ``history``
    the daily actives (its last entry the day before the cut), ``arrivals_per_day`` the
    calibrated rate; ``weekdays=False`` leaves out the weekday profile, ``seasons=False`` the
    yearly profile, the launch calendar and the trend."""
    weekday = weekday_visit_multipliers(history, max(days, WEEK)) if weekdays else np.ones(max(days, WEEK))
    known = (cut.date() - as_datetime(events["ts"].min()).date()).days
    joins = joins_before(users, events, cut, min(known, SIZE_DAYS))
    launches = launch_calendar(items, events, cut, days) if seasons else None
    described: dict = {"first_day_share": joins.first_day_share}
    if launches is not None:
        season = trend = launches.multipliers
        rate = float(joins.per_day[-launches.window:].mean())
        described["launches"] = launches.as_dict()
    else:
        season = yearly_visit_multipliers(history[-settled_days(users, events, cut, known):], days) if seasons \
            else np.ones(days)
        fit = arrival_trend(joins.per_day) if seasons else Trend(growth=0.0, days=0)
        trend = season * fit.weights(days, lag=min(ARRIVAL_WINDOW_DAYS, known) / 2)
        rate = arrivals_per_day
        described.update(yearly=bool((season != 1.0).any()), trend_growth_per_day=fit.growth,
                         trend_days=fit.days, arrivals_factor_last_day=float(trend[-1] / season[-1]))
    return BacktestCalendar(visits=weekday[:days] * season, arrivals=trend, arrivals_per_day=rate,
                            first_day_share=joins.first_day_share, weekdays=weekday[:WEEK], described=described)


def settled_days(users: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime, known: int) -> int:
    """The days before ``cut`` since half of the users who joined in the ``known`` days before it
    had joined: a yearly profile is fitted on those only, as a year in which the population was
    still arriving has the arrivals' shape, not the season's (CDNOW's cohort joined in its first
    twelve weeks, and those weeks hold three times the actives of the same weeks a year later)."""
    joined = joins_before(users, events, cut, known).per_day
    if joined.sum() == 0:
        return known
    return known - int(np.searchsorted(np.cumsum(joined), joined.sum() / 2))


def run_backtest(users: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime | float, *,
                 settings: Settings, assignment: pl.DataFrame | None = None, weekdays: bool = True,
                 seasons: bool = True, level: bool = True, days: int | None = None,
                 forecasts: dict[str, np.ndarray] | None = None, progress: Progress = no_progress) -> Backtest:
    """Calibrate before ``cut``, simulate ``days`` days (default: to the last event day), and
    score (module docstring); ``weekdays`` and ``seasons`` as in :func:`backtest_calendar`;
    ``level=False`` leaves out the level's drift (every replicate at the calibrated level);
    ``forecasts`` are more baselines (name → daily forecast over the horizon), scored with the rest."""
    log = purchases_as_visits(events)  # a purchases-only log: its purchase days are its actives
    cut_day = resolve_cut(log, cut)
    days = days or (as_datetime(log["ts"].max()).date() - cut_day.date()).days + 1
    first_day = as_datetime(log["ts"].min()).date()
    history_days = min(HISTORY_DAYS, (cut_day.date() - first_day).days)
    history_days = history_days // WEEK * WEEK or history_days  # whole weeks ending the day before the cut
    hist_actives, hist_revenue = actual_series(log, cut_day - dt.timedelta(days=history_days), history_days)
    yearly_days = min(2 * YEAR, (cut_day.date() - first_day).days)
    hist_yearly, _ = actual_series(log, cut_day - dt.timedelta(days=yearly_days), yearly_days)
    calibration = calibrate(users, items, events, assignment=assignment, cut=cut_day, seed=settings.seed,
                            progress=scaled(progress, 0.0, 0.3))
    calendar = backtest_calendar(users, items, log, cut_day, days, hist_yearly,
                                 calibration.world.arrivals_per_day, weekdays=weekdays, seasons=seasons)
    world = replace(calibration.world, arrivals_per_day=calendar.arrivals_per_day, arrival_weights=calendar.arrivals)
    drift = fit_level_drift(hist_actives) if level and "launches" not in calendar.described else NO_DRIFT
    calendar.described["level"] = drift.as_dict()
    visits = (calendar.visits if drift.sigma == 0
              else calendar.visits[:, None] * drift.multipliers(settings.seed, settings.replicates, days))
    run_settings = Settings(days=days, replicates=settings.replicates, seed=settings.seed,
                            slate_size=settings.slate_size, device=settings.device,
                            tracked_pairs=settings.tracked_pairs, level=settings.level)
    result = simulate(world, PolicySpec("organic"), calibrated_levers(world), run_settings,
                      visit_multipliers=visits, progress=scaled(progress, 0.3, 1.0))
    actives, revenue = actual_series(log, cut_day, days)
    simulated = result.series("dau") + calendar.first_day_share * simulated_joiners(result, world)
    community = _community(result, actual_community(items, log, cut_day, days), settings.level)
    scores = {"actives": score_series(simulated, actives, hist_actives, settings.level, forecasts),
              "revenue": score_series(result.series("gross"), revenue, hist_revenue, settings.level)}
    a, r = scores["actives"].simulator, scores["revenue"].simulator
    return Backtest(calibration=calibration, result=result, cut=cut_day.date().isoformat(),
                    actual_actives=actives, actual_revenue=revenue,
                    mape_actives=a.mape_daily, mape_actives_weekly=a.mape_weekly,
                    mape_revenue=r.mape_daily, mape_revenue_weekly=r.mape_weekly,
                    history_days=history_days, scores=scores, community=community,
                    weekday_multipliers=calendar.weekday_names(cut_day), calendar=calendar.described,
                    simulated_actives=simulated)
