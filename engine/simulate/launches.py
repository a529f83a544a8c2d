"""A launch calendar: courses that start on scheduled dates, and registrations that bunch
before each start (OULAD: module presentations, each registered for weeks to months ahead).

**What is known ahead, and why it is not leakage.** A platform schedules its courses before
it opens registration for them: a launch item's ``created_at`` is its start date (OULAD: the
module presentation's start, :mod:`engine.data.oulad`), set in advance and stored with the
catalog. A backtest reads the start dates of the launches after the cut — what the platform's
schedule already said on the cut day — and nothing else of them: not their registrations, and
not when each opened registration (OULAD publishes no opening date, and the first registration
is an event after the cut). A launch with no registration before the cut opens ``lead`` days
before its start, ``lead`` the median over the launches that started before the cut of
(start − first registration), and never before the cut itself; one already open keeps the day
of its first registration (before the cut). Everything else is fitted on registrations before
the cut:

* **profile** ``f_k`` — the share of a launch's registrations on day ``k`` relative to its
  start (``k < 0``: before it), pooled over the launch items that started in the year before
  the cut (every launch item that started before it, when none did): the latest launches are
  the likeliest to look like the next;
* **size** — the mean registrations per launch item over those same launches;
* **expected registrations** on day ``t``: ``Σ_j size · f_{t−s_j} / F_j`` over the launch items
  ``j`` (start ``s_j``) open on day ``t``, ``F_j`` the profile's mass from ``j``'s opening on — a
  launch that opens later than the profile's draws the same registrations in the same
  proportions over fewer days.

The calendar reaches a simulation as the multipliers ``expected_t / level`` (:attr:`LaunchCalendar.multipliers`),
``level`` the mean daily registrations over the same year before the cut, on which the visit
rates were fitted: a day with twice the year's mean registrations expected has twice the
visits and twice the joiners.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.scalars import as_datetime, as_float

LAUNCH_KINDS = ("course", "live")
"""Item kinds that start on a date (their ``created_at``) and are registered for ahead."""
REGISTRATION = "enroll"
"""The event kind of a registration."""
SIZE_DAYS = 365


@dataclass(frozen=True)
class LaunchCalendar:
    """Expected registrations on each simulated day from the launch schedule (module docstring)."""

    first_day: int  # k of profile[0]: days from a start to its earliest registration (negative)
    profile: np.ndarray  # [K] share of a launch's registrations on each day from first_day
    lead: int  # days from opening to start of a launch not yet open at the cut
    window: int  # days before the cut the level is the mean of (a year, or all there are)
    size: float  # registrations per launch item
    launches: int  # launch items with registrations expected after the cut
    expected: np.ndarray  # [days] registrations expected on each simulated day
    level: float  # mean registrations per day over the year before the cut

    @property
    def multipliers(self) -> np.ndarray:
        """Each simulated day's expected registrations over the year's mean before the cut."""
        return self.expected / self.level

    def as_dict(self) -> dict:
        """What the calendar is made of (for a backtest's summary)."""
        return {"launches": self.launches, "size": self.size, "lead_days": self.lead, "level_per_day": self.level,
                "expected_registrations": float(self.expected.sum())}


def launch_calendar(items: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime, days: int,
                    window: int = SIZE_DAYS) -> LaunchCalendar | None:
    """The launch calendar of the ``days`` days from ``cut`` (module docstring); None when the
    data has no launch items with a start date or no registration of one that started before the cut."""
    if not {"kind", "created_at"} <= set(items.columns):
        return None
    day0 = cut.date()
    launches = items.filter(pl.col("kind").is_in(LAUNCH_KINDS) & pl.col("created_at").is_not_null()).select(
        pl.col("item_id").cast(pl.String), pl.col("created_at").dt.date().alias("start"))
    regs = events.filter((pl.col("kind") == REGISTRATION) & (pl.col("ts") < cut)).select(
        pl.col("item_id").cast(pl.String), "ts", pl.col("ts").dt.date().alias("day"))
    mine = regs.join(launches, on="item_id").with_columns((pl.col("day") - pl.col("start")).dt.total_days().alias("k"))
    started = mine.filter(pl.col("start") < pl.lit(day0))
    if started.height == 0:
        return None
    recent = started.filter(pl.col("start") >= pl.lit(day0 - dt.timedelta(days=window)))
    started = recent if recent.height else started
    k = started["k"].to_numpy()
    first_day = int(k.min())
    profile = np.bincount(k - first_day).astype(np.float64) / len(k)
    opened = mine.group_by("item_id").agg(pl.col("day").min().alias("opened"))
    leads = (started.group_by("item_id").agg((pl.col("start").first() - pl.col("day").min()).dt.total_days().alias("lead")))
    lead = int(np.median(leads["lead"].to_numpy()))
    size = as_float(started.group_by("item_id").len()["len"].mean())
    schedule = launches.join(opened, on="item_id", how="left")
    expected = np.zeros(days)
    horizon = np.arange(days)
    expecting = 0
    for start, opening in schedule.select("start", "opened").iter_rows():
        s = (start - day0).days  # the start's index among the simulated days
        o = (opening - day0).days if opening is not None else max(0, s - lead)
        first = max(o - s - first_day, 0)  # the profile's first entry on or after the opening
        mass = profile[first:].sum()
        idx = horizon - s - first_day
        on = (horizon >= o) & (idx >= first) & (idx < len(profile))
        if mass <= 0 or not on.any():
            continue
        expected[on] += size * profile[idx[on]] / mass
        expecting += 1
    since = min(window, (day0 - as_datetime(regs["ts"].min()).date()).days)
    level = regs.filter(pl.col("day") >= pl.lit(day0 - dt.timedelta(days=since))).height / max(since, 1)
    if level <= 0:
        return None
    return LaunchCalendar(first_day=first_day, profile=profile, lead=lead, window=since, size=size,
                          launches=expecting, expected=expected, level=level)

