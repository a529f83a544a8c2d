"""Membership tiers: subscribe, trials, renew, upgrade/downgrade, cancel — and the MRR roll-forward.

Choices are multinomial logits over "none" (utility 0) and the tiers on sale. For an agent of
segment ``s`` tier ``t`` has utility::

    V_st = logit(subscribe_s) - α_s · ln(monthly_t / P) + value_t

where ``P`` is the calibrated plan's monthly price (the first tier's when the data has no
plan) and ``subscribe_s`` the calibrated chance per visit of subscribing to it, so the
calibrated plan reproduces the data. At a renewal the current tier gets the
loyalty ``κ_s = logit(1 - cancel_s) - logit(subscribe_s)``, so a member of the calibrated plan
renews with probability ``1 - cancel_s``; a cheaper or dearer tier, or the same one at a new
price, moves these odds through the price sensitivity α_s (the one fitted on purchases).

MRR is a member's monthly-equivalent price (annual / 12); members in a trial have none.
Each day: ``MRR_end = MRR_start + new + expansion - contraction - churn``, where ``new`` is
first payments (including converted trials), ``expansion``/``contraction`` tier changes at
renewal, ``churn`` cancellations and members who left the platform.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from engine.simulate import rng
from engine.simulate.gather import take
from engine.simulate.levers import Membership
from engine.simulate.money import per_replicate_sum
from engine.simulate.world import Segments

ANNUAL_DAYS = 365
_LOGIT_CAP = 30.0


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.clip(np.log(p) - np.log1p(-p), -_LOGIT_CAP, _LOGIT_CAP)


def _mnl_cdf(v: torch.Tensor) -> torch.Tensor:
    """``P(none), P(none) + P(tier 0), …`` (all but the last, which is 1) of the logit over
    {none (utility 0), tiers ``v[..., t]``}."""
    logits = torch.cat([torch.zeros(*v.shape[:-1], 1, device=v.device), v], dim=-1)
    return torch.cumsum(torch.softmax(logits, dim=-1), dim=-1)[..., :-1]


class Memberships:
    """Tier state of every agent and the day's MRR movements."""

    def __init__(self, plan: Membership, segments: Segments, *, plan_price: float, kinds: list[str],
                 member0: torch.Tensor, renew0: torch.Tensor, replicates: int, draws: rng.Draws) -> None:
        dev = member0.device
        self.plan, self.draws, self.r = plan, draws, replicates
        self.n = member0.numel() // replicates
        tiers = plan.tiers
        self.on = len(tiers) > 0
        self.monthly = torch.tensor([t.monthly_price for t in tiers], dtype=torch.float64, device=dev)
        self.annual = torch.tensor([t.annual_price if t.annual_price else math.nan for t in tiers],
                                   dtype=torch.float64, device=dev)
        self.annual_share = torch.tensor([t.annual_share for t in tiers], dtype=torch.float32, device=dev)
        self.ad_free = torch.tensor([t.ad_free for t in tiers], dtype=torch.bool, device=dev)
        self.any_ad_free = any(t.ad_free for t in tiers)
        self.includes = torch.tensor([[k in t.includes for k in kinds] for t in tiers], dtype=torch.bool,
                                     device=dev).reshape(len(tiers), len(kinds))
        sub = np.full(segments.count, plan.subscribe_rate) if plan.subscribe_rate is not None else segments.subscribe
        cancel = np.full(segments.count, plan.cancel_rate) if plan.cancel_rate is not None else segments.cancel
        ref_plan = plan_price if plan_price > 0 else (tiers[0].monthly_price if tiers else 1.0)
        alpha = segments.price_sensitivity
        # V_st = logit(subscribe_s) - α_s·ln(monthly_t / P) + value_t
        prices = np.array([max(t.monthly_price, 1e-9) for t in tiers])
        value = np.array([t.value for t in tiers])
        v = _logit(sub)[:, None] - alpha[:, None] * np.log(prices[None, :] / max(ref_plan, 1e-9)) + value[None, :]
        self.utility = torch.tensor(np.clip(v, -_LOGIT_CAP, _LOGIT_CAP), dtype=torch.float32, device=dev)  # [S, T]
        self.loyalty = torch.tensor(_logit(1.0 - cancel) - _logit(sub), dtype=torch.float32, device=dev)  # [S]
        # the logits depend on the segment (and at renewal the current tier) only: their CDFs once
        t = len(tiers)
        self.join_cdf = _mnl_cdf(self.utility)  # [S, T]
        eye = torch.eye(t, dtype=torch.float32, device=dev)
        self.renew_cdf = _mnl_cdf(self.utility[:, None, :] + self.loyalty[:, None, None] * eye).reshape(segments.count * t, t)
        n = member0.numel()
        start = member0 & self.on
        self.tier = torch.where(start, 0, -1).to(torch.int64)
        self.annual_billing = torch.zeros(n, dtype=torch.bool, device=dev)
        self.trial = torch.zeros(n, dtype=torch.bool, device=dev)
        self.renew_day = renew0.clone()
        self.mrr = torch.where(start, self.monthly[0] if self.on else 0.0, 0.0).to(torch.float64)
        self.rows = torch.nonzero(start).flatten()  # sorted rows holding a tier (trials included)
        self.open_mrr = per_replicate_sum(self.rows // self.n, self.mrr[self.rows], self.r)
        self.movements = self._zeros()

    def _zeros(self) -> dict[str, torch.Tensor]:
        z = lambda: torch.zeros(self.r, dtype=torch.float64, device=self.tier.device)
        return {"mrr_open": self.open_mrr, "mrr_new": z(), "mrr_expansion": z(), "mrr_contraction": z(),
                "mrr_churn": z()}

    # --- questions -------------------------------------------------------------------------

    def includes_item(self, rows: torch.Tensor, item_kind: torch.Tensor) -> torch.Tensor:
        """Whether each row's tier (trial included) opens an item of kind ``item_kind`` for free."""
        if not self.on:
            return torch.zeros_like(rows, dtype=torch.bool)
        t = take(self.tier, rows)
        return (t >= 0) & take(self.includes.view(-1), t.clamp(min=0) * self.includes.shape[1] + item_kind)

    def ad_free_of(self, rows: torch.Tensor) -> torch.Tensor:
        """Whether each of ``rows`` holds a tier without ads."""
        if not self.on:
            return torch.zeros_like(rows, dtype=torch.bool)
        t = take(self.tier, rows)
        return (t >= 0) & take(self.ad_free, t.clamp(min=0))

    # --- changes ---------------------------------------------------------------------------

    def _mrr_of(self, tier: torch.Tensor, annual: torch.Tensor) -> torch.Tensor:
        return torch.where(annual, self.annual[tier] / 12.0, self.monthly[tier])

    def _price_of(self, tier: torch.Tensor, annual: torch.Tensor) -> torch.Tensor:
        return torch.where(annual, self.annual[tier], self.monthly[tier])

    def _period(self, annual: torch.Tensor) -> torch.Tensor:
        return torch.where(annual, ANNUAL_DAYS, self.plan.period_days)

    def _book(self, key: str, rows: torch.Tensor, values: torch.Tensor) -> None:
        self.movements[key] += per_replicate_sum(rows // self.n, values, self.r)

    def _compact(self) -> None:
        self.rows = self.rows[self.tier[self.rows] >= 0]

    def leave(self, rows: torch.Tensor) -> None:
        """Members among ``rows`` (sorted) left the platform: their MRR churns."""
        if self.rows.numel() == 0:
            return
        rows = rows[self.tier[rows] >= 0]
        self._book("mrr_churn", rows, self.mrr[rows])
        self.tier[rows], self.trial[rows], self.mrr[rows] = -1, False, 0.0
        self._compact()

    def _pick(self, rows: torch.Tensor, segment: torch.Tensor, day: int, stream: str, loyal: bool) -> torch.Tensor:
        """MNL draw over {none, tiers}: 0 = none, t+1 = tier t (the current tier adds the loyalty
        when ``loyal``)."""
        seg = take(segment, rows)
        if loyal:
            cdf = take(self.renew_cdf, seg * self.utility.shape[1] + take(self.tier, rows).clamp(min=0))
        else:
            cdf = take(self.join_cdf, seg)
        u = self.draws.uniform(stream, day, rows)
        return (u[:, None] > cdf).sum(dim=1)

    def subscribe(self, rows: torch.Tensor, segment: torch.Tensor, day: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Visiting non-members choose a tier or none; returns (paying rows, amounts) of first
        payments (none when tiers start with a trial)."""
        empty = rows[:0], torch.zeros(0, dtype=torch.float64, device=rows.device)
        if not self.on or len(rows) == 0:
            return empty
        rows = rows[self.tier[rows] < 0]
        choice = self._pick(rows, segment, day, "subscribe", loyal=False)
        rows, tier = rows[choice > 0], choice[choice > 0] - 1
        has_annual = ~torch.isnan(self.annual[tier])
        annual = has_annual & (self.draws.uniform("billing", day, rows) < self.annual_share[tier])
        self.tier[rows], self.annual_billing[rows] = tier, annual
        self.rows = torch.sort(torch.cat([self.rows, rows])).values
        if self.plan.trial_days > 0:
            self.trial[rows] = True
            self.renew_day[rows] = day + self.plan.trial_days
            return empty
        return self._start_paying(rows, day)

    def _start_paying(self, rows: torch.Tensor, day: int) -> tuple[torch.Tensor, torch.Tensor]:
        tier, annual = self.tier[rows], self.annual_billing[rows]
        self.trial[rows] = False
        self.mrr[rows] = self._mrr_of(tier, annual)
        self.renew_day[rows] = day + self._period(annual)
        self._book("mrr_new", rows, self.mrr[rows])
        return rows, self._price_of(tier, annual)

    def end_trials(self, day: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Trials ending today convert with ``trial_conversion`` (a first payment) or lapse."""
        rows = self.rows
        if rows.numel() == 0:
            return rows, torch.zeros(0, dtype=torch.float64, device=rows.device)
        due = rows[self.trial[rows] & (self.renew_day[rows] == day)]
        converts = self.draws.uniform("trial", day, due) < self.plan.trial_conversion
        lapsed = due[~converts]
        self.tier[lapsed], self.trial[lapsed] = -1, False
        self._compact()
        return self._start_paying(due[converts], day)

    def renew(self, segment: torch.Tensor, day: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Paying members due today renew, switch tier or cancel; returns (rows, amounts) paid."""
        rows = self.rows
        if rows.numel() == 0:
            return rows, torch.zeros(0, dtype=torch.float64, device=rows.device)
        due = rows[~self.trial[rows] & (self.renew_day[rows] == day)]
        if len(due) == 0:
            return due, torch.zeros(0, dtype=torch.float64, device=due.device)
        choice = self._pick(due, segment, day, "renew", loyal=True)
        old = self.mrr[due]
        gone = due[choice == 0]
        self._book("mrr_churn", gone, self.mrr[gone])
        self.tier[gone], self.mrr[gone] = -1, 0.0
        self._compact()
        stay = choice > 0
        rows, tier = due[stay], choice[stay] - 1
        annual = self.annual_billing[rows] & ~torch.isnan(self.annual[tier])
        self.tier[rows], self.annual_billing[rows] = tier, annual
        new = self._mrr_of(tier, annual)
        change = new - old[stay]
        self._book("mrr_expansion", rows, change.clamp(min=0.0))
        self._book("mrr_contraction", rows, (-change).clamp(min=0.0))
        self.mrr[rows] = new
        self.renew_day[rows] = day + self._period(annual)
        return rows, self._price_of(tier, annual)

    def close(self) -> dict[str, torch.Tensor]:
        """The day's opening MRR, its movements, and at the end of the day the MRR, paying
        members and trials (per replicate)."""
        out = self.movements
        rows = self.rows
        trial = self.trial[rows]
        out["mrr"] = per_replicate_sum(rows // self.n, self.mrr[rows], self.r)
        out["members"] = torch.bincount(rows[~trial] // self.n, minlength=self.r)
        out["trials"] = torch.bincount(rows[trial] // self.n, minlength=self.r)
        self.open_mrr = out["mrr"]
        self.movements = self._zeros()
        return out
