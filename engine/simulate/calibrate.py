"""Calibration: estimate a :class:`~engine.simulate.world.World` from a dataset's three tables.

Day ``0`` is the first event's day; the window ends at ``cut`` (exclusive) or after the last
event's day. Money kinds (purchase, subscribe, renew, cancel, refund) are not activity; every
other event kind is, and a user's *active days* are the days they have any. A log of purchases
and nothing else (CDNOW) has its purchase days as its active days (:func:`purchases_as_visits`).
Per segment:

* **visit and churn** — the BG/BB model (:mod:`engine.simulate.bgbb`) on each user's active
  days after joining (``x``, ``t_x``, ``n``), by maximum likelihood: Beta heterogeneity of the
  daily visit probability and of the daily churn hazard (sBG);
* **attention** λ — mean of (distinct items interacted with on an active day − 1);
* **choice sensitivity** β and item **quality** — the conditional logit of
  :func:`~engine.simulate.choice_fit.fit_item_choice`; tastes are topic shares over the
  catalog's most common tags (or a CF model's embeddings, when given);
* **purchase** — ``P(buy | viewed paid item) = σ(b − α·ln(price / reference))`` by Newton's
  method over (user, paid item, day) views not owned before; reference = median paid price;
* **refund** — refunds / purchases;
* **subscribe** — subscriptions / active days as a non-member; **cancel** — cancels at a
  renewal date (within a day of last payment + period) / (renewals + those cancels);
* **contribute** — active days with a question or an answer / active days;
* **arrivals** — users who joined in the last 60 days of the window, per day;
* **new items** (:class:`~engine.simulate.world.ItemArrivals`) — per kind of the catalog, the
  items created in the window's last 60 days (all of them, used or not), per day; a new item is
  a copy of a catalog item of its kind created in the window's last 180 days (of any catalog
  item of its kind when none was), so kinds, tags, prices, creators and fitted qualities keep
  their joint distribution. The freshest pool items had few days to be opened, so their fitted
  qualities lean low. Items without ``created_at`` give no arrivals;
* **answering** (:class:`~engine.simulate.world.Answering`) — the days from each ``question``
  item's ``created_at`` to each of its ``answer`` events in the window: the share of answers
  younger than 30 days, and the age scale τ and unanswered boost of those, fitted as the choice
  among the questions open on the answer's day
  (:func:`~engine.simulate.questions.fit_answering`); data without them answers the first
  question opened.

Segments come from ``assignment`` (user_id, segment) when given — ``kpconsole segment`` — or from
:func:`~engine.simulate.segments_rule.rule_segments` (its segments without users are left out).
Visits and churn are fitted on the window's last 365 days (a user there before counts as
present at its start) and on at most 20,000 users per segment (a seeded sample), which keeps
the BG/BB likelihood affordable on large or long datasets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.scalars import as_datetime
from engine.simulate.bgbb import fit_bgbb
from engine.simulate.calibrate_money import fit_money
from engine.simulate.choice_fit import fit_item_choice
from engine.simulate.segments_rule import (
    CONTRIBUTION_KINDS,
    RULE_SEGMENTS,
    rule_segments,
)
from engine.simulate.questions import QUESTION, fit_answering
from engine.simulate.world import Answering, Catalog, ItemArrivals, Segments, SourceUsers, World

MONEY_KINDS = ("purchase", "subscribe", "renew", "cancel", "refund")
ARRIVAL_WINDOW_DAYS = 60
ITEM_POOL_DAYS = 180
BGBB_WINDOW_DAYS = 365
NEVER_DAYS = 10_000_000
PURCHASE_VISIT = "visit"  # the activity a log of purchases only is given (purchases_as_visits)
PURCHASES_ONLY_NOTE = "the events are purchases only: each purchase day is counted as a visit"


@dataclass(frozen=True)
class TasteVectors:
    """A CF model's embeddings to use as tastes: rows aligned with the id arrays."""

    user_ids: np.ndarray
    user_vectors: np.ndarray
    item_ids: np.ndarray
    item_vectors: np.ndarray
    label: str


