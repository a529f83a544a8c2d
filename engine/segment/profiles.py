"""What each segment is: size, money, engagement, what its users do and on which content.

For every segment of an assignment (``user_id, segment_id, segment``):

* ``users``, ``share`` — members and their share of all users;
* ``revenue``, ``revenue_share``, ``paying_share`` — net money (revenue − refunds), its share of
  the total, and the share of members who paid anything;
* ``events_mean``, ``active_days_mean``, ``recency_days_median`` — engagement;
* ``top_kinds`` — the event kinds making up most of the segment's events, with shares;
* ``top_content`` — the item kinds its events land on (course, question, …), with shares;
* ``top_tags`` — the item tags its events land on, with shares;
* ``stands_out`` — for clusters: the standardised features of the centre furthest from 0;
* ``distinctive`` — what sets the segment apart (:mod:`engine.segment.lift`): ``kinds``,
  ``content``, ``tags`` and ``items`` whose share of the segment's events most exceeds their
  share of everyone's, lift = share in segment / share overall, each with enough members
  behind it; items carry their ``title`` when the items table has one.

Top lists hold at most ``top`` entries; shares are of the segment's own events.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.segment.cluster import readable
from engine.segment.lift import distinctive_values


def _shares(frame: pl.LazyFrame, column: str, top: int) -> pl.LazyFrame:
    """segment_id, [{value, share}] — the ``top`` most common values of ``column`` per segment."""
    counted = frame.group_by("segment_id", column).len().drop_nulls(column)
    return (
        counted.with_columns((pl.col("len") / pl.col("len").sum().over("segment_id")).alias("share"))
        .sort(["segment_id", "len", column], descending=[False, True, False])
        .group_by("segment_id", maintain_order=True)
        .agg(pl.struct(pl.col(column).cast(pl.String).alias("value"), pl.col("share").round(4)).head(top).alias(column))
    )


def segment_profiles(
    assignments: pl.DataFrame,
    features: pl.DataFrame,
    events: pl.LazyFrame,
    items: pl.LazyFrame | None = None,
    *,
    top: int = 5,
    centers: np.ndarray | None = None,
    columns: list[str] | None = None,
) -> list[dict]:
    """One profile per segment, ordered by segment_id (see the module docstring)."""
    joined = assignments.select("user_id", "segment_id", "segment").join(features, on="user_id", how="left")
    total_users = max(joined.height, 1)
    total_revenue = float(joined["monetary"].clip(0).sum() or 0.0)
    base = (
        joined.group_by("segment_id", "segment")
        .agg(
            pl.len().alias("users"),
            pl.col("monetary").sum().alias("revenue"),
            pl.col("monetary").clip(0).sum().alias("_positive"),
            (pl.col("monetary") > 0).mean().alias("paying_share"),
            pl.col("events").mean().alias("events_mean"),
            pl.col("active_days").mean().alias("active_days_mean"),
            pl.col("recency_days").median().alias("recency_days_median"),
        )
        .sort("segment_id")
    )
    member_events = events.join(assignments.lazy().select("user_id", "segment_id"), on="user_id", how="inner")
    kinds = _shares(member_events, "kind", top).rename({"kind": "top_kinds"}).collect()
    extra = [kinds]
    if items is not None:
        schema = items.collect_schema()
        if "kind" in schema:
            on_items = member_events.select("segment_id", "item_id").join(
                items.select("item_id", pl.col("kind").alias("content")), on="item_id", how="left")
            extra.append(_shares(on_items, "content", top).rename({"content": "top_content"}).collect())
        if "tags" in schema and isinstance(schema["tags"], pl.List):
            tagged = (member_events.select("segment_id", "item_id")
                      .join(items.select("item_id", pl.col("tags").alias("tag")), on="item_id", how="inner")
                      .explode("tag"))
            extra.append(_shares(tagged, "tag", top).rename({"tag": "top_tags"}).collect())
    distinctive = _distinctive(member_events, items, top)
    profile = base
    for frame in extra:
        profile = profile.join(frame, on="segment_id", how="left")
    rows = []
    for row in profile.iter_rows(named=True):
        positive = row.pop("_positive")
        row["share"] = row["users"] / total_users
        row["revenue_share"] = positive / total_revenue if total_revenue > 0 else 0.0
        for key in ("top_kinds", "top_content", "top_tags"):
            if key in row:
                row[key] = row[key] or []
        row["distinctive"] = distinctive.get(row["segment_id"], {name: [] for name in _DISTINCTIVE})
        if centers is not None and columns is not None:
            center = centers[row["segment_id"] - 1]
            order = np.argsort(-np.abs(center))[:top]
            row["stands_out"] = [{"feature": readable(columns[j]), "z": round(float(center[j]), 3)} for j in order]
        rows.append(row)
    return rows


_DISTINCTIVE = ("kinds", "content", "tags", "items")


def _distinctive(member_events: pl.LazyFrame, items: pl.LazyFrame | None, top: int) -> dict[int, dict[str, list]]:
    """{segment_id: {"kinds" | "content" | "tags" | "items": [{value, share, overall, lift, users}, …]}}
    — the values with the highest lift (see :func:`engine.segment.lift.distinctive_values`)."""
    rows = member_events.select("segment_id", "user_id", "item_id", pl.col("kind").cast(pl.String))
    schema = items.collect_schema() if items is not None else {}
    if items is not None:
        keep = [c for c in ("kind", "tags") if c in schema]
        rows = rows.join(items.select("item_id", *(pl.col(c).alias(f"item_{c}") for c in keep)), on="item_id",
                         how="left")
    columns = {"kinds": "kind", "items": "item_id"}
    if "kind" in schema:
        columns["content"] = "item_kind"
    if "tags" in schema and isinstance(schema["tags"], pl.List):
        columns["tags"] = "item_tags"
    names = [name for name in _DISTINCTIVE if name in columns]
    found = pl.collect_all([distinctive_values(rows.explode("item_tags") if name == "tags" else rows, columns[name],
                                               top=top) for name in names])
    out: dict[int, dict[str, list]] = {}
    for name, frame in zip(names, found, strict=True):
        for segment_id, values in frame.iter_rows():
            out.setdefault(segment_id, {n: [] for n in _DISTINCTIVE})[name] = values
    if items is not None and "title" in schema:
        shown = sorted({v["value"] for lists in out.values() for v in lists["items"]})
        titles = dict(items.select(pl.col("item_id").cast(pl.String), "title")
                      .filter(pl.col("item_id").is_in(shown)).collect().iter_rows())
        for lists in out.values():
            lists["items"] = [{**v, "title": titles.get(v["value"])} for v in lists["items"]]
    return out
