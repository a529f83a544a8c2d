"""The per-presentation backtest: calibrate through one presentation, simulate the next from the
day its registration opens, and score its weekly registrations.

A *presentation* is the launch items (:data:`~engine.simulate.launches.LAUNCH_KINDS`) that start
on the same day (OULAD: every module presented from 2014-10-01 is presentation 2014J). Its
registration opens on the day of its first registration. For each presentation with an earlier
one that had already started by then (:func:`presentation_folds`), the backtest cuts on that
opening day: it calibrates on the events before it — so the earlier presentations' registrations,
nothing of this one's — and simulates from it to :data:`AFTER_START` days after the start, on the
registrations alone (events of kind :data:`~engine.simulate.launches.REGISTRATION`: the series it
scores is the daily registrants; withdrawals and clicks are another process). The launch
calendar (:mod:`engine.simulate.launches`) knows the schedule: that this presentation's
registration opens on the cut day, and when every presentation starts.

The opening day is where the backtest cuts, not an input the simulator reads: the cut is the
day a platform opens registration, which it knows on that day.

Next to the five baselines of every backtest it scores a **presentation-aligned naive** forecast
(:func:`aligned_naive`): the previous presentation's daily registrants, aligned on the two
registration openings (day ``h`` after this opening gets the previous one's day ``h``; only its
days before the cut are known, so any later day is forecast 0).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.scalars import as_datetime
from engine.simulate.backtest import Backtest, run_backtest
from engine.simulate.launches import LAUNCH_KINDS, REGISTRATION
from engine.simulate.levers import Settings

AFTER_START = 14
"""Days after a presentation's start that are still simulated (late registrations)."""
NAIVE = "presentation_naive"


@dataclass(frozen=True)
class Fold:
    """One per-presentation backtest: the presentation, the one before it, and the horizon."""

    start: dt.date  # the presentation's start (its items' created_at)
    opening: dt.date  # its first registration: the cut, the first simulated day
    previous_start: dt.date
    previous_opening: dt.date
    days: int  # from the opening to AFTER_START days after the start (within the data)

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "opening": self.opening.isoformat(),
                "previous_start": self.previous_start.isoformat(),
                "previous_opening": self.previous_opening.isoformat(), "days": self.days}


def _registrations(items: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """(user_id, day, start) of every registration for a launch item."""
    if not {"kind", "created_at"} <= set(items.columns):
        return pl.DataFrame(schema={"user_id": pl.String, "day": pl.Date, "start": pl.Date})
    launches = items.filter(pl.col("kind").is_in(LAUNCH_KINDS) & pl.col("created_at").is_not_null()).select(
        pl.col("item_id").cast(pl.String), pl.col("created_at").dt.date().alias("start"))
    return events.filter(pl.col("kind") == REGISTRATION).select(
        pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String),
        pl.col("ts").dt.date().alias("day")).join(launches, on="item_id").select("user_id", "day", "start")


def presentation_folds(items: pl.DataFrame, events: pl.DataFrame) -> list[Fold]:
    """Every presentation whose registration opened after an earlier presentation had started
    (and after the data's first day), in order of start (module docstring)."""
    regs = _registrations(items, events)
    if regs.height == 0:
        return []
    first = as_datetime(events["ts"].min()).date()
    last = as_datetime(events["ts"].max()).date()
    shows = regs.group_by("start").agg(pl.col("day").min().alias("opening")).sort("start").rows()
    folds = []
    for start, opening in shows:
        before = [(s, o) for s, o in shows if s < opening]
        if not before or opening <= first or opening > last:
            continue
        prev_start, prev_opening = before[-1]
        end = min(start + dt.timedelta(days=AFTER_START), last)
        folds.append(Fold(start=start, opening=opening, previous_start=prev_start, previous_opening=prev_opening,
                          days=(end - opening).days + 1))
    return folds


def aligned_naive(items: pl.DataFrame, events: pl.DataFrame, fold: Fold) -> np.ndarray:
    """The previous presentation's daily registrants (distinct users), aligned on the openings;
    0 on the days its registrations after the cut would be needed (module docstring)."""
    regs = _registrations(items, events).filter((pl.col("start") == fold.previous_start)
                                                & (pl.col("day") < fold.opening))
    days = regs.select("user_id", (pl.col("day") - fold.previous_opening).dt.total_days().alias("h")).unique()
    h = days["h"].to_numpy()
    return np.bincount(h[h < fold.days], minlength=fold.days).astype(np.float64)


@dataclass(frozen=True)
class PresentationBacktest:
    fold: Fold
    backtest: Backtest  # on the registrations: its "actives" are the daily registrants

    def as_dict(self) -> dict:
        """The fold, and the backtest's scores (the aligned naive among the baselines)."""
        return {"fold": self.fold.as_dict(), **self.backtest.as_dict()}


def run_presentation_backtest(users: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, fold: Fold, *,
                              settings: Settings, progress: Progress = no_progress) -> PresentationBacktest:
    """Calibrate before ``fold``'s opening, simulate its registrations to the end of its horizon,
    and score them next to the baselines and the aligned naive (module docstring)."""
    registrations = events.filter(pl.col("kind") == REGISTRATION)
    if registrations.height == 0:
        raise EngineError(f"no '{REGISTRATION}' events: nothing to backtest per presentation")
    cut = dt.datetime.combine(fold.opening, dt.time())
    backtest = run_backtest(users, items, registrations, cut, settings=settings, days=fold.days,
                            forecasts={NAIVE: aligned_naive(items, events, fold)}, progress=progress)
    return PresentationBacktest(fold=fold, backtest=backtest)
