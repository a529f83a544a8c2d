"""The KPIs a simulation reports each day and how they add up over a run (plain data: no torch).

Each metric has a daily value per replicate; over the run it aggregates by ``sum`` (flows:
revenue, purchases), ``mean`` (daily levels: DAU, Gini) or ``last`` (stocks: MRR, members; and
figures to date: the answer rate and time to first answer of the questions asked so far, whose
last day is the run's figure — :mod:`engine.simulate.questions`). Coverage counts the items
available that day (a growing catalog's arrived items), exposure Gini the catalog's creators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: name -> (how it aggregates over the run, what it is)
METRICS: dict[str, tuple[str, str]] = {
    "dau": ("mean", "agents who visited that day"),
    "wau": ("mean", "agents with a visit in the last 7 days"),
    "mau": ("mean", "agents with a visit in the last 30 days"),
    "alive": ("mean", "agents who have joined and not left"),
    "churned": ("sum", "agents who left for good that day"),
    "views": ("sum", "items opened"),
    "purchases": ("sum", "one-off items bought"),
    "payers": ("sum", "agents who paid that day"),
    "new_payers": ("sum", "agents who paid for the first time"),
    "paying_ratio": ("mean", "agents who paid in the last 30 days (renewals included), over MAU"),
    "members": ("last", "paying members (trials excluded)"),
    "trials": ("last", "members in a free trial"),
    "subscriptions": ("sum", "first membership payments (new members and converted trials)"),
    "revenue_purchases": ("sum", "one-off sales"),
    "revenue_subscriptions": ("sum", "first membership payments"),
    "revenue_renewals": ("sum", "membership renewals (upgrades and downgrades included)"),
    "revenue_ads": ("sum", "ads: impressions × CPM / 1000"),
    "revenue_sponsorship": ("sum", "sponsorship, booked on the first day of each period"),
    "refunds": ("sum", "money returned for refunded purchases"),
    "gross": ("sum", "sales + ads + sponsorship - refunds"),
    "payment_fees": ("sum", "payment processing fees"),
    "creator_payouts": ("sum", "creators' revenue share"),
    "platform_net": ("sum", "what the platform keeps: gross - creator payouts - payment fees"),
    "mrr_open": ("last", "monthly recurring revenue at the start of the day"),
    "mrr": ("last", "monthly recurring revenue at the end of the day"),
    "mrr_new": ("sum", "MRR from first payments"),
    "mrr_expansion": ("sum", "MRR added by tier changes at renewal"),
    "mrr_contraction": ("sum", "MRR lost to tier changes at renewal"),
    "mrr_churn": ("sum", "MRR lost to cancellations and members who left"),
    "arpu": ("mean", "gross / DAU"),
    "arppu": ("mean", "sales (purchases + memberships) / payers that day"),
    "contributions": ("sum", "questions, answers and posts (at most one per agent a day)"),
    "exposure_gini": ("mean", "Gini of recommendation impressions over creators"),
    "coverage": ("mean", "share of the items available that day recommended to someone"),
    "homogenisation": ("mean", "mean Jaccard index of opened items of paired similar agents (T-RECS)"),
    "satisfaction": ("mean", "mean satisfaction of agents alive"),
    "new_items": ("sum", "items added to the catalog that day (the calibrated arrivals)"),
    "questions_asked": ("sum", "new questions asked that day"),
    "answer_rate": ("last", "share of the questions asked since day 0 with an answer by that day"),
    "time_to_first_answer": ("last", "mean days from asking to the first answer, over the questions asked since "
                                     "day 0 and answered by that day (0: the same day)"),
}

#: Headline metrics for tables (the rest are in --json and `sim show --all`).
HEADLINE = ("dau", "mau", "new_payers", "paying_ratio", "gross", "platform_net", "creator_payouts", "mrr",
            "arpu", "contributions", "exposure_gini", "coverage", "homogenisation")


def over_run(name: str, series: np.ndarray) -> np.ndarray:
    """Per replicate: metric ``name``'s daily ``series`` [days, replicates] summed, averaged or taken
    last over the run, as the metric aggregates (a simulation's result and a stored run alike)."""
    how = METRICS[name][0]
    return series.sum(axis=0) if how == "sum" else series.mean(axis=0) if how == "mean" else series[-1]
