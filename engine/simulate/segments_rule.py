"""A small, documented rule that assigns users to behaviour segments when none is given.

The console prefers a segmentation from :mod:`engine.segment` (``kpconsole segment run``); this
rule is the fallback, so that a dataset can be calibrated the moment it is ingested:

* ``payer`` — made any payment (purchase, subscription, renewal) in the window;
* ``contributor`` — otherwise, at least 2 contributions (questions, answers);
* ``regular`` — otherwise, active on at least the median number of days among the rest
  (and on at least 2 days);
* ``casual`` — everyone else, including users never seen active.
"""

from __future__ import annotations

import polars as pl

from engine.scalars import as_float

RULE_SEGMENTS = ("casual", "regular", "contributor", "payer")
PAYMENT_KINDS = ("purchase", "subscribe", "renew")
CONTRIBUTION_KINDS = ("ask", "answer")


def rule_segments(user_ids: pl.Series, events: pl.DataFrame, activity_kinds: list[str]) -> pl.DataFrame:
    """``user_id, segment`` for every id in ``user_ids`` (events: user_id, kind, day)."""
    per_user = events.group_by("user_id").agg(
        pl.col("kind").is_in(PAYMENT_KINDS).any().alias("paid"),
        pl.col("kind").is_in(CONTRIBUTION_KINDS).sum().alias("contributions"),
        pl.col("day").filter(pl.col("kind").is_in(activity_kinds)).n_unique().alias("active_days"),
    )
    frame = pl.DataFrame({"user_id": user_ids}).join(per_user, on="user_id", how="left").with_columns(
        pl.col("paid").fill_null(False), pl.col("contributions").fill_null(0), pl.col("active_days").fill_null(0),
    )
    rest = frame.filter(~pl.col("paid") & (pl.col("contributions") < 2))
    median = as_float(rest["active_days"].median() or 0.0)
    return frame.select(
        "user_id",
        pl.when(pl.col("paid")).then(pl.lit("payer"))
        .when(pl.col("contributions") >= 2).then(pl.lit("contributor"))
        .when(pl.col("active_days") >= max(median, 2.0)).then(pl.lit("regular"))
        .otherwise(pl.lit("casual")).alias("segment"),
    )
