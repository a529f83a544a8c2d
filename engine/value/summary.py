"""From transactions to the repeat-buying summary the customer-value models take.

For each customer whose first purchase falls on or before the calibration end (Fader, Hardie
& Lee 2005, "Counting your customers the easy way"):

* purchases on the same calendar day are one transaction (their amounts summed);
* ``frequency`` x — repeat transactions in the calibration period (transaction days − 1);
* ``recency`` t_x — time from the first to the last transaction in the calibration period;
* ``T`` — time from the first transaction to the end of the calibration period;
* ``monetary`` m̄_x — mean amount of the x repeat transactions (null when x = 0): the first
  transaction is left out, as the Gamma-Gamma model asks;
* ``holdout_frequency`` — transactions after the calibration end up to the observation end
  (when one is given), for checking predictions.

Times are in periods of ``period_days`` days (7: weeks, as in the CDNOW papers), measured
between calendar dates. ``calibration_end`` is the last day of the calibration period
(inclusive): CDNOW's is 1997-09-30, so a first purchase on 1997-01-01 has T = 272 / 7.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine.errors import EngineError


def daily_transactions(transactions: pl.LazyFrame) -> pl.LazyFrame:
    """``user_id, ts, amount`` rows → one row per customer and calendar day (amounts summed)."""
    return (
        transactions.select("user_id", pl.col("ts").dt.date().alias("day"), pl.col("amount").fill_null(0.0))
        .group_by("user_id", "day")
        .agg(pl.col("amount").sum())
    )


def repeat_purchase_summary(
    transactions: pl.LazyFrame,
    calibration_end: dt.date,
    *,
    observation_end: dt.date | None = None,
    period_days: float = 7.0,
) -> pl.DataFrame:
    """The (x, t_x, T, m̄) summary per customer, sorted by ``user_id``.

    >>> tx = pl.LazyFrame({"user_id": [1, 1, 1, 1], "amount": [29.33, 29.73, 14.96, 5.0],
    ...     "ts": [dt.datetime(1997, 1, 1), dt.datetime(1997, 1, 18), dt.datetime(1997, 8, 2),
    ...            dt.datetime(1997, 8, 2)]})
    >>> row = repeat_purchase_summary(tx, dt.date(1997, 9, 30)).row(0, named=True)
    >>> row["frequency"], round(row["recency"], 2), round(row["T"], 2), round(row["monetary"], 3)
    (2, 30.43, 38.86, 24.845)
    """
    if period_days <= 0:
        raise EngineError(f"period_days must be positive, not {period_days}")
    if observation_end is not None and observation_end < calibration_end:
        raise EngineError(f"the observation end {observation_end} is before the calibration end {calibration_end}")
    days = daily_transactions(transactions)
    first = days.group_by("user_id").agg(pl.col("day").min().alias("first_purchase"))
    calibration = days.filter(pl.col("day") <= calibration_end).join(first, on="user_id")
    summary = (
        calibration.group_by("user_id")
        .agg(
            (pl.len() - 1).cast(pl.Int64).alias("frequency"),
            ((pl.col("day").max() - pl.col("first_purchase").first()).dt.total_days() / period_days).alias("recency"),
            ((pl.lit(calibration_end) - pl.col("first_purchase").first()).dt.total_days() / period_days).alias("T"),
            pl.col("amount").sort_by("day").slice(1).mean().alias("monetary"),
            pl.col("first_purchase").first(),
        )
    )
    if observation_end is not None:
        holdout = (
            days.filter((pl.col("day") > calibration_end) & (pl.col("day") <= observation_end))
            .group_by("user_id")
            .agg(pl.len().cast(pl.Int64).alias("holdout_frequency"), pl.col("amount").sum().alias("holdout_amount"))
        )
        summary = summary.join(holdout, on="user_id", how="left").with_columns(
            pl.col("holdout_frequency").fill_null(0), pl.col("holdout_amount").fill_null(0.0)
        )
    return summary.sort("user_id").collect()
