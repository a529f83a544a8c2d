"""Subscription spells from billing events, as the durations the sBG model fits.

A spell starts with a ``subscribe`` event and goes on with ``renew`` events; its duration t is
the number of periods paid for (subscribe + renewals). It ends *churned* with a ``cancel``, or
when no payment came within ``period_days + grace_days`` of the last one before ``as_of``
(a lapsed card); otherwise it is still active after t periods (censored). A user who
subscribes again after a spell ended starts a new spell.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine.errors import EngineError
from engine.value.sbg import Durations

START_KINDS = ("subscribe",)
PAYMENT_KINDS = ("subscribe", "renew")
STOP_KINDS = ("cancel",)


def subscription_spells(events: pl.LazyFrame, as_of: dt.datetime, *, period_days: float = 30.0,
                        grace_days: float = 7.0) -> pl.DataFrame:
    """One row per spell: user_id, started_at, periods (paid), churned (bool), ended_at."""
    billing = (
        events.filter(pl.col("kind").is_in(PAYMENT_KINDS + STOP_KINDS) & (pl.col("ts") <= as_of))
        .select("user_id", "kind", "ts")
        .sort("user_id", "ts")
        .with_columns(pl.col("kind").is_in(START_KINDS).cum_sum().over("user_id").alias("spell"))
        .filter(pl.col("spell") > 0)  # renewals of a subscription that began before the data
    )
    lapse = pl.duration(microseconds=int((period_days + grace_days) * 86_400e6))
    return (
        billing.group_by("user_id", "spell")
        .agg(
            pl.col("ts").min().alias("started_at"),
            pl.col("kind").is_in(PAYMENT_KINDS).sum().cast(pl.Int64).alias("periods"),
            pl.col("ts").filter(pl.col("kind").is_in(STOP_KINDS)).min().alias("cancelled_at"),
            pl.col("ts").filter(pl.col("kind").is_in(PAYMENT_KINDS)).max().alias("last_payment"),
        )
        .with_columns(
            (pl.col("cancelled_at").is_not_null() | (pl.col("last_payment") + lapse < pl.lit(as_of))).alias("churned"),
        )
        .with_columns(
            pl.when(pl.col("churned")).then(pl.coalesce("cancelled_at", pl.col("last_payment") + lapse)).alias("ended_at")
        )
        .select("user_id", "started_at", "periods", "churned", "ended_at")
        .sort("user_id", "started_at")
        .collect()
    )


def spells_to_durations(spells: pl.DataFrame) -> Durations:
    """Group spells by (periods, churned) into the counts the sBG likelihood takes."""
    if spells.height == 0:
        raise EngineError("no subscriptions: the dataset has no 'subscribe' events")
    grouped = spells.group_by("periods", "churned").len().sort("periods", "churned")
    return Durations.of(grouped["periods"].to_list(), grouped["churned"].to_list(), grouped["len"].to_list())
