"""The day's money, booked per stream and per replicate, split three ways at every transaction.

Each payment ``a`` (a one-off purchase, a first subscription payment, a renewal) is split at
booking into the **payment fee** ``rate·a + fixed``, the **creator share** ``share·a`` and the
**platform's part** — the remainder. A refund returns ``a`` and takes back the creator share
(payment fees are not returned). Ads pay ``impressions × CPM / 1000`` with their own creator
share; sponsorship pays a fixed amount on the first day of each period, all to the platform.
Every day::

    gross = purchases + subscriptions + renewals + ads + sponsorship - refunds
          = creator_payouts + payment_fees + platform_net

Sums are float64 and computed per replicate by a cumulative sum over rows sorted by replicate,
which is deterministic on every device (no atomic float additions).
"""

from __future__ import annotations

import torch

from engine.simulate.levers import Money

STREAMS = ("revenue_purchases", "revenue_subscriptions", "revenue_renewals", "revenue_ads",
           "revenue_sponsorship", "refunds", "payment_fees", "creator_payouts", "platform_net")


def per_replicate_sum(replicate: torch.Tensor, values: torch.Tensor, replicates: int) -> torch.Tensor:
    """Sum ``values`` by ``replicate`` (non-decreasing) into a float64 [R] tensor, deterministically.

    Each replicate's sum is a reduction of its own contiguous segment, so it depends on nothing
    but that replicate's values: a replicate simulated in another process (a shard of the run)
    sums to the same bits (a running sum over all rows would carry the rounding of the
    replicates before it)."""
    counts = torch.bincount(replicate, minlength=replicates)
    return torch.segment_reduce(values.to(torch.float64), "sum", lengths=counts)


class Ledger:
    """Today's accumulators (each float64 [R]); :meth:`close` returns and resets them."""

    def __init__(self, replicates: int, money: Money, device: torch.device) -> None:
        self.r, self.money, self.device = replicates, money, device
        self.today = self._zeros()

    def _zeros(self) -> dict[str, torch.Tensor]:
        return {s: torch.zeros(self.r, dtype=torch.float64, device=self.device) for s in STREAMS}

    def payments(self, stream: str, replicate: torch.Tensor, amounts: torch.Tensor, creator_share: float) -> None:
        """Book payments of one stream (rows sorted by replicate)."""
        if amounts.numel() == 0:
            return
        m = self.money
        a = amounts.to(torch.float64)
        fee = a * m.payment_fee_rate + m.payment_fee_fixed * (a > 0)
        creator = a * creator_share
        self.today[stream] += per_replicate_sum(replicate, a, self.r)
        self.today["payment_fees"] += per_replicate_sum(replicate, fee, self.r)
        self.today["creator_payouts"] += per_replicate_sum(replicate, creator, self.r)
        self.today["platform_net"] += per_replicate_sum(replicate, a - fee - creator, self.r)

    def refunds(self, amounts: torch.Tensor, creator_share: float) -> None:
        """Book refunds already summed per replicate ([R] float64)."""
        self.today["refunds"] += amounts
        self.today["creator_payouts"] -= amounts * creator_share
        self.today["platform_net"] -= amounts * (1.0 - creator_share)

    def ads(self, impressions: torch.Tensor) -> None:
        """Book ads revenue for ``impressions`` per replicate ([R])."""
        m = self.money
        revenue = impressions.to(torch.float64) * (m.ads_cpm / 1000.0)
        self.today["revenue_ads"] += revenue
        self.today["creator_payouts"] += revenue * m.ads_creator_share
        self.today["platform_net"] += revenue * (1.0 - m.ads_creator_share)

    def sponsorship(self, day: int) -> None:
        m = self.money
        if m.sponsorship_amount > 0 and day % m.sponsorship_period_days == 0:
            self.today["revenue_sponsorship"] += m.sponsorship_amount
            self.today["platform_net"] += m.sponsorship_amount

    def close(self) -> dict[str, torch.Tensor]:
        """Today's streams plus ``gross``; the accumulators start again at zero."""
        t = self.today
        t["gross"] = (t["revenue_purchases"] + t["revenue_subscriptions"] + t["revenue_renewals"]
                      + t["revenue_ads"] + t["revenue_sponsorship"] - t["refunds"])
        self.today = self._zeros()
        return t