@dataclass(frozen=True)
class Calibration:
    """A fitted world and what it was fitted on."""

    world: World
    segment_source: str  # "given" or "rule"
    taste_source: str  # "tags" or the model's label
    users: dict[str, int]  # users per segment
    window: tuple[str, str]  # first day, day after the last
    events: int

    def summary(self) -> dict:
        w = self.world
        return {
            "window": {"from": self.window[0], "to": self.window[1], "events": self.events},
            "segment_source": self.segment_source, "taste_source": self.taste_source,
            "segments": [{**row, "users": self.users.get(row["segment"], 0)} for row in w.segments.table()],
            "catalog": {"items": w.catalog.size, "paid": int((w.catalog.price > 0).sum()),
                        "creators": w.catalog.creators, "dimensions": list(w.catalog.dimensions)},
            "arrivals_per_day": w.arrivals_per_day, "new_items_per_day": w.item_arrivals.table(),
            "answering": w.answering.table(),
            "reference_price": w.reference_price,
            "plan_price": w.plan_price, "period_days": w.period_days, "start": w.start,
            "notes": list(w.notes),
        }


def purchases_as_visits(events: pl.DataFrame) -> pl.DataFrame:
    """A log of money events only with each purchase also a ``visit`` at the same moment (a
    purchase day is an active day: CDNOW holds purchases and nothing else, so its visit process
    is its purchase days); any log with activity, or without purchases, as it is."""
    kinds = set(events["kind"].unique().to_list())
    if kinds - set(MONEY_KINDS) or "purchase" not in kinds:
        return events
    visits = events.filter(pl.col("kind") == "purchase").with_columns(
        pl.lit(PURCHASE_VISIT).alias("kind"), *(pl.lit(None, dtype=events.schema[c]).alias(c)
                                                  for c in ("amount", "value") if c in events.columns))
    return pl.concat([events, visits]).sort("ts", maintain_order=True)


def _prepare(users: pl.DataFrame, events: pl.DataFrame, cut: dt.datetime | None) -> tuple[pl.DataFrame, pl.DataFrame, dt.date, int]:
    """Events with ``day`` (ids as strings) and users with ``join_day``; the window's start and length."""
    ev = events.select(pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String), "kind", "ts", "amount")
    if cut is not None:
        ev = ev.filter(pl.col("ts") < cut)
    if ev.height == 0:
        raise EngineError("no events to calibrate on" + (f" before {cut:%Y-%m-%d}" if cut else ""))
    start = as_datetime(ev["ts"].min()).date()
    last = cut.date() if cut is not None else as_datetime(ev["ts"].max()).date() + dt.timedelta(days=1)
    days = max((last - start).days, 1)
    day = (pl.col("ts").dt.date() - pl.lit(start)).dt.total_days()
    ev = ev.with_columns(day.alias("day"))
    first_seen = ev.group_by("user_id").agg(pl.col("ts").min().alias("first_ts"))
    us = users.select(pl.col("user_id").cast(pl.String), pl.col("joined_at") if "joined_at" in users.columns
                      else pl.lit(None, dtype=pl.Datetime("us")).alias("joined_at"))
    us = (us.join(first_seen, on="user_id", how="full", coalesce=True)
          .with_columns(pl.min_horizontal("joined_at", "first_ts").alias("joined"))
          .filter(pl.col("joined").is_not_null() & (pl.col("joined").dt.date() < pl.lit(last)))
          .with_columns((pl.col("joined").dt.date() - pl.lit(start)).dt.total_days().alias("join_day"))
          .select("user_id", "join_day").sort("user_id"))
    return ev, us, start, days


