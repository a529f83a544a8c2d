"""What sets a segment apart: the values (event kinds, content kinds, tags, items) whose share in
the segment most exceeds their share over everyone.

For a segment s and a value v of some column of the members' events (n = event counts):

    share_s(v) = n_{s,v} / n_s              (the segment's events that carry v)
    overall(v) = n_v / n                    (all assigned users' events that carry v)
    lift_s(v)  = share_s(v) / overall(v)

A lift of 2 means the segment does v twice as often as the platform as a whole; the most
common values (views, the one viral article) sit near 1 in every segment and so never define
one. A value counts only with enough **support**: at least ``min_users`` distinct members of
the segment, and at least ``min_member_share`` of the segment's members with events, engaged
with it — so one heavy user, or a one-off item seen by two people, cannot win. Only values
with lift above 1 are kept; ties in lift go to the value with more events, then the smaller
value.

>>> import polars as pl
>>> events = pl.LazyFrame({"segment_id": [1, 1, 1, 2, 2, 2], "user_id": [1, 2, 3, 4, 5, 6],
...                        "kind": ["answer", "answer", "view", "view", "view", "view"]})
>>> out = distinctive_values(events, "kind", min_users=2).collect()
>>> out.row(0, named=True)["kind"][0]["value"], out.row(0, named=True)["kind"][0]["lift"]
('answer', 2.0)
"""

from __future__ import annotations

import polars as pl

MIN_USERS = 5
MIN_MEMBER_SHARE = 0.02


def distinctive_values(
    member_events: pl.LazyFrame,
    column: str,
    *,
    top: int = 5,
    min_users: int = MIN_USERS,
    min_member_share: float = MIN_MEMBER_SHARE,
) -> pl.LazyFrame:
    """``segment_id, <column>``: per segment, up to ``top`` values as structs ``{value, share,
    overall, lift, users}`` in descending lift (see the module docstring for the formula and
    the support rule).

    ``member_events`` holds one row per event with ``segment_id``, ``user_id`` and ``column``
    (nulls in ``column`` are left out). Segments where no value passes are absent.
    """
    rows = member_events.select("segment_id", "user_id", column).drop_nulls(column)
    per_value = rows.group_by("segment_id", column).agg(
        pl.len().alias("n_sv"), pl.col("user_id").n_unique().alias("users"))
    members = rows.group_by("segment_id").agg(pl.col("user_id").n_unique().alias("members"))
    overall = rows.group_by(column).agg(pl.len().alias("n_v"))
    total = rows.select(pl.len().alias("n"))
    return (
        per_value.join(members, on="segment_id").join(overall, on=column).join(total, how="cross")
        .with_columns((pl.col("n_sv") / pl.col("n_sv").sum().over("segment_id")).alias("share"),
                      (pl.col("n_v") / pl.col("n")).alias("overall"))
        .with_columns((pl.col("share") / pl.col("overall")).alias("lift"))
        .filter((pl.col("users") >= min_users) & (pl.col("users") >= min_member_share * pl.col("members"))
                & (pl.col("lift") > 1.0))
        .sort(["segment_id", "lift", "n_sv", column], descending=[False, True, True, False])
        .group_by("segment_id", maintain_order=True)
        .agg(pl.struct(pl.col(column).cast(pl.String).alias("value"), pl.col("share").round(4),
                       pl.col("overall").round(4), pl.col("lift").round(3), "users").head(top).alias(column))
    )
