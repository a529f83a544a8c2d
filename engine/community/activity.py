"""Daily, weekly and monthly active users: rolling counts of distinct people, day by day.

A person is *active* on a day when they have at least one event that day (any kind: a view, an
answer, a purchase…). For every calendar day ``d`` from the first event's day to the last's:

* DAU_d = |{u : u has an event on day d}|;
* WAU_d = |{u : u has an event on a day in (d − 7, d]}|  (the 7 days ending with d);
* MAU_d = |{u : u has an event on a day in (d − 30, d]}| (the 30 days ending with d).

DAU/MAU ("stickiness") is then the share of the month's actives who come on a given day.
In the first 6 (29) days the week (month) window reaches back before the data, so WAU and MAU
there count fewer days than their name says.

**How, without a window per day.** A person active on day ``a`` counts on days ``a … a + w − 1``
of a ``w``-day window. Their active days, sorted, split into runs wherever two consecutive
active days are more than ``w`` apart; a run from ``s`` to ``e`` covers exactly the days
``s … e + w − 1`` (the intervals of its days overlap or touch), and no two runs overlap. So each
run adds +1 at ``s`` and −1 at ``e + w``, and the running sum of these steps over the calendar is
the number of distinct people in each day's window: O(n log n) in the person-days, whatever ``w``.
"""

from __future__ import annotations

import polars as pl

from engine.errors import EngineError

WEEK_DAYS, MONTH_DAYS = 7, 30
COLUMNS = {"day": pl.Date, "dau": pl.Int64, "wau": pl.Int64, "mau": pl.Int64}


def _covered(person_days: pl.LazyFrame, window: int, name: str) -> pl.LazyFrame:
    """Day → people with an event in the ``window`` days ending that day (days as integers;
    only days where the count changes)."""
    runs = (
        person_days.sort("user_id", "d")
        .with_columns(starts=(pl.col("d").diff().over("user_id").fill_null(window + 1) > window).cum_sum())
        .group_by("starts")
        .agg(pl.col("d").min().alias("first"), pl.col("d").max().alias("last"))
    )
    steps = pl.concat([
        runs.select(pl.col("first").alias("d"), pl.lit(1, pl.Int64).alias("step")),
        runs.select((pl.col("last") + window).alias("d"), pl.lit(-1, pl.Int64).alias("step")),
    ])
    return steps.group_by("d").agg(pl.col("step").sum().alias(name))


def active_users(events: pl.LazyFrame, *, week_days: int = WEEK_DAYS, month_days: int = MONTH_DAYS) -> pl.DataFrame:
    """DAU, WAU and MAU of every day from the first event's day to the last's (see the module
    docstring); ``week_days`` and ``month_days`` set the two rolling windows.

    ``events`` needs ``user_id`` and ``ts`` (rows with either missing are left out). Returns
    ``day`` (Date), ``dau``, ``wau``, ``mau`` (Int64), one row per calendar day, in order; no
    rows when there are no events.

    >>> import datetime as dt
    >>> ev = pl.LazyFrame({"user_id": [1, 1, 2], "ts": [dt.datetime(2026, 1, 1, 9), dt.datetime(2026, 1, 3),
    ...                                               dt.datetime(2026, 1, 3, 18)]})
    >>> active_users(ev, week_days=2)["wau"].to_list()
    [1, 1, 2]
    """
    if week_days < 1 or month_days < 1:
        raise EngineError(f"active users: windows must be at least one day (got {week_days} and {month_days})")
    person_days = (
        events.select("user_id", "ts")
        .drop_nulls()
        .select("user_id", pl.col("ts").dt.date().cast(pl.Int32).alias("d"))
        .unique()
        .collect()
    )
    if person_days.height == 0:
        return pl.DataFrame(schema=COLUMNS)
    table = person_days.lazy().select(pl.int_range(pl.col("d").min(), pl.col("d").max() + 1, dtype=pl.Int32).alias("d"))
    for window, name in ((1, "dau"), (week_days, "wau"), (month_days, "mau")):
        table = table.join(_covered(person_days.lazy(), window, name), on="d", how="left")
    counted = ("dau", "wau", "mau")
    return (
        table.sort("d")
        .with_columns(pl.col(c).fill_null(0).cum_sum() for c in counted)
        .select(pl.col("d").cast(pl.Date).alias("day"), *(pl.col(c).cast(pl.Int64) for c in counted))
        .collect()
    )
