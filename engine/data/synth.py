"""A seeded generator of a knowledge platform with a community: users, items and events.

Later tests check that the engine recovers what is planted here, so the generative model is
spelled out in full.

**Calendar.** Days ``0 … days-1`` starting at ``start`` (2026-01-01). Every event of a visit
happens on the visit's day, a few minutes apart.

**Topics (planted taste clusters).** ``len(TOPICS)`` topics. Every static item has one topic;
every user one *taste* topic. An item matching the user's taste gets ``taste_weight`` (2.5)
more utility in choice, so collaborative filtering can find the clusters.

**Catalog.** Static items created before day 0, in numbers scaled by ``sqrt(users / 1000)``:
courses (paid, prices 29/49/99/199), columns (paid, 9.9/19.9/29.9), live sessions (paid,
9/19), articles and repositories (free), and one ``membership`` plan (``membership_price`` a
month). Each item has a quality ``q ~ N(0, 0.6)`` and a creator: a user whose taste is the
item's topic, drawn from the creators (5 % of users, contributors first). Questions are items
too, created during the simulation by the users who ask them.

**Users and planted behaviour segments.** Each user belongs to one segment
(:data:`SEGMENTS`: casual, learner, contributor, member) with the shares in
:data:`SEGMENT_SHARE`. A segment fixes the means of every behaviour parameter
(:class:`SegmentParams`); individuals vary around them:

* daily visit probability ``v = visit * Gamma(4, 1/4)`` (capped at 0.95);
* daily churn hazard ``θ ~ Beta(a, b)`` with mean ``churn`` and ``a + b = churn_concentration``
  — heterogeneous hazards, so the survivors of a cohort churn less and less as it ages
  (the shifted-beta-geometric pattern of Fader & Hardie 2007); a churned user never returns;
* views per visit ``1 + Poisson(views)`` (at most 6), chosen without replacement by a
  multinomial logit over the static catalog: ``u = taste_weight·[topic = taste] + q + Gumbel``;
* on each viewed item: like (or star, for repositories) with probability ``like`` (×0.4 off
  taste), favourite with ``favorite``, comment with ``comment``;
* **planted price sensitivity**: a viewed paid item not yet owned is bought with probability
  ``sigmoid(buy_intercept + 1.5·[topic = taste] − price_sensitivity·ln(price / 30))``;
  a purchase is refunded 1–7 days later with probability ``refund`` (if still in the window);
* membership: a visiting non-member subscribes with probability ``subscribe``; every 30 days
  a member renews (amount = the plan's price) with probability ``1 − cancel`` or cancels;
  churn cancels a membership the same day;
* contributions per visit: ask a question with probability ``ask`` (a new item on the
  user's taste topic), answer with probability ``answer`` (a recent open question of the
  user's topic, not their own).

**Arrivals.** ``existing_share`` of users joined in the year before day 0; the rest arrive
uniformly over the window (the platform grows).

Everything random comes from one ``numpy.random.Generator(seed)``: the same arguments give the
same frames, bit for bit. :func:`generate` returns the three canonical frames and the truth
(per-user segment, taste, visit probability, churn hazard, price sensitivity, churn day).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from engine.data.schema import TS

TOPICS = ("python", "machine-learning", "frontend", "devops", "databases", "security")
SEGMENTS = ("casual", "learner", "contributor", "member")
SEGMENT_SHARE = (0.45, 0.25, 0.15, 0.15)
MAX_VIEWS = 6
REFERENCE_PRICE = 30.0
MEMBERSHIP_PERIOD_DAYS = 30


@dataclass(frozen=True)
class SegmentParams:
    """Mean behaviour of a planted segment (see the module docstring for each symbol)."""

    visit: float
    churn: float
    views: float
    like: float
    favorite: float
    comment: float
    buy_intercept: float
    price_sensitivity: float
    refund: float
    subscribe: float
    cancel: float
    ask: float
    answer: float


DEFAULT_SEGMENTS: dict[str, SegmentParams] = {
    "casual": SegmentParams(visit=0.04, churn=1 / 90, views=0.5, like=0.03, favorite=0.0, comment=0.0,
                            buy_intercept=-6.0, price_sensitivity=2.5, refund=0.10, subscribe=0.0, cancel=0.5,
                            ask=0.0, answer=0.0),
    "learner": SegmentParams(visit=0.22, churn=1 / 400, views=1.6, like=0.15, favorite=0.08, comment=0.02,
                             buy_intercept=-2.2, price_sensitivity=1.6, refund=0.05, subscribe=0.002, cancel=0.3,
                             ask=0.06, answer=0.0),
    "contributor": SegmentParams(visit=0.45, churn=1 / 800, views=1.0, like=0.30, favorite=0.05, comment=0.25,
                                 buy_intercept=-5.0, price_sensitivity=1.2, refund=0.03, subscribe=0.001, cancel=0.3,
                                 ask=0.10, answer=0.40),
    "member": SegmentParams(visit=0.30, churn=1 / 600, views=1.3, like=0.10, favorite=0.03, comment=0.01,
                            buy_intercept=-2.8, price_sensitivity=0.6, refund=0.02, subscribe=0.25, cancel=0.08,
                            ask=0.02, answer=0.02),
}

_KINDS = ("view", "like", "star", "favorite", "comment", "purchase", "refund", "subscribe", "renew", "cancel",
          "ask", "answer")
_K = {name: i for i, name in enumerate(_KINDS)}

# (kind, base count per 1,000 users, prices or None for free)
_CATALOG = (
    ("course", 60, (29.0, 49.0, 99.0, 199.0)),
    ("column", 30, (9.9, 19.9, 29.9)),
    ("live", 16, (9.0, 19.0)),
    ("article", 200, None),
    ("repo", 40, None),
)


@dataclass(frozen=True)
class SynthConfig:
    """Everything that shapes a generated platform; the defaults make ``sample_data``."""

    users: int = 1_000
    days: int = 180
    seed: int = 7
    start: dt.date = dt.date(2026, 1, 1)
    existing_share: float = 0.6
    taste_weight: float = 2.5
    churn_concentration: float = 4.0
    churn_scale: float = 1.0
    membership_price: float = 15.0
    segments: dict[str, SegmentParams] = field(default_factory=lambda: dict(DEFAULT_SEGMENTS))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        return d


@dataclass(frozen=True)
class SynthData:
    """The generated canonical frames and the planted truth behind them."""

    users: pl.DataFrame
    items: pl.DataFrame
    events: pl.DataFrame
    truth_users: pl.DataFrame  # user_id, segment, taste, visit_prob, churn_hazard, price_sensitivity, churn_day
    truth_items: pl.DataFrame  # item_id, topic, quality
    config: SynthConfig

    def write(self, folder: Path, fmt: str = "csv") -> list[Path]:
        """Write users/items/events (ingestable) and truth_* (for tests and docs) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in (("users", self.users), ("items", self.items), ("events", self.events),
                            ("truth_users", self.truth_users), ("truth_items", self.truth_items)):
            path = folder / f"{name}.{fmt}"
            if fmt == "csv":
                out = frame.with_columns(
                    [pl.col(c).list.join("|") for c, t in frame.schema.items() if isinstance(t, pl.List)]
                    + [pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S") for c, t in frame.schema.items() if t == TS]
                )
                out.write_csv(path)
            elif fmt == "parquet":
                frame.write_parquet(path)
            else:
                raise ValueError(f"unknown format {fmt!r} (csv or parquet)")
            written.append(path)
        return written


class _EventLog:
    """Columns of events collected day by day, concatenated once at the end."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, users: np.ndarray, items: np.ndarray, kind: int | np.ndarray, seconds: np.ndarray,
            amount: np.ndarray | float = 0.0) -> None:
        n = len(users)
        if n == 0:
            return
        kinds = kind.astype(np.int8) if isinstance(kind, np.ndarray) else np.full(n, kind, dtype=np.int8)
        amounts = np.broadcast_to(np.asarray(amount, dtype=np.float64), (n,)).copy()
        self.parts.append((users.astype(np.int64), items.astype(np.int64), kinds, seconds.astype(np.int64), amounts))

    def frame(self, start: dt.datetime) -> pl.DataFrame:
        cols = [np.concatenate([p[i] for p in self.parts]) for i in range(5)] if self.parts else [np.array([])] * 5
        base = int(start.replace(tzinfo=dt.UTC).timestamp())
        return (
            pl.DataFrame({"user_id": cols[0], "item_id": cols[1], "kind": cols[2], "sec": cols[3], "amount": cols[4]},
                         schema={"user_id": pl.Int64, "item_id": pl.Int64, "kind": pl.Int8, "sec": pl.Int64,
                                 "amount": pl.Float64})
            .with_columns(
                pl.col("kind").replace_strict(dict(enumerate(_KINDS)), return_dtype=pl.String),
                ((pl.col("sec") + base) * 1_000_000).cast(TS).alias("ts"),
                pl.lit(1.0).alias("value"),
            )
            .sort(["sec", "user_id", "item_id", "kind"])
            .select("user_id", "item_id", "kind", "ts", "value", "amount")
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate(config: SynthConfig = SynthConfig()) -> SynthData:  # noqa: C901 - one day loop, read top to bottom
    """Generate a platform from ``config``; deterministic for a given config (seed included)."""
    rng = np.random.default_rng(config.seed)
    n, days = config.users, config.days
    if n < 50 or days < 1:
        raise ValueError("need at least 50 users and 1 day")
    seg_names = list(config.segments)
    P = {name: np.array([getattr(config.segments[s], name) for s in seg_names]) for name in SegmentParams.__dataclass_fields__}

    # --- users --------------------------------------------------------------------------
    segment = rng.choice(len(seg_names), size=n, p=np.array(SEGMENT_SHARE) / sum(SEGMENT_SHARE))
    taste = rng.integers(0, len(TOPICS), size=n)
    existing = rng.random(n) < config.existing_share
    joined_day = np.where(existing, -rng.integers(1, 366, size=n), rng.integers(0, days, size=n))
    visit_prob = np.minimum(P["visit"][segment] * rng.gamma(4.0, 0.25, size=n), 0.95)
    mean_churn = np.clip(P["churn"][segment] * config.churn_scale, 1e-6, 0.5)
    hazard = rng.beta(mean_churn * config.churn_concentration, (1 - mean_churn) * config.churn_concentration)
    price_sens = P["price_sensitivity"][segment]

    # --- catalog ------------------------------------------------------------------------
    scale = max(1.0, math.sqrt(n / 1000))
    kinds, prices, topics = [], [], []
    for kind, base, price_choices in _CATALOG:
        count = max(3, int(round(base * scale)))
        kinds += [kind] * count
        topics.append(rng.integers(0, len(TOPICS), size=count))
        prices.append(rng.choice(price_choices, size=count) if price_choices else np.full(count, np.nan))
    item_topic = np.concatenate(topics)
    item_price = np.concatenate(prices)
    n_static = len(kinds)
    quality = rng.normal(0.0, 0.6, size=n_static)
    membership_item = n_static  # index of the membership plan
    contributors = np.flatnonzero(segment == seg_names.index("contributor")) if "contributor" in seg_names else np.array([], int)
    others = np.setdiff1d(np.arange(n), contributors)
    n_creators = max(len(TOPICS), int(0.05 * n))
    creators = np.concatenate([rng.permutation(contributors), rng.permutation(others)])[:n_creators]
    item_creator = np.empty(n_static, dtype=np.int64)
    for t in range(len(TOPICS)):
        pool = creators[taste[creators] == t]
        pool = pool if len(pool) else creators
        members = np.flatnonzero(item_topic == t)
        item_creator[members] = rng.choice(pool, size=len(members))
    paid = ~np.isnan(item_price)
    log_price = np.where(paid, np.log(np.nan_to_num(item_price, nan=REFERENCE_PRICE) / REFERENCE_PRICE), 0.0)
    repo_mask = np.array([k == "repo" for k in kinds])

    # --- simulation state ---------------------------------------------------------------
    log = _EventLog()
    churned = np.zeros(n, dtype=bool)
    churn_day = np.full(n, -1, dtype=np.int64)
    member = np.zeros(n, dtype=bool)
    renew_day = np.full(n, -1, dtype=np.int64)
    owned: set[int] = set()
    questions_topic: list[int] = []
    questions_owner: list[int] = []
    questions_day: list[int] = []
    pending_refunds: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    match_bonus = config.taste_weight

    for d in range(days):
        day0 = d * 86_400
        active = (joined_day <= d) & ~churned
        # churn (not on the day a user joins)
        leaving = active & (joined_day < d) & (rng.random(n) < hazard)
        if leaving.any():
            churned |= leaving
            churn_day[leaving] = d
            gone_members = np.flatnonzero(leaving & member)
            log.add(gone_members, np.full(len(gone_members), membership_item), _K["cancel"],
                    day0 + rng.integers(0, 86_400, size=len(gone_members)))
            member[gone_members] = False
            active &= ~leaving
        # renewals due today
        due = np.flatnonzero(member & (renew_day == d))
        if len(due):
            renews = rng.random(len(due)) >= P["cancel"][segment[due]]
            t_due = day0 + rng.integers(0, 3_600, size=len(due))
            log.add(due[renews], np.full(renews.sum(), membership_item), _K["renew"], t_due[renews], config.membership_price)
            renew_day[due[renews]] = d + MEMBERSHIP_PERIOD_DAYS
            stop = due[~renews]
            log.add(stop, np.full(len(stop), membership_item), _K["cancel"], t_due[~renews])
            member[stop] = False
        # refunds due today
        for users_r, items_r, days_r, amounts_r in pending_refunds:
            today = days_r == d
            if today.any():
                log.add(users_r[today], items_r[today], _K["refund"],
                        day0 + rng.integers(0, 86_400, size=int(today.sum())), amounts_r[today])
        pending_refunds = [(u, i, dd, a) for u, i, dd, a in pending_refunds if (dd > d).any()]

        visitors = np.flatnonzero(active & (rng.random(n) < visit_prob))
        if len(visitors) == 0:
            continue
        v_seg = segment[visitors]
        t_visit = day0 + rng.integers(6 * 3_600, 23 * 3_600, size=len(visitors))

        # views: Gumbel-top-k over the static catalog
        k = np.minimum(1 + rng.poisson(P["views"][v_seg]), MAX_VIEWS)
        utility = match_bonus * (item_topic[None, :] == taste[visitors, None]) + quality[None, :]
        utility = utility + rng.gumbel(size=utility.shape)
        top = np.argpartition(-utility, MAX_VIEWS, axis=1)[:, :MAX_VIEWS]
        order = np.argsort(-np.take_along_axis(utility, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        slot = np.arange(MAX_VIEWS)[None, :]
        keep = slot < k[:, None]
        vi = np.repeat(np.arange(len(visitors)), MAX_VIEWS).reshape(-1, MAX_VIEWS)[keep]
        items_v = top[keep]
        users_v = visitors[vi]
        t_v = t_visit[vi] + 60 * np.broadcast_to(slot, keep.shape)[keep]
        log.add(users_v, items_v, _K["view"], t_v)
        seg_v = segment[users_v]
        on_taste = item_topic[items_v] == taste[users_v]

        like = rng.random(len(users_v)) < P["like"][seg_v] * np.where(on_taste, 1.0, 0.4)
        log.add(users_v[like], items_v[like], np.where(repo_mask[items_v[like]], _K["star"], _K["like"]), t_v[like] + 20)
        fav = rng.random(len(users_v)) < P["favorite"][seg_v]
        log.add(users_v[fav], items_v[fav], _K["favorite"], t_v[fav] + 25)
        com = rng.random(len(users_v)) < P["comment"][seg_v]
        log.add(users_v[com], items_v[com], _K["comment"], t_v[com] + 40)

        # purchases with planted price sensitivity
        cand = np.flatnonzero(paid[items_v])
        if len(cand):
            keys = users_v[cand] * (n_static + 1) + items_v[cand]
            not_owned = np.array([key not in owned for key in keys.tolist()], dtype=bool)
            cand = cand[not_owned]
            p_buy = _sigmoid(P["buy_intercept"][seg_v[cand]] + 1.5 * on_taste[cand]
                             - price_sens[users_v[cand]] * log_price[items_v[cand]])
            bought = cand[rng.random(len(cand)) < p_buy]
            # a user buys an item once, even if two views of it fell on one day
            keys_b = users_v[bought] * (n_static + 1) + items_v[bought]
            _, first = np.unique(keys_b, return_index=True)
            bought = bought[np.sort(first)]
            owned.update((users_v[bought] * (n_static + 1) + items_v[bought]).tolist())
            amounts = item_price[items_v[bought]]
            log.add(users_v[bought], items_v[bought], _K["purchase"], t_v[bought] + 30, amounts)
            refund = rng.random(len(bought)) < P["refund"][seg_v[bought]]
            refund_day = d + rng.integers(1, 8, size=len(bought))
            refund &= refund_day < days
            if refund.any():
                pending_refunds.append((users_v[bought][refund], items_v[bought][refund], refund_day[refund], amounts[refund]))

        # membership
        joiners = visitors[~member[visitors] & (rng.random(len(visitors)) < P["subscribe"][v_seg])]
        log.add(joiners, np.full(len(joiners), membership_item), _K["subscribe"],
                t_visit[np.searchsorted(visitors, joiners)] + 600, config.membership_price)
        member[joiners] = True
        renew_day[joiners] = d + MEMBERSHIP_PERIOD_DAYS

        # questions asked today become items; answers go to earlier open questions of the topic
        asks = visitors[rng.random(len(visitors)) < P["ask"][v_seg]]
        first_q = n_static + 1 + len(questions_topic)
        q_ids = np.arange(first_q, first_q + len(asks))
        log.add(asks, q_ids, _K["ask"], t_visit[np.searchsorted(visitors, asks)] + 900)
        answerers = visitors[rng.random(len(visitors)) < P["answer"][v_seg]]
        if len(answerers) and questions_topic:
            q_topic = np.array(questions_topic)
            q_owner = np.array(questions_owner)
            recent = np.flatnonzero(np.array(questions_day) >= d - 30)
            for u in answerers.tolist():
                pool = recent[(q_topic[recent] == taste[u]) & (q_owner[recent] != u)]
                if len(pool):
                    q = int(rng.choice(pool))
                    log.add(np.array([u]), np.array([n_static + 1 + q]), _K["answer"],
                            np.array([t_visit[np.searchsorted(visitors, u)] + 1_200]))
        questions_topic += taste[asks].tolist()
        questions_owner += asks.tolist()
        questions_day += [d] * len(asks)

    return _assemble(config, rng, segment, seg_names, taste, joined_day, visit_prob, hazard, price_sens, churn_day,
                     kinds, item_topic, item_price, item_creator, quality, questions_topic, questions_owner,
                     questions_day, log)


def _assemble(config, rng, segment, seg_names, taste, joined_day, visit_prob, hazard, price_sens, churn_day,
              kinds, item_topic, item_price, item_creator, quality, questions_topic, questions_owner, questions_day,
              log: _EventLog) -> SynthData:
    """Turn the day loop's arrays into canonical frames (1-based IDs) and the truth frames."""
    n, n_static = len(segment), len(kinds)
    start = dt.datetime.combine(config.start, dt.time())
    events = log.frame(start).with_columns(pl.col("user_id") + 1, pl.col("item_id") + 1)
    joined = [start + dt.timedelta(days=int(d), seconds=int(s))
              for d, s in zip(joined_day, rng.integers(0, 86_400, size=n), strict=True)]
    countries = np.array(["CN", "US", "IN", "DE", "BR", "JP", "GB", "FR"])
    users = pl.DataFrame({
        "user_id": np.arange(1, n + 1, dtype=np.int64),
        "joined_at": pl.Series(joined, dtype=TS),
        "country": countries[rng.integers(0, len(countries), size=n)],
    })
    # static items, the membership plan, then the questions asked
    q_count = len(questions_topic)
    created_static = [start - dt.timedelta(days=int(x)) for x in rng.integers(1, 720, size=n_static)]
    asked = events.filter(pl.col("kind") == "ask").sort("item_id")
    item_kind = kinds + ["membership"] + ["question"] * q_count
    topic_all = np.concatenate([item_topic, [-1], np.array(questions_topic, dtype=np.int64)])
    numbers: dict[str, int] = {}
    titles = []
    for kind, t in zip(item_kind, topic_all.tolist(), strict=True):
        numbers[kind] = numbers.get(kind, 0) + 1
        titles.append("Membership (monthly)" if kind == "membership"
                      else f"{kind.capitalize()} #{numbers[kind]} on {TOPICS[t]}")
    items = pl.DataFrame({
        "item_id": np.arange(1, n_static + 2 + q_count, dtype=np.int64),
        "kind": item_kind,
        "creator_id": np.concatenate([item_creator + 1, [0], np.array(questions_owner, dtype=np.int64) + 1]),
        "price": np.concatenate([item_price, [config.membership_price], np.full(q_count, np.nan)]),
        "tags": [[TOPICS[t]] if t >= 0 else ["membership"] for t in topic_all.tolist()],
        "created_at": pl.Series(created_static + [start - dt.timedelta(days=365)]
                                + asked["ts"].to_list(), dtype=TS),
        "title": titles,
    }).with_columns(
        pl.when(pl.col("creator_id") == 0).then(None).otherwise(pl.col("creator_id")).alias("creator_id"),
        pl.col("price").fill_nan(None),
    )
    truth_users = pl.DataFrame({
        "user_id": np.arange(1, n + 1, dtype=np.int64),
        "segment": [seg_names[s] for s in segment.tolist()],
        "taste": [TOPICS[t] for t in taste.tolist()],
        "joined_day": joined_day,
        "visit_prob": visit_prob,
        "churn_hazard": hazard,
        "price_sensitivity": price_sens,
        "churn_day": pl.Series(churn_day).replace(-1, None),
    })
    truth_items = pl.DataFrame({
        "item_id": np.arange(1, n_static + 2, dtype=np.int64),
        "topic": [TOPICS[t] for t in item_topic.tolist()] + [None],
        "quality": np.concatenate([quality, [np.nan]]),
    }).with_columns(pl.col("quality").fill_nan(None))
    return SynthData(users, items, events, truth_users, truth_items, config)
