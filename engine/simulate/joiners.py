"""New users: how many joined each day before a cut, how many were active the day they joined,
and how many a simulation had join each day.

A user joins at ``joined_at`` or at their first event, whichever is first (as in calibration).
The visit process (BG/BB) is fitted on the days *after* joining and a simulated arrival first
visits the day after its join, so the join day's own activity — a new student's first
registration, a new member's first question — is outside both; a backtest adds it back as the
share of pre-cut joiners active on their join day times the simulated joiners of each day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.simulate.calibrate import MONEY_KINDS
from engine.simulate.run import SimResult
from engine.simulate.world import World


@dataclass(frozen=True)
class Joins:
    """Joiners per day over the days before a cut (the last entry the day before it)."""

    per_day: np.ndarray  # [days] users who joined that day
    active_first_day: np.ndarray  # [days] of them, those with an activity event that same day

    @property
    def first_day_share(self) -> float:
        """The share of joiners active on their join day (0 when nobody joined)."""
        total = self.per_day.sum()
        return float(self.active_first_day.sum() / total) if total else 0.0


def joins_before(users: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime, days: int) -> Joins:
    """Who joined on each of the ``days`` days before ``cut`` (events and users after it are not read)."""
    start = cut.date() - dt.timedelta(days=days)
    ev = events.filter(pl.col("ts") < cut).select(pl.col("user_id").cast(pl.String), "kind",
                                                  pl.col("ts").dt.date().alias("day"))
    first = ev.group_by("user_id").agg(pl.col("day").min().alias("first"))
    joined = (users.select(pl.col("user_id").cast(pl.String), pl.col("joined_at").dt.date().alias("joined"))
              if "joined_at" in users.columns else first.select("user_id", pl.lit(None, pl.Date).alias("joined")))
    joined = (joined.join(first, on="user_id", how="full", coalesce=True)
              .select("user_id", pl.min_horizontal("joined", "first").alias("day"))
              .filter((pl.col("day") >= pl.lit(start)) & (pl.col("day") < pl.lit(cut.date()))))
    active = ev.filter(~pl.col("kind").is_in(MONEY_KINDS)).select("user_id", "day").unique()
    first_day = joined.join(active, on=["user_id", "day"], how="semi")
    count = lambda frame: np.bincount((frame["day"] - start).dt.total_days().to_numpy(), minlength=days)[:days]
    return Joins(per_day=count(joined).astype(np.float64), active_first_day=count(first_day).astype(np.float64))


def simulated_joiners(result: SimResult, world: World) -> np.ndarray:
    """Arrivals who joined on each simulated day, per replicate [days, R].

    An agent who joins is alive from that day and a leaver is counted the day it leaves, so
    ``joined_d = alive_d − alive_{d−1} + churned_d``; day 0's is what the other days leave of
    the run's ``A = agents − users`` arrivals (every one of which joins on some day).
    """
    alive, churned = result.series("alive"), result.series("churned")
    joined = np.zeros_like(alive)
    joined[1:] = alive[1:] - alive[:-1] + churned[1:]
    joined[0] = (result.agents - world.users.count) - joined[1:].sum(axis=0)
    return joined