def _catalog(items: pl.DataFrame, consume: pl.DataFrame, end: dt.date, max_items: int, max_dims: int,
             embeddings: TasteVectors | None) -> tuple[pl.DataFrame, np.ndarray, tuple[str, ...]]:
    """Catalog rows (item_id, kind, price, creator, popularity, idx), item vectors and dimension names."""
    popularity = consume.group_by("item_id").agg(pl.len().alias("popularity"))
    it = items.with_columns(pl.col("item_id").cast(pl.String))
    for col, default in (("kind", pl.lit("item")), ("price", pl.lit(None, pl.Float64)),
                         ("creator_id", pl.lit(None, pl.String)), ("tags", pl.lit(None, pl.List(pl.String))),
                         ("created_at", pl.lit(None, pl.Datetime("us")))):
        if col not in it.columns:
            it = it.with_columns(default.alias(col))
    it = it.select("item_id", "kind", pl.col("price").fill_null(0.0), pl.col("creator_id").cast(pl.String),
                   "tags", "created_at")
    cat = (it.join(popularity, on="item_id", how="full", coalesce=True)
           .with_columns(pl.col("popularity").fill_null(0), pl.col("price").fill_null(0.0),
                         pl.col("kind").fill_null("item"))
           .filter((pl.col("kind") != "membership")
                   & ((pl.col("popularity") > 0) | (pl.col("price") > 0))
                   & (pl.col("created_at").is_null() | (pl.col("created_at").dt.date() < pl.lit(end))))
           .sort(["popularity", "item_id"], descending=[True, False]).head(max_items)
           .with_row_index("idx"))
    if cat.height == 0:
        raise EngineError("no items with interactions or a price: the catalog would be empty")
    cat = cat.with_columns(pl.col("creator_id").rank("dense").cast(pl.Int64).sub(1).fill_null(-1).alias("creator"))
    if embeddings is not None:
        index = {str(k): i for i, k in enumerate(embeddings.item_ids.tolist())}
        rows = np.array([index.get(k, -1) for k in cat["item_id"].to_list()])
        vectors = np.where(rows[:, None] >= 0, embeddings.item_vectors[np.maximum(rows, 0)], 0.0)
        return cat, vectors.astype(np.float32), tuple(f"e{d}" for d in range(vectors.shape[1]))
    tags = cat.select("idx", pl.col("tags").fill_null([])).explode("tags").drop_nulls("tags")
    top = tags.group_by("tags").agg(pl.len().alias("n")).sort(["n", "tags"], descending=[True, False]).head(max_dims)
    dims = top["tags"].to_list()
    hits = tags.filter(pl.col("tags").is_in(dims))
    vectors = np.zeros((cat.height, len(dims) + 1), dtype=np.float32)
    vectors[hits["idx"].to_numpy(), [dims.index(t) for t in hits["tags"].to_list()]] = 1.0
    vectors[vectors.sum(axis=1) == 0, len(dims)] = 1.0  # "other": no common tag
    vectors /= vectors.sum(axis=1, keepdims=True)
    return cat, vectors, (*dims, "(other)")


def _item_arrivals(items: pl.DataFrame, cat: pl.DataFrame, end: dt.date, days: int) -> ItemArrivals:
    """New items per day of each catalog kind and the pool they copy (see the module docstring)."""
    if "created_at" not in items.columns or cat["created_at"].is_null().all():
        return ItemArrivals.none()
    kinds = sorted(cat["kind"].unique().to_list())
    items = items.with_columns((pl.col("kind") if "kind" in items.columns else pl.lit("item")).fill_null("item"))
    created = pl.col("created_at").dt.date()
    window = min(ARRIVAL_WINDOW_DAYS, days)
    recent = (items.filter(pl.col("kind").is_in(kinds) & (created >= pl.lit(end - dt.timedelta(days=window)))
                           & (created < pl.lit(end)))
              .group_by("kind").agg(pl.len().alias("n")))
    counts = dict(zip(recent["kind"].to_list(), recent["n"].to_list(), strict=True))
    dated = cat.filter(pl.col("created_at").is_not_null())
    fresh = dated.filter(created >= pl.lit(end - dt.timedelta(days=ITEM_POOL_DAYS)))
    pool = [(fresh if (fresh["kind"] == k).any() else dated).filter(pl.col("kind") == k)["idx"] for k in kinds]
    return ItemArrivals(kinds=tuple(kinds), per_day=np.array([counts.get(k, 0) / window for k in kinds]),
                        pool=np.sort(np.concatenate([p.to_numpy() for p in pool])).astype(np.int64))


def _answering(items: pl.DataFrame, ev: pl.DataFrame, start: dt.date, end: dt.date) -> Answering:
    """The answering model fitted on the ages of the window's answers (see the module docstring)."""
    if "created_at" not in items.columns or "kind" not in items.columns:
        return Answering()
    asked = (items.filter((pl.col("kind") == QUESTION) & pl.col("created_at").is_not_null()
                          & (pl.col("created_at").dt.date() < pl.lit(end)))
             .select(pl.col("item_id").cast(pl.String), (pl.col("created_at").dt.date() - pl.lit(start))
                     .dt.total_days().alias("asked")).unique("item_id", keep="first").sort("item_id")
             .with_row_index("q"))
    answers = ev.filter(pl.col("kind") == "answer").select("item_id", "day").join(asked, on="item_id", how="inner")
    return fit_answering(asked["asked"].to_numpy(), answers["q"].to_numpy(), answers["day"].to_numpy())


