"""The levers a scenario pulls: membership tiers, money streams, behaviour knobs, incentives, run size.

Plain frozen dataclasses with the defaults of "the platform as calibrated"; a scenario file
(:mod:`engine.simulate.scenario`) fills them, the simulator (:mod:`engine.simulate.run`) reads
them. Prices live on the catalog (see :func:`engine.simulate.scenario.apply_prices`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

INCENTIVE_ACTIONS = ("contribute", "visit")


@dataclass(frozen=True)
class Tier:
    """One membership tier.

    ``includes``: item kinds members open without buying; ``value``: extra utility of the tier
    over the calibrated plan in the subscribe/renew logits; ``annual_share``: share of new
    subscribers who take the annual price (when there is one).
    """

    name: str
    monthly_price: float
    annual_price: float | None = None
    annual_share: float = 0.0
    includes: tuple[str, ...] = ()
    ad_free: bool = False
    value: float = 0.0


@dataclass(frozen=True)
class Membership:
    """Tiers on sale, trials, and optional overrides of the calibrated propensities.

    ``subscribe_rate`` / ``cancel_rate`` (when set) replace the calibrated per-visit subscribe
    probability and per-renewal cancel probability at the reference plan price, for every segment.
    """

    tiers: tuple[Tier, ...] = ()
    trial_days: int = 0
    trial_conversion: float = 1.0
    subscribe_rate: float | None = None
    cancel_rate: float | None = None
    period_days: int = 30


@dataclass(frozen=True)
class Money:
    """Money streams besides prices: ads, sponsorship, payment fees and creator revenue shares."""

    ads_impressions_per_visit: float = 0.0
    ads_cpm: float = 0.0
    sponsorship_amount: float = 0.0
    sponsorship_period_days: int = 30
    payment_fee_rate: float = 0.0
    payment_fee_fixed: float = 0.0
    creator_share: float = 0.0  # of one-off sales, net of refunds
    membership_creator_share: float = 0.0  # of membership payments
    ads_creator_share: float = 0.0  # of ads revenue
    refund_scale: float = 1.0  # multiplies the calibrated refund probabilities


@dataclass(frozen=True)
class Behaviour:
    """Knobs the event log cannot identify, with their documented defaults.

    Satisfaction ``σ`` follows ``σ ← (1-ρ)σ + ρ(ū - u_ref)`` on each visit (ū: mean utility of
    what was opened, ``outside_utility`` when nothing was); it multiplies the visit probability
    by ``exp(satisfaction_visit·σ)`` and the churn hazard by ``exp(-satisfaction_churn·σ)``.
    """

    outside_utility: float = 0.0
    satisfaction_rate: float = 0.1
    satisfaction_visit: float = 0.3
    satisfaction_churn: float = 0.3
    max_visit: float = 0.95


@dataclass(frozen=True)
class Incentive:
    """A badge ladder on one action (Anderson, Huttenlocher, Kleinberg & Leskovec 2013).

    Before each threshold ``T`` the action's probability is multiplied by
    ``1 + strength·exp(-(T - c - 1)/width)`` where ``c`` is the agent's count so far: the pull
    grows as the badge nears and vanishes once it is earned (the next badge is far).
    ``strength = 0`` switches the program off while still measuring around the thresholds.
    """

    action: str
    thresholds: tuple[int, ...]
    strength: float = 1.0
    width: float = 3.0
    name: str = ""


@dataclass(frozen=True)
class Settings:
    """How big and how random a run is."""

    days: int = 90
    replicates: int = 16
    seed: int = 0
    slate_size: int = 10
    device: str = "auto"
    tracked_pairs: int = 200  # user pairs whose consumed-item Jaccard measures homogenisation
    level: float = 0.95  # interval coverage


@dataclass(frozen=True)
class Levers:
    """Everything a scenario sets besides the policy and the prices."""

    membership: Membership = field(default_factory=Membership)
    money: Money = field(default_factory=Money)
    behaviour: Behaviour = field(default_factory=Behaviour)
    incentives: tuple[Incentive, ...] = ()
