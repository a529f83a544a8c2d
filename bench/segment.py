"""Segmentation at scale: features, k-means (k = 8) and RFM for a million generated users,
with peak RSS, and scikit-learn's KMeans on the same matrix in the same run as the reference.

**The data.** ``engine.data.synth.generate`` simulates every visit and choice day by day; at a
million users its catalogue grows to ~11,000 items and each simulated day scores every visitor
against every item, far too slow to make a benchmark input. So this script draws the same
*planted segments* at the level the features see — per user and event kind, counts from a
Poisson with the segment's mean rates (``engine.data.synth.DEFAULT_SEGMENTS``: visit rate with
Gamma(4, 1/4) individual spread, views per visit, like / favourite / comment / answer / ask
rates, purchase odds from the buy intercept, refunds, subscriptions and monthly renewals) over
``--days`` days — and spreads the events uniformly in time over a 10,000-item catalogue
(courses 49, columns 19.9, a membership at 15). It prints how many events that makes.

**What is timed** (the issue's target: ≤ 10 s on the 2-core CPU):

1. features — :func:`engine.segment.features.user_features` over the events (Polars, lazy),
   and the standardised behaviour matrix (:func:`engine.segment.features.standardise`);
2. k-means — :func:`engine.segment.kmeans.kmeans` (k-means++, one start, at most 100 Lloyd
   steps, ``--device``);
3. RFM — :func:`engine.segment.rfm.rfm_scores`.

Then scikit-learn's ``KMeans(k, init="k-means++", n_init=1, max_iter=100)`` runs on the very
same float32 matrix; the script prints both times, their ratio, both inertias and the adjusted
Rand index between the two labelings. Peak RSS is the process's high-water mark (it includes
the generated events, which stay in memory). Each phase prints wall time and this process's
CPU time: on a shared machine the wall time also counts everybody else's load.

    python bench/segment.py [--users 1000000] [--days 30] [--k 8] [--device auto] [--seed 0]

scikit-learn is in the optional ``bench`` extra: ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time

import numpy as np
import polars as pl

from engine.data.synth import DEFAULT_SEGMENTS, SEGMENT_SHARE
from engine.segment.features import standardise, user_features
from engine.segment.kmeans import kmeans
from engine.segment.quality import adjusted_rand_index
from engine.segment.rfm import rfm_scores

START = dt.datetime(2026, 1, 1)
CATALOG = (("course", 1_000, 49.0), ("column", 500, 19.9), ("article", 7_000, None), ("repo", 999, None),
           ("membership", 1, 15.0), ("question", 500, None))


class Clock:
    """Wall and CPU seconds (this process, all threads) since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def generate_events(users: int, days: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """users, items and events with the planted segments' rates (see the module docstring)."""
    rng = np.random.default_rng(seed)
    names = list(DEFAULT_SEGMENTS)
    seg = rng.choice(len(names), size=users, p=np.array(SEGMENT_SHARE) / sum(SEGMENT_SHARE))
    p = {f: np.array([getattr(DEFAULT_SEGMENTS[s], f) for s in names])[seg] for f in
         ("visit", "views", "like", "favorite", "comment", "buy_intercept", "refund", "subscribe", "cancel",
          "ask", "answer")}
    visits = rng.poisson(np.minimum(p["visit"] * rng.gamma(4.0, 0.25, users), 0.95) * days)
    views = visits * (1.0 + p["views"])
    buy = views * 0.2 / (1.0 + np.exp(-(p["buy_intercept"] + 0.75)))
    purchases = rng.poisson(buy)
    subscribed = rng.random(users) < 1.0 - (1.0 - p["subscribe"]) ** visits
    counts = {
        "view": rng.poisson(views), "like": rng.poisson(views * p["like"]),
        "favorite": rng.poisson(views * p["favorite"]), "comment": rng.poisson(views * p["comment"]),
        "purchase": purchases, "refund": rng.binomial(purchases, p["refund"]),
        "subscribe": subscribed.astype(np.int64),
        "renew": np.where(subscribed, rng.binomial(days // 30, 1.0 - p["cancel"]), 0),
        "ask": rng.poisson(visits * p["ask"]), "answer": rng.poisson(visits * p["answer"]),
    }
    item_kind = np.concatenate([[k] * n for k, n, _ in CATALOG])
    price = np.concatenate([[pr if pr is not None else np.nan] * n for _, n, pr in CATALOG])
    by_kind = {k: np.flatnonzero(item_kind == k) + 1 for k, _, _ in CATALOG}
    paid = np.concatenate([by_kind["course"], by_kind["column"]])
    parts = []
    span = days * 86_400_000_000
    for code, (kind, n) in enumerate(counts.items()):
        who = np.repeat(np.arange(1, users + 1, dtype=np.int64), n)
        if kind in ("purchase", "refund"):
            item = rng.choice(paid, size=len(who))
        elif kind in ("subscribe", "renew"):
            item = np.full(len(who), by_kind["membership"][0])
        elif kind in ("ask", "answer"):
            item = rng.choice(by_kind["question"], size=len(who))
        else:
            item = rng.integers(1, len(item_kind) + 1, size=len(who))
        amount = np.where(np.isin(kind, ("purchase", "refund", "subscribe", "renew")), price[item - 1], 0.0)
        parts.append(pl.DataFrame({"user_id": who, "item_id": item, "code": np.full(len(who), code, dtype=np.int8),
                                   "us": rng.integers(0, span, size=len(who)), "amount": np.nan_to_num(amount)}))
    kinds = list(counts)
    events = pl.concat(parts).select(
        "user_id", "item_id", pl.col("code").replace_strict(dict(enumerate(kinds)), return_dtype=pl.String).alias("kind"),
        (pl.lit(START) + pl.duration(microseconds=pl.col("us"))).cast(pl.Datetime("us")).alias("ts"),
        pl.lit(1.0).alias("value"), "amount",
    )
    users_frame = pl.DataFrame({"user_id": np.arange(1, users + 1, dtype=np.int64),
                                "joined_at": pl.Series([START - dt.timedelta(days=30)] * users, dtype=pl.Datetime("us"))})
    items_frame = pl.DataFrame({"item_id": np.arange(1, len(item_kind) + 1, dtype=np.int64), "kind": item_kind,
                                "price": price}).with_columns(pl.col("price").fill_nan(None))
    return users_frame, items_frame, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from sklearn.cluster import KMeans  # the bench extra; imported here so --help works without it

    t = time.perf_counter()
    users, items, events = generate_events(args.users, args.days, args.seed)
    print(f"generated {args.users:,} users, {events.height:,} events over {args.days} days "
          f"in {time.perf_counter() - t:.1f} s (not timed below); peak RSS so far {peak_rss_gib():.2f} GiB")

    print(f"load average before: {open('/proc/loadavg').read().split()[0]} on {os.cpu_count()} cores "
          "(wall time counts other processes' load too; CPU time is this process's own)")
    clock = Clock()
    features = user_features(events.lazy(), users.lazy(), items.lazy()).collect()
    std = standardise(features)
    wall_f, cpu_f = clock.lap()
    ours = kmeans(std.matrix, args.k, seed=args.seed, n_init=1, device=args.device)
    wall_k, cpu_k = clock.lap()
    scores = rfm_scores(features)
    wall_r, cpu_r = clock.lap()
    total = wall_f + wall_k + wall_r
    print(f"features   {wall_f:6.2f} s wall {cpu_f:6.2f} s CPU  ({features.height:,} users × {features.width - 1} columns, "
          f"standardised to {std.matrix.shape[1]})")
    print(f"k-means    {wall_k:6.2f} s wall {cpu_k:6.2f} s CPU  (k={args.k}, {ours.iterations} Lloyd steps, "
          f"inertia {ours.inertia:,.0f}, device {args.device})")
    print(f"RFM        {wall_r:6.2f} s wall {cpu_r:6.2f} s CPU  ({int(scores['r'].is_not_null().sum()):,} paying users)")
    print(f"total      {total:6.2f} s wall {cpu_f + cpu_k + cpu_r:6.2f} s CPU  (target ≤ 10 s: "
          f"{'met' if total <= 10 else 'MISSED'}); peak RSS {peak_rss_gib():.2f} GiB")

    x = std.matrix.numpy()
    clock.lap()
    reference = KMeans(n_clusters=args.k, init="k-means++", n_init=1, max_iter=100, random_state=args.seed).fit(x)
    wall_s, cpu_s = clock.lap()
    print(f"sklearn    {wall_s:6.2f} s wall {cpu_s:6.2f} s CPU  KMeans on the same matrix ({reference.n_iter_} iterations, "
          f"inertia {reference.inertia_:,.0f})")
    print(f"ratio      k-means ours/sklearn: wall {wall_k / wall_s:.2f}, CPU {cpu_k / cpu_s:.2f}; inertia "
          f"{ours.inertia / reference.inertia_:.4f}; adjusted Rand(ours, sklearn) = "
          f"{adjusted_rand_index(ours.labels.numpy(), reference.labels_):.3f}")


if __name__ == "__main__":
    main()