def _bgbb_sample(seg: np.ndarray, segments: int, seed: int, cap: int = 20_000) -> np.ndarray:
    """Indices of at most ``cap`` users per segment (all of a smaller segment), sorted."""
    rng = np.random.default_rng([seed, 0xB6B])
    keep = [np.flatnonzero(seg == s) for s in range(segments)]
    keep = [k if len(k) <= cap else rng.choice(k, size=cap, replace=False) for k in keep]
    return np.sort(np.concatenate(keep))


def calibrate(users: pl.DataFrame, items: pl.DataFrame, events: pl.DataFrame, *,
              assignment: pl.DataFrame | None = None, cut: dt.datetime | None = None,
              embeddings: TasteVectors | None = None, max_items: int = 5_000, max_dims: int = 24,
              seed: int = 0, progress: Progress = no_progress) -> Calibration:
    """Fit a world from the tables (see the module docstring)."""
    progress(0.0, "preparing events")
    with_visits = purchases_as_visits(events)
    ev, us, start, days = _prepare(users, with_visits, cut)
    activity = sorted(set(ev["kind"].unique().to_list()) - set(MONEY_KINDS))
    if not activity:
        raise EngineError("the events hold no activity and no purchases (only subscriptions, cancels or refunds): "
                          "nothing to calibrate visits on")
    if assignment is not None:
        seg_frame = us.select("user_id").join(assignment.select(pl.col("user_id").cast(pl.String),
                                                                pl.col("segment").cast(pl.String)),
                                              on="user_id", how="left").with_columns(pl.col("segment").fill_null("unassigned"))
        names = tuple(sorted(seg_frame["segment"].unique().to_list()))
        source = "given"
    else:
        seg_frame = rule_segments(us["user_id"], ev, activity)
        present = set(seg_frame["segment"].unique().to_list())
        names, source = tuple(n for n in RULE_SEGMENTS if n in present), "rule"  # empty segments are left out
    us = us.join(seg_frame, on="user_id", how="left").with_columns(
        pl.col("segment").replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int64).alias("seg"))
    uidx = {u: i for i, u in enumerate(us["user_id"].to_list())}
    ev = ev.filter(pl.col("user_id").is_in(list(uidx))).with_columns(
        pl.col("user_id").replace_strict(uidx, return_dtype=pl.Int64).alias("u"))
    seg = us["seg"].to_numpy()
    S, U = len(names), us.height

    # --- visits and churn (BG/BB) --------------------------------------------------------
    progress(0.1, "fitting visits and churn (BG/BB)")
    join_day = us["join_day"].to_numpy()
    first_opp = np.maximum(np.where(join_day >= 0, join_day + 1, 0), days - BGBB_WINDOW_DAYS)
    active = ev.filter(pl.col("kind").is_in(activity)).select("u", "day").unique()
    a_u, a_day = active["u"].to_numpy(), active["day"].to_numpy()
    after = a_day >= first_opp[a_u]
    x = np.bincount(a_u[after], minlength=U)
    last_opp = np.full(U, -1)
    np.maximum.at(last_opp, a_u[after], a_day[after])
    t_x = np.where(x > 0, last_opp - first_opp + 1, 0)
    n = np.maximum(days - first_opp, 0)
    sample = _bgbb_sample(seg, S, seed)
    fit = fit_bgbb(seg[sample], x[sample], t_x[sample], n[sample], S)
    last_active = np.full(U, -1)
    np.maximum.at(last_active, a_u, a_day)

    # --- catalog, tastes, choice ---------------------------------------------------------
    progress(0.45, "fitting item choice")
    consume = ev.filter(pl.col("kind").is_in([k for k in activity if k != "ask"]))
    cat, vectors, dims = _catalog(items, consume, start + dt.timedelta(days=days), max_items, max_dims, embeddings)
    iidx = dict(zip(cat["item_id"].to_list(), cat["idx"].to_list(), strict=True))
    inter = (consume.filter(pl.col("item_id").is_in(list(iidx)))
             .with_columns(pl.col("item_id").replace_strict(iidx, return_dtype=pl.Int64).alias("i"))
             .select("u", "i", "day").unique().sort(["u", "day", "i"]))
    e_u, e_i = inter["u"].to_numpy(), inter["i"].to_numpy()
    taste_sum = np.zeros((U, vectors.shape[1]), dtype=np.float64)
    np.add.at(taste_sum, e_u, vectors[e_i])
    count = np.bincount(e_u, minlength=U).astype(np.float64)
    taste = np.where(count[:, None] > 0, taste_sum / np.maximum(count, 1)[:, None], vectors.mean(axis=0))
    if embeddings is not None:  # users the model does not know keep the mean of their items' embeddings
        index = {str(k): i for i, k in enumerate(embeddings.user_ids.tolist())}
        rows = np.array([index.get(k, -1) for k in us["user_id"].to_list()])
        taste = np.where(rows[:, None] >= 0, embeddings.user_vectors[np.maximum(rows, 0)], taste)
    beta, quality = fit_item_choice(taste_sum, count, seg, e_u, e_i, vectors, S, seed=seed,
                                    fixed_taste=taste if embeddings is not None else None)
    per_day = inter.group_by(["u", "day"]).agg(pl.len().alias("c"))
    c_seg = seg[per_day["u"].to_numpy()]
    extra = per_day["c"].to_numpy() - 1.0
    attention = np.bincount(c_seg, weights=extra, minlength=S) / np.maximum(np.bincount(c_seg, minlength=S), 1)

    # --- money, membership, contributions --------------------------------------------------
    progress(0.75, "fitting purchases and memberships")
    money = fit_money(ev, inter, cat, seg, S, days, items)
    contrib = ev.filter(pl.col("kind").is_in(CONTRIBUTION_KINDS)).select("u", "day").unique()
    c_days = np.bincount(seg[contrib["u"].to_numpy()], minlength=S)
    act_days = np.bincount(seg[a_u], minlength=S)
    contribute = c_days / np.maximum(act_days, 1)
    recent = (join_day >= max(days - ARRIVAL_WINDOW_DAYS, 0)) & (join_day < days)
    arrivals = float(recent.sum()) / min(ARRIVAL_WINDOW_DAYS, days)

    segments = Segments(
        names=names, share=np.bincount(seg, minlength=S) / max(U, 1),
        visit_mean=fit.visit_mean, visit_concentration=fit.alpha + fit.beta,
        churn_mean=fit.churn_mean, churn_concentration=fit.gamma + fit.delta,
        attention=attention, choice_sensitivity=beta, buy_intercept=money.buy_intercept,
        price_sensitivity=money.price_sensitivity, refund=money.refund, subscribe=money.subscribe,
        cancel=money.cancel, contribute=contribute,
    )
    catalog = Catalog(
        item_ids=np.array(cat["item_id"].to_list(), dtype=str), kind=np.array(cat["kind"].to_list(), dtype=str),
        vectors=vectors, quality=quality.astype(np.float32), price=cat["price"].to_numpy().astype(np.float64),
        creator=cat["creator"].to_numpy().astype(np.int64), popularity=cat["popularity"].to_numpy().astype(np.float64),
        dimensions=dims,
    )
    source_users = SourceUsers(
        user_ids=np.array(us["user_id"].to_list(), dtype=str), segment=seg.astype(np.int64),
        taste=taste.astype(np.float32), x=x.astype(np.int64), t_x=t_x.astype(np.int64), n=n.astype(np.int64),
        days_since_visit=np.where(last_active >= 0, days - 1 - last_active, NEVER_DAYS).astype(np.int64),
        days_since_payment=money.days_since_payment(U), member=money.member_at_end(U),
        days_to_renewal=money.days_to_renewal(U),
        contributions=np.bincount(ev.filter(pl.col("kind").is_in(CONTRIBUTION_KINDS))["u"].to_numpy(), minlength=U),
        recent=(join_day >= 0),
    )
    end = start + dt.timedelta(days=days)
    world = World(segments, catalog, source_users, arrivals_per_day=arrivals, reference_price=money.reference_price,
                  plan_price=money.plan_price, period_days=money.period_days, start=end.isoformat(),
                  notes=tuple(money.notes) + ((PURCHASES_ONLY_NOTE,) if with_visits is not events else ()),
                  item_arrivals=_item_arrivals(items, cat, end, days),
                  answering=_answering(items, ev, start, end))
    progress(1.0, "calibrated")
    return Calibration(world=world, segment_source=source,
                       taste_source=embeddings.label if embeddings is not None else "tags",
                       users={name: int((seg == s).sum()) for s, name in enumerate(names)},
                       window=(start.isoformat(), (start + dt.timedelta(days=days)).isoformat()), events=ev.height)
