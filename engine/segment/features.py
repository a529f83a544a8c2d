"""Per-user behaviour features from the canonical events, computed lazily in Polars.

For every user (those in ``users`` and those who appear in ``events``), over events up to
``as_of``:

=====================  ==================================================================
``first_at``           first event (null when none)
``last_at``            last event
``recency_days``       days from the last event to ``as_of`` (from joining when no event)
``tenure_days``        days from joining (or the first event, if earlier) to ``as_of``
``events``             events of any kind
``active_days``        distinct calendar days with an event
``orders``             distinct days with a revenue event (purchase, subscribe, renew): RFM's F
``revenue``            money in: amount of purchase + subscribe + renew
``refunds``            money returned: amount of refund events
``monetary``           revenue − refunds: RFM's M
``spend_purchase``     amount of purchases
``spend_subscription`` amount of subscribe + renew
``n_<kind>``           events of each kind present in the data (n_view, n_answer, …)
``mix_<item kind>``    share of the user's events on items of each kind (course, question…)
=====================  ==================================================================

:func:`cluster_columns` picks what clustering uses and :func:`standardise` turns it into the
matrix: log1p of the counts and amounts (heavy-tailed), plus each event kind's share of the
user's events (``share_<kind>`` = n_<kind> / events: what a user does, whatever how long they
were around), each column then centred and scaled to unit variance.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import polars as pl
import torch

from engine.data.schema import REFUND_KIND, REVENUE_KINDS
from engine.errors import EngineError

SUBSCRIPTION_KINDS = ("subscribe", "renew")
MAX_KIND_COLUMNS = 16
_SAFE = re.compile(r"[^a-z0-9_]")

BASE_COLUMNS = ("recency_days", "tenure_days", "events", "active_days", "orders", "revenue", "refunds",
                "monetary", "spend_purchase", "spend_subscription")


def _day_count(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds() / 86_400e6


def default_as_of(events: pl.LazyFrame) -> dt.datetime:
    """The moment just after the last event: every event counts, recency of the last is ~0."""
    last = events.select(pl.col("ts").max()).collect().item()
    if last is None:
        raise EngineError("the dataset has no events")
    return last + dt.timedelta(microseconds=1)


def user_features(
    events: pl.LazyFrame,
    users: pl.LazyFrame | None = None,
    items: pl.LazyFrame | None = None,
    *,
    as_of: dt.datetime | None = None,
) -> pl.LazyFrame:
    """The feature table described in the module docstring (lazy; collect it once)."""
    as_of = as_of or default_as_of(events)
    ev = events.filter(pl.col("ts") < as_of)
    kinds = _top_values(ev, "kind")
    mix: list[pl.Expr] = []
    if items is not None and "kind" in items.collect_schema():
        # one pass over the events: each carries a small code of its item's kind
        names = _top_values(items, "kind")
        codes = items.select("item_id", pl.col("kind").cast(pl.String).replace_strict(
            {k: j for j, k in enumerate(names)}, default=None, return_dtype=pl.UInt8).alias("_content"))
        ev = ev.join(codes, on="item_id", how="left")
        mix = [((pl.col("_content") == j).sum() / pl.len()).alias(f"mix_{_safe(k)}") for j, k in enumerate(names)]
    per_user = ev.group_by("user_id").agg(
        pl.col("ts").min().alias("first_at"),
        pl.col("ts").max().alias("last_at"),
        pl.len().cast(pl.Int64).alias("events"),
        pl.col("ts").dt.date().n_unique().cast(pl.Int64).alias("active_days"),
        pl.col("ts").dt.date().filter(pl.col("kind").is_in(REVENUE_KINDS)).n_unique().cast(pl.Int64).alias("orders"),
        pl.col("amount").filter(pl.col("kind").is_in(REVENUE_KINDS)).sum().alias("revenue"),
        pl.col("amount").filter(pl.col("kind") == REFUND_KIND).sum().alias("refunds"),
        pl.col("amount").filter(pl.col("kind") == "purchase").sum().alias("spend_purchase"),
        pl.col("amount").filter(pl.col("kind").is_in(SUBSCRIPTION_KINDS)).sum().alias("spend_subscription"),
        *[(pl.col("kind") == k).sum().cast(pl.Int64).alias(f"n_{_safe(k)}") for k in kinds],
        *mix,
    )
    everyone = per_user.select("user_id")
    joined = None
    if users is not None:
        has_joined = "joined_at" in users.collect_schema()
        when = pl.col("joined_at") if has_joined else pl.lit(None, dtype=pl.Datetime("us")).alias("joined_at")
        user_rows = users.select("user_id", when)
        user_rows = user_rows.filter(pl.col("joined_at").is_null() | (pl.col("joined_at") < as_of))
        everyone = pl.concat([everyone, user_rows.select("user_id")]).unique()
        joined = user_rows
    frame = everyone.join(per_user, on="user_id", how="left")
    if joined is not None:
        frame = frame.join(joined, on="user_id", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("joined_at"))
    start = pl.min_horizontal("joined_at", "first_at")
    counts = [c for c in frame.collect_schema() if c.startswith(("n_", "mix_")) or c in
              ("events", "active_days", "orders", "revenue", "refunds", "spend_purchase", "spend_subscription")]
    return (
        frame.with_columns(pl.col(c).fill_null(0) for c in counts)
        .with_columns(
            (pl.col("revenue") - pl.col("refunds")).alias("monetary"),
            _day_count(pl.lit(as_of) - pl.coalesce("last_at", start)).clip(0).fill_null(0.0).alias("recency_days"),
            _day_count(pl.lit(as_of) - start).clip(0).fill_null(0.0).alias("tenure_days"),
        )
        .select("user_id", "first_at", "last_at", *BASE_COLUMNS,
                *sorted(c for c in frame.collect_schema() if c.startswith("n_")),
                *sorted(c for c in frame.collect_schema() if c.startswith("mix_")))
        .sort("user_id")
    )


def _safe(name: str) -> str:
    return _SAFE.sub("_", str(name).lower())[:32]


def _top_values(frame: pl.LazyFrame, column: str) -> list[str]:
    """The most frequent values of ``column`` (at most MAX_KIND_COLUMNS), most frequent first."""
    counts = (frame.group_by(column).len().drop_nulls(column)
              .sort(["len", column], descending=[True, False]).head(MAX_KIND_COLUMNS).collect())
    return counts[column].cast(pl.String).to_list()


def cluster_columns(features: pl.DataFrame) -> list[str]:
    """Behaviour columns for clustering: engagement, money, per-kind counts and per-kind shares.

    Recency and tenure are left out: they say *when* a user came and went, not how they
    behave (lifecycle stages cover them). Columns that are constant are dropped.
    """
    kinds = [c for c in features.columns if c.startswith("n_")]
    wanted = ["events", "active_days", "spend_purchase", "spend_subscription", *kinds]
    wanted += [f"share_{c[2:]}" for c in kinds]
    values = transform(features, [c for c in wanted if c in features.columns or c.startswith("share_")])[0]
    names = [c for c in wanted if c in features.columns or c.startswith("share_")]
    return [c for c, col in zip(names, values.T, strict=True) if np.ptp(col) > 0]


@dataclass(frozen=True)
class Standardised:
    """The clustering matrix and how it was made (to place new users and to explain)."""

    matrix: torch.Tensor  # float32, n × d
    columns: list[str]
    mean: np.ndarray
    std: np.ndarray


def _column_expr(name: str) -> pl.Expr:
    if name.startswith("share_"):
        return (pl.col(f"n_{name[6:]}") / pl.col("events").clip(1)).cast(pl.Float64)
    if name.startswith("mix_"):
        return pl.col(name).cast(pl.Float64)
    return pl.col(name).cast(pl.Float64).clip(0).log1p()


def transform(features: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """The columns as clustering sees them: ``share_<kind>`` = n_<kind> / events and ``mix_*``
    shares as they are; everything else log1p (negative net money clipped at 0)."""
    raw = features.select(_column_expr(c).alias(c) for c in columns).to_numpy() if columns else np.empty((features.height, 0))
    return raw, list(columns)


def standardise(features: pl.DataFrame, columns: list[str] | None = None) -> Standardised:
    """z-scores of the transformed columns (see :func:`transform`)."""
    columns = columns if columns is not None else cluster_columns(features)
    if not columns:
        raise EngineError("no behaviour varies between users: nothing to cluster on")
    raw, _ = transform(features, columns)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    z = (raw - mean) / std
    return Standardised(torch.from_numpy(z.astype(np.float32)), columns, mean, std)
