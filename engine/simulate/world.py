"""What a simulation starts from: segments, the catalog and the real users agents are drawn from.

A :class:`World` is what calibration produces (:mod:`engine.simulate.calibrate`) and what the
simulator consumes; it is plain NumPy, saved as one ``.npz`` file (no pickles) by
:meth:`World.save` and read back by :meth:`World.load`. :func:`toy_world` builds one from a few
numbers, for tests and benchmarks that need a world without a dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

#: Per-segment parameters (each an array of length S); see :class:`Segments`.
SEGMENT_FIELDS = ("share", "visit_mean", "visit_concentration", "churn_mean", "churn_concentration",
                  "attention", "choice_sensitivity", "buy_intercept", "price_sensitivity", "refund",
                  "subscribe", "cancel", "contribute")


@dataclass(frozen=True)
class Segments:
    """Behaviour parameters of each segment (arrays of length S).

    * ``visit_mean``, ``visit_concentration``: daily visit probability ``p ~ Beta(m·c, (1-m)·c)``
      (``c = inf``: every agent has ``p = m``) — the BG/BB transaction process;
    * ``churn_mean``, ``churn_concentration``: daily churn hazard ``θ ~ Beta`` likewise — the
      shifted-beta-geometric dropout of Fader & Hardie (2007), whose survivors churn less;
    * ``attention``: λ, items looked at per visit = 1 + Poisson(λ) (at most the slate size);
    * ``choice_sensitivity``: β, weight of taste affinity in the choice utility;
    * ``buy_intercept``, ``price_sensitivity``: P(buy | viewed) = σ(b − α·ln(price / reference));
    * ``refund``: probability that a purchase is refunded;
    * ``subscribe``: probability per visit that a non-member subscribes at the reference plan price;
    * ``cancel``: probability that a member cancels at a renewal of the reference plan;
    * ``contribute``: probability per visit of a contribution (a question, an answer, a post).
    """

    names: tuple[str, ...]
    share: np.ndarray
    visit_mean: np.ndarray
    visit_concentration: np.ndarray
    churn_mean: np.ndarray
    churn_concentration: np.ndarray
    attention: np.ndarray
    choice_sensitivity: np.ndarray
    buy_intercept: np.ndarray
    price_sensitivity: np.ndarray
    refund: np.ndarray
    subscribe: np.ndarray
    cancel: np.ndarray
    contribute: np.ndarray

    @property
    def count(self) -> int:
        return len(self.names)

    def table(self) -> list[dict]:
        """One dict per segment (for printing what calibration fitted)."""
        return [{"segment": name, **{f: float(getattr(self, f)[s]) for f in SEGMENT_FIELDS}}
                for s, name in enumerate(self.names)]


@dataclass(frozen=True)
class Catalog:
    """The items agents are shown: M items, each a taste vector in D dimensions."""

    item_ids: np.ndarray  # [M] str: the dataset's item IDs
    kind: np.ndarray  # [M] str
    vectors: np.ndarray  # [M, D] float32: topic shares (or a model's item embeddings)
    quality: np.ndarray  # [M] float32: item fixed effect in the choice utility
    price: np.ndarray  # [M] float64: list price, 0 = free
    creator: np.ndarray  # [M] int64: creator index, -1 = none
    popularity: np.ndarray  # [M] float64: interactions in the calibration window
    dimensions: tuple[str, ...]  # [D] names (tags)

    @property
    def size(self) -> int:
        return len(self.item_ids)

    @property
    def creators(self) -> int:
        return int(self.creator.max()) + 1 if self.size and self.creator.max() >= 0 else 0


@dataclass(frozen=True)
class SourceUsers:
    """The real users agents are drawn from, with their state at the end of the window.

    ``x``, ``t_x``, ``n``: the BG/BB summary (active days, last active opportunity, opportunities)
    from which each user's chance of being alive and posterior visit/churn rates follow.
    """

    user_ids: np.ndarray  # [U] str
    segment: np.ndarray  # [U] int64
    taste: np.ndarray  # [U, D] float32
    x: np.ndarray  # [U] int64
    t_x: np.ndarray  # [U] int64
    n: np.ndarray  # [U] int64
    days_since_visit: np.ndarray  # [U] int64, large when never
    days_since_payment: np.ndarray  # [U] int64, -1 when never paid
    member: np.ndarray  # [U] bool: a paying member at the end of the window
    days_to_renewal: np.ndarray  # [U] int64: days from the window's end to the next billing
    contributions: np.ndarray  # [U] int64
    recent: np.ndarray  # [U] bool: joined inside the window (arrivals are drawn from these)

    @property
    def count(self) -> int:
        return len(self.user_ids)


@dataclass(frozen=True)
class ItemArrivals:
    """How the catalog grows during a run: new items per day of each kind, and the recent
    catalog items a new one is a copy of.

    A new item of kind ``k`` copies the kind, tag vector, quality, price and creator of one
    of the ``pool`` items of kind ``k`` (a bootstrap of the recent catalog, so kinds, tags,
    prices and qualities keep their joint distribution); :mod:`engine.simulate.arrivals`
    draws them. A kind without a pool item gets no arrivals.
    """

    kinds: tuple[str, ...]
    per_day: np.ndarray  # [K] float64: new items of each kind per day
    pool: np.ndarray  # [P] int64: catalog indices of the items new ones copy

    @staticmethod
    def none() -> ItemArrivals:
        """A catalog that does not grow (worlds saved before arrivals were calibrated)."""
        return ItemArrivals(kinds=(), per_day=np.zeros(0), pool=np.zeros(0, dtype=np.int64))

    @staticmethod
    def resampling(catalog: Catalog, per_day: dict[str, float]) -> ItemArrivals:
        """``per_day[kind]`` new items a day of each kind, copies of any catalog item of that kind."""
        kinds = tuple(sorted(per_day))
        return ItemArrivals(kinds=kinds, per_day=np.array([float(per_day[k]) for k in kinds]),
                            pool=np.flatnonzero(np.isin(catalog.kind, kinds)).astype(np.int64))

    def table(self) -> dict[str, float]:
        """New items per day by kind (for printing what calibration fitted)."""
        return {k: float(r) for k, r in zip(self.kinds, self.per_day, strict=True)}


@dataclass(frozen=True)
class Answering:
    """Which question a contributing visitor answers (:mod:`engine.simulate.questions`).

    With probability ``fresh_share`` an open question of the run (asked in its replicate,
    available) younger than ``window_days``, drawn with weight ``exp(−age/tau_days)``; otherwise
    (and when none is open) the first question they opened that day; ``unanswered_boost``
    multiplies the weight of a question without an answer at the start of the day. Calibrated from the data's
    answers (:func:`engine.simulate.questions.fit_answering`); ``fresh_share`` 0, the default
    of worlds saved before, always answers the first question opened.
    """

    fresh_share: float = 0.0  # the data's share of answers to questions younger than window_days
    tau_days: float = 1.0  # the age scale of the weight exp(-age/tau) among those
    unanswered_boost: float = 1.0
    window_days: int = 30

    def table(self) -> dict[str, float]:
        """The parameters (for printing what calibration fitted)."""
        return {"fresh_share": self.fresh_share, "tau_days": self.tau_days,
                "unanswered_boost": self.unanswered_boost, "window_days": self.window_days}


@dataclass(frozen=True)
class World:
    """Everything calibrated: the simulation's starting point."""

    segments: Segments
    catalog: Catalog
    users: SourceUsers
    arrivals_per_day: float
    reference_price: float  # the price at which ``buy_intercept`` holds (median paid price)
    plan_price: float  # the calibrated monthly membership price (0 when the data has none)
    period_days: int  # billing period of the calibrated plan
    start: str  # ISO date of the first simulated day
    notes: tuple[str, ...] = ()  # what the data could not identify
    item_arrivals: ItemArrivals = field(default_factory=ItemArrivals.none)
    arrival_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per simulated day, the arrival rate relative to ``arrivals_per_day`` (a calendar: a trend,
    launches); empty: the same rate every day. A run draws ``arrivals_per_day · Σ weights``
    arrivals and their join days in proportion to the weights (:mod:`engine.simulate.population`)."""
    answering: Answering = field(default_factory=Answering)
    """How contributors pick the question they answer; the default answers the first one opened."""

    def save(self, path: Path) -> None:
        """Write to ``path`` (.npz; numbers as arrays, names and scalars as JSON)."""
        arrays: dict[str, np.ndarray] = {}
        for prefix, part in (("segments", self.segments), ("catalog", self.catalog), ("users", self.users)):
            for f in fields(part):
                value = getattr(part, f.name)
                if isinstance(value, np.ndarray):
                    arrays[f"{prefix}.{f.name}"] = value
        meta = {
            "segment_names": list(self.segments.names), "dimensions": list(self.catalog.dimensions),
            "arrivals_per_day": self.arrivals_per_day, "reference_price": self.reference_price,
            "plan_price": self.plan_price, "period_days": self.period_days, "start": self.start,
            "notes": list(self.notes), "arrival_kinds": list(self.item_arrivals.kinds),
            "answering": self.answering.table(),
        }
        arrays["arrivals.per_day"] = self.item_arrivals.per_day
        arrays["arrivals.pool"] = self.item_arrivals.pool
        arrays["arrival_weights"] = self.arrival_weights
        arrays["meta"] = np.array(json.dumps(meta))
        with open(path, "wb") as fh:
            # the keys are 'part.field', 'arrival_weights' and 'meta', never allow_pickle: bool, which mypy cannot know (mypy#5382)
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> World:
        """Read a file :meth:`save` wrote; one saved before item arrivals has a catalog that does not
        grow, one saved before arrival weights the same arrival rate every day, one saved before
        the answering model answers the first question opened."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            part = {p: {k.split(".", 1)[1]: data[k] for k in data.files if k.startswith(p + ".")}
                    for p in ("segments", "catalog", "users", "arrivals")}
            weights = data["arrival_weights"] if "arrival_weights" in data.files else np.zeros(0)
        arrivals = (ItemArrivals(kinds=tuple(meta["arrival_kinds"]), **part["arrivals"]) if "arrival_kinds" in meta
                    else ItemArrivals.none())
        fitted = meta.get("answering", {})
        answering = Answering(fresh_share=float(fitted.get("fresh_share", 0.0)),
                              tau_days=float(fitted.get("tau_days", 1.0)),
                              unanswered_boost=float(fitted.get("unanswered_boost", 1.0)),
                              window_days=int(fitted.get("window_days", 30)))
        return cls(
            segments=Segments(names=tuple(meta["segment_names"]), **part["segments"]),
            catalog=Catalog(dimensions=tuple(meta["dimensions"]), **part["catalog"]),
            users=SourceUsers(**part["users"]),
            arrivals_per_day=meta["arrivals_per_day"], reference_price=meta["reference_price"],
            plan_price=meta["plan_price"], period_days=meta["period_days"], start=meta["start"],
            notes=tuple(meta["notes"]), item_arrivals=arrivals, arrival_weights=weights, answering=answering,
        )


