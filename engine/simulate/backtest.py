"""Backtest: calibrate on the data before a cut, simulate the days after it, compare with what happened.

The simulation after the cut uses the ``organic`` policy (agents find items by their own
tastes, as they did in the data — the dataset does not say what a recommender showed), the
calibrated membership plan, and no ads, sponsorship or fees, so its ``gross`` is directly the
data's net sales (purchases + subscriptions + renewals − refunds).

Accuracy is the mean absolute percentage error over the days whose actual value is not 0::

    MAPE = 100/|D| · Σ_{d∈D} |ŝ_d − a_d| / a_d        (ŝ_d: mean over replicates)

for daily actives (users with any activity event) and daily revenue; both are also compared
by week (7-day sums), where day-to-day noise and single large purchases average out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress, scaled
from engine.simulate.calibrate import MONEY_KINDS, Calibration, calibrate
from engine.simulate.levers import Levers, Membership, Settings, Tier
from engine.simulate.policies import PolicySpec
from engine.simulate.run import SimResult, simulate
from engine.simulate.world import World

REVENUE_IN = ("purchase", "subscribe", "renew")


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

    def as_dict(self) -> dict:
        return {"cut": self.cut, "days": len(self.actual_actives), "mape_actives": self.mape_actives,
                "mape_actives_weekly": self.mape_actives_weekly, "mape_revenue": self.mape_revenue,
                "mape_revenue_weekly": self.mape_revenue_weekly,
                "actual_actives": self.actual_actives.tolist(), "actual_revenue": self.actual_revenue.tolist()}


def calibrated_levers(world: World) -> Levers:
    """The platform as calibrated: its membership plan (if any) as the one tier, no other money."""
    tiers = (Tier("plan", world.plan_price),) if world.plan_price > 0 else ()
    return Levers(membership=Membership(tiers=tiers, period_days=world.period_days))


def mape(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    """Mean absolute percentage error over the entries where ``actual`` is not 0 (None if none)."""
    keep = actual != 0
    if not keep.any():
        return None
    return float(100.0 * np.mean(np.abs(predicted[keep] - actual[keep]) / np.abs(actual[keep])))


def resolve_cut(events: pl.DataFrame, cut: dt.datetime | float) -> dt.datetime:
    """A date, or a ratio in (0, 1) of the events' time span, as the first day after the cut."""
    first, last = events["ts"].min(), events["ts"].max()
    if first is None:
        raise EngineError("no events to backtest on")
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
    """Daily actives and daily net revenue from ``cut`` for ``days`` days."""
    after = events.filter(pl.col("ts") >= cut).with_columns(
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


def run_backtest(users: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime | float, *,
                 settings: Settings, assignment: pl.DataFrame | None = None,
                 progress: Progress = no_progress) -> Backtest:
    """Calibrate before ``cut``, simulate to the last event day, and score (module docstring)."""
    cut_day = resolve_cut(events, cut)
    days = (events["ts"].max().date() - cut_day.date()).days + 1
    calibration = calibrate(users, items, events, assignment=assignment, cut=cut_day, seed=settings.seed,
                            progress=scaled(progress, 0.0, 0.3))
    world = calibration.world
    run_settings = Settings(days=days, replicates=settings.replicates, seed=settings.seed,
                            slate_size=settings.slate_size, device=settings.device,
                            tracked_pairs=settings.tracked_pairs, level=settings.level)
    result = simulate(world, PolicySpec("organic"), calibrated_levers(world), run_settings,
                      progress=scaled(progress, 0.3, 1.0))
    actives, revenue = actual_series(events, cut_day, days)
    sim_actives = result.daily("dau")[0]
    sim_revenue = result.daily("gross")[0]
    weeks = days // 7

    def weekly(predicted: np.ndarray, actual: np.ndarray) -> float | None:
        by_week = lambda v: v[:weeks * 7].reshape(weeks, 7).sum(axis=1)
        return mape(by_week(predicted), by_week(actual)) if weeks else None

    return Backtest(calibration=calibration, result=result, cut=cut_day.date().isoformat(),
                    actual_actives=actives, actual_revenue=revenue,
                    mape_actives=mape(sim_actives, actives), mape_actives_weekly=weekly(sim_actives, actives),
                    mape_revenue=mape(sim_revenue, revenue), mape_revenue_weekly=weekly(sim_revenue, revenue))
