"""Lifecycle stages from activity windows and billing state.

Activity is any event except billing stops and refunds (``cancel``, ``unenroll``,
``refund``); a user who never acted counts from the day they joined. At ``as_of``, the first
rule that holds gives the stage:

1. **churned** — the user's last event is a billing stop (``cancel``/``unenroll``) with no
   activity after it, or the last activity is more than ``churned_days`` (180) old;
2. **new** — first seen (joined or first event) within the last ``new_days`` (30);
3. **reactivated** — active within ``active_days`` (30) after a silence of at least
   ``reactivation_gap_days`` (90) between two active days;
4. **active** — last activity within ``active_days`` (30);
5. **at_risk** — last activity ``active_days``–``dormant_days`` (30–90) ago;
6. **dormant** — last activity ``dormant_days``–``churned_days`` (90–180) ago.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import polars as pl

from engine.errors import EngineError

STOP_KINDS = ("cancel", "unenroll")
NOT_ACTIVITY = (*STOP_KINDS, "refund")
STAGES = ("new", "active", "reactivated", "at_risk", "dormant", "churned")


@dataclass(frozen=True)
class LifecycleThresholds:
    """Day thresholds of the stages (see the module docstring)."""

    new_days: float = 30.0
    active_days: float = 30.0
    dormant_days: float = 90.0
    churned_days: float = 180.0
    reactivation_gap_days: float = 90.0

    def check(self) -> None:
        if not 0 < self.active_days <= self.dormant_days <= self.churned_days:
            raise EngineError("lifecycle thresholds need 0 < active_days ≤ dormant_days ≤ churned_days")
        if self.new_days <= 0 or self.reactivation_gap_days <= 0:
            raise EngineError("lifecycle new_days and reactivation_gap_days must be positive")

    def as_dict(self) -> dict:
        return asdict(self)


def _days(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds() / 86_400e6


def lifecycle_stages(
    events: pl.LazyFrame,
    users: pl.LazyFrame | None,
    as_of: dt.datetime,
    thresholds: LifecycleThresholds = LifecycleThresholds(),
) -> pl.DataFrame:
    """user_id, stage, days_since_last, days_since_first, last_active_at, stopped_at, gap_days."""
    thresholds.check()
    ev = events.filter(pl.col("ts") < as_of).select("user_id", "kind", "ts")
    activity = ev.filter(~pl.col("kind").is_in(NOT_ACTIVITY))
    per_user = ev.group_by("user_id").agg(
        pl.col("ts").min().alias("first_event_at"),
        pl.col("ts").filter(pl.col("kind").is_in(STOP_KINDS)).max().alias("stopped_at"),
    )
    last_active = activity.group_by("user_id").agg(pl.col("ts").max().alias("last_active_at"))
    window_start = as_of - dt.timedelta(days=thresholds.active_days)
    days = activity.select("user_id", pl.col("ts").dt.date().alias("day")).unique().sort("user_id", "day")
    gaps = (
        days.with_columns(_days(pl.col("day") - pl.col("day").shift(1).over("user_id")).alias("gap"))
        .filter(pl.col("day") >= window_start.date())
        .group_by("user_id").agg(pl.col("gap").max().alias("gap_days"))
    )
    everyone = ev.select("user_id").unique()
    if users is not None:
        schema = users.collect_schema()
        when = pl.col("joined_at") if "joined_at" in schema else pl.lit(None, dtype=pl.Datetime("us")).alias("joined_at")
        joined = users.select("user_id", when)
        joined = joined.filter(pl.col("joined_at").is_null() | (pl.col("joined_at") < as_of))
        everyone = pl.concat([everyone, joined.select("user_id")]).unique().join(joined, on="user_id", how="left")
    else:
        everyone = everyone.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("joined_at"))
    frame = (
        everyone.join(per_user, on="user_id", how="left")
        .join(last_active, on="user_id", how="left")
        .join(gaps, on="user_id", how="left")
        .with_columns(pl.min_horizontal("joined_at", "first_event_at").alias("first_seen_at"))
        .with_columns(
            _days(pl.lit(as_of) - pl.coalesce("last_active_at", "first_seen_at")).alias("days_since_last"),
            _days(pl.lit(as_of) - pl.col("first_seen_at")).alias("days_since_first"),
        )
    )
    t = thresholds
    stopped = pl.col("stopped_at").is_not_null() & (
        pl.col("last_active_at").is_null() | (pl.col("stopped_at") >= pl.col("last_active_at"))
    )
    since = pl.col("days_since_last")
    stage = (
        pl.when(stopped | (since > t.churned_days)).then(pl.lit("churned"))
        .when(pl.col("days_since_first") <= t.new_days).then(pl.lit("new"))
        .when((since <= t.active_days) & (pl.col("gap_days") >= t.reactivation_gap_days)).then(pl.lit("reactivated"))
        .when(since <= t.active_days).then(pl.lit("active"))
        .when(since <= t.dormant_days).then(pl.lit("at_risk"))
        .otherwise(pl.lit("dormant"))
    )
    return (
        frame.with_columns(stage.alias("stage"))
        .select("user_id", "stage", "days_since_last", "days_since_first", "last_active_at", "stopped_at", "gap_days")
        .sort("user_id")
        .collect()
    )


def rule_of(stage: str, thresholds: LifecycleThresholds = LifecycleThresholds()) -> str:
    """The rule that gives ``stage``, with its thresholds, in words."""
    t = thresholds
    return {
        "churned": f"last event is a cancellation, or no activity for more than {t.churned_days:g} days",
        "new": f"first seen within the last {t.new_days:g} days",
        "reactivated": f"active within {t.active_days:g} days after a silence of {t.reactivation_gap_days:g}+ days",
        "active": f"active within the last {t.active_days:g} days",
        "at_risk": f"last active {t.active_days:g}–{t.dormant_days:g} days ago",
        "dormant": f"last active {t.dormant_days:g}–{t.churned_days:g} days ago",
    }.get(stage, "unknown stage")