def uniform_segments(names: tuple[str, ...] = ("all",), **values: float | list[float]) -> Segments:
    """Segments with the given parameters (scalars apply to every segment); the rest default to
    a quiet platform: visit 0.2, churn 1/200, no purchases, subscriptions or contributions."""
    defaults = {"share": 1.0 / len(names), "visit_mean": 0.2, "visit_concentration": np.inf,
                "churn_mean": 1 / 200, "churn_concentration": np.inf, "attention": 0.5,
                "choice_sensitivity": 2.5, "buy_intercept": -np.inf, "price_sensitivity": 1.0,
                "refund": 0.0, "subscribe": 0.0, "cancel": 0.0, "contribute": 0.0}
    unknown = set(values) - set(defaults)
    if unknown:
        raise ValueError(f"unknown segment parameter(s): {', '.join(sorted(unknown))}")
    merged = {**defaults, **values}
    return Segments(names=tuple(names), **{k: np.broadcast_to(np.asarray(v, dtype=np.float64), (len(names),)).copy()
                                           for k, v in merged.items()})


def toy_world(
    users: int = 1_000,
    items: int = 200,
    topics: int = 6,
    *,
    segments: Segments | None = None,
    prices: tuple[float, ...] = (0.0, 0.0, 9.9, 29.0, 49.0),
    creators: int = 40,
    quality_sd: float = 0.6,
    arrivals_per_day: float = 0.0,
    new_items_per_day: float = 0.0,
    plan_price: float = 15.0,
    seed: int = 0,
) -> World:
    """A world from a few numbers: one-hot topic tastes, random items, every user alive at day 0.

    Item ``j`` has topic ``j mod topics``, quality ``N(0, quality_sd)``, a price drawn from
    ``prices`` and a creator; user ``i`` has taste topic ``i mod topics`` and segment
    ``i mod S``. ``new_items_per_day`` items arrive a day, each kind in its share of the
    catalog, as copies of any item of their kind. Used by tests (planted, known parameters)
    and benchmarks.
    """
    rng = np.random.default_rng(seed)
    segs = segments or uniform_segments()
    topic = np.arange(items) % topics
    vectors = np.eye(topics, dtype=np.float32)[topic]
    catalog = Catalog(
        item_ids=np.arange(1, items + 1).astype(str),
        kind=np.where(rng.random(items) < 0.5, "course", "article").astype(str),
        vectors=vectors,
        quality=rng.normal(0.0, quality_sd, items).astype(np.float32),
        price=rng.choice(np.asarray(prices, dtype=np.float64), size=items),
        creator=rng.integers(0, creators, size=items).astype(np.int64),
        popularity=np.zeros(items),
        dimensions=tuple(f"topic{t}" for t in range(topics)),
    )
    zeros = np.zeros(users, dtype=np.int64)
    source = SourceUsers(
        user_ids=np.arange(1, users + 1).astype(str),
        segment=(np.arange(users) % segs.count).astype(np.int64),
        taste=np.eye(topics, dtype=np.float32)[np.arange(users) % topics],
        x=zeros, t_x=zeros, n=zeros,
        days_since_visit=np.full(users, 10_000, dtype=np.int64),
        days_since_payment=np.full(users, -1, dtype=np.int64),
        member=np.zeros(users, dtype=bool), days_to_renewal=zeros,
        contributions=zeros, recent=np.ones(users, dtype=bool),
    )
    kinds, counts = np.unique(catalog.kind, return_counts=True)
    growth = ItemArrivals.resampling(catalog, {str(k): new_items_per_day * c / items for k, c in zip(kinds, counts,
                                                                                                     strict=True)})
    return World(segs, catalog, source, arrivals_per_day=arrivals_per_day, reference_price=30.0,
                 plan_price=plan_price, period_days=30, start="2026-01-01",
                 item_arrivals=growth if new_items_per_day > 0 else ItemArrivals.none())
