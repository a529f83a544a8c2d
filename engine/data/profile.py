"""What a dataset holds, in numbers: rows, users, items, kinds, time range, top items."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace

import polars as pl


@dataclass(frozen=True)
class DatasetProfile:
    n_events: int
    n_users: int
    n_items: int
    ts_min: dt.datetime | None
    ts_max: dt.datetime | None
    kinds: dict[str, int]

    def with_counts(self, *, n_users: int, n_items: int) -> DatasetProfile:
        return replace(self, n_users=n_users, n_items=n_items)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ts_min"] = self.ts_min.isoformat() if self.ts_min else None
        d["ts_max"] = self.ts_max.isoformat() if self.ts_max else None
        return d


def profile_events(events: pl.LazyFrame) -> DatasetProfile:
    """Counts and time range of an events table (users/items counted from the events)."""
    head = events.select(
        pl.len().alias("n"),
        pl.col("user_id").n_unique().alias("users"),
        pl.col("item_id").n_unique().alias("items"),
        pl.col("ts").min().alias("lo"),
        pl.col("ts").max().alias("hi"),
    ).collect().row(0, named=True)
    kinds = events.group_by("kind").len().sort(["len", "kind"], descending=[True, False]).collect()
    return DatasetProfile(
        n_events=head["n"],
        n_users=head["users"],
        n_items=head["items"],
        ts_min=head["lo"],
        ts_max=head["hi"],
        kinds=dict(zip(kinds["kind"].to_list(), kinds["len"].to_list(), strict=True)),
    )


def top_items(events: pl.LazyFrame, items: pl.LazyFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` items with the most distinct users, with their kind and title when known."""
    top = (
        events.group_by("item_id")
        .agg(pl.col("user_id").n_unique().alias("users"), pl.len().alias("events"))
        .sort(["users", "events", "item_id"], descending=[True, True, False])
        .head(n)
    )
    cols = [c for c in ("item_id", "kind", "title") if c in items.collect_schema()]
    joined = top.join(items.select(cols), on="item_id", how="left")
    return joined.sort(["users", "events", "item_id"], descending=[True, True, False]).collect()
