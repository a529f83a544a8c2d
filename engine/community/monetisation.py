"""Monetisation KPIs of a platform that sells content and memberships.

Money comes from events: revenue kinds (purchase, subscribe, renew) bring ``amount`` in, a
``refund`` gives ``amount`` back. Over the whole window and per calendar month:

* ARPU = net revenue / active users (users with any event);
* ARPPU = net revenue / paying users (users with revenue > 0);
* paying ratio = paying users / active users;
* refund rate = refunded amount / gross revenue (and refunds / purchases, by count);
* creator income: net purchase revenue of each creator's items (refunds on an item taken off
  its creator); concentration as Gini and top-10 % share over every creator of a priced item,
  earners or not.

**MRR.** A subscription is active at instant D when its latest payment (subscribe or renew) at
or before D is less than ``period_days`` (30) old and no cancel came after that payment; its
monthly recurring revenue is that payment's amount scaled to 30 days
(``amount · 30 / period_days``). MRR is measured at each month end; between consecutive month
ends every subscriber's change is booked once: **new** (0 → > 0; a returning subscriber
counts as new), **expansion** (up), **contraction** (down, still > 0), **churn** (> 0 → 0), so
that MRR_m = MRR_{m−1} + new + expansion − contraction − churn, exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from engine.community.inequality import gini, top_share
from engine.data.schema import REFUND_KIND, REVENUE_KINDS
from engine.errors import EngineError

PAYMENT_KINDS = ("subscribe", "renew")
STOP_KINDS = ("cancel",)


@dataclass(frozen=True)
class Monetisation:
    figures: dict
    monthly: pl.DataFrame  # month, active/paying users, revenue, refunds, ARPU, ARPPU, MRR roll-forward
    creators: pl.DataFrame  # creator_id, income, items

    def as_dict(self) -> dict:
        return {**self.figures, "monthly": self.monthly.to_dicts(), "top_creators": self.creators.head(10).to_dicts()}


def _money(frame: pl.LazyFrame) -> list[pl.Expr]:
    return [
        pl.col("amount").filter(pl.col("kind").is_in(REVENUE_KINDS)).sum().alias("gross_revenue"),
        pl.col("amount").filter(pl.col("kind") == REFUND_KIND).sum().alias("refunds"),
        pl.col("user_id").n_unique().alias("active_users"),
        pl.col("user_id").filter(pl.col("kind").is_in(REVENUE_KINDS) & (pl.col("amount") > 0)).n_unique()
        .alias("paying_users"),
        (pl.col("kind") == "purchase").sum().alias("purchases"),
        (pl.col("kind") == REFUND_KIND).sum().alias("refund_count"),
    ]


def _ratios() -> list[pl.Expr]:
    net = pl.col("gross_revenue") - pl.col("refunds")
    return [
        net.alias("net_revenue"),
        (net / pl.col("active_users")).alias("arpu"),
        pl.when(pl.col("paying_users") > 0).then(net / pl.col("paying_users")).alias("arppu"),
        (pl.col("paying_users") / pl.col("active_users")).alias("paying_ratio"),
        pl.when(pl.col("gross_revenue") > 0).then(pl.col("refunds") / pl.col("gross_revenue")).alias("refund_rate"),
    ]


def monetisation(events: pl.LazyFrame, items: pl.LazyFrame | None = None, *, period_days: float = 30.0) -> Monetisation:
    """The figures of the module docstring; raises :class:`EngineError` when no money moved."""
    totals = events.select(_money(events)).with_columns(_ratios()).collect().row(0, named=True)
    if not totals["gross_revenue"]:
        raise EngineError("no revenue events (purchase, subscribe, renew with an amount): no monetisation figures")
    month = pl.col("ts").dt.truncate("1mo").alias("month")
    monthly = events.group_by(month).agg(_money(events)).with_columns(_ratios()).sort("month").collect()
    mrr = mrr_roll_forward(events, [m + _one_month(m) - dt.timedelta(microseconds=1) for m in monthly["month"]],
                           period_days=period_days)
    monthly = monthly.join(mrr.drop("at"), on="month", how="left")
    creators = creator_income(events, items) if items is not None else pl.DataFrame()
    figures = {
        **totals,
        "purchase_refund_rate": totals["refund_count"] / totals["purchases"] if totals["purchases"] else None,
        "mrr_latest": float(mrr["mrr"][-1]) if mrr.height else 0.0,
        "subscribers_latest": int(mrr["subscribers"][-1]) if mrr.height else 0,
    }
    if creators.height:
        income = creators["income"].clip(0).to_numpy()
        figures.update(creators=creators.height, creator_income_gini=gini(income),
                       creator_income_top10_share=top_share(income, 0.10))
    return Monetisation(figures, monthly, creators)


def _one_month(start: dt.datetime) -> dt.timedelta:
    nxt = dt.datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return nxt - start


def subscription_mrr(events: pl.LazyFrame, at: list[dt.datetime], *, period_days: float = 30.0) -> pl.DataFrame:
    """at, user_id, mrr: each subscriber's monthly recurring revenue at each instant in ``at``."""
    payments = (events.filter(pl.col("kind").is_in(PAYMENT_KINDS))
                .select("user_id", pl.col("ts").alias("paid_at"), "amount").sort("paid_at").collect())
    stops = (events.filter(pl.col("kind").is_in(STOP_KINDS))
             .select("user_id", pl.col("ts").alias("stopped_at")).sort("stopped_at").collect())
    if payments.height == 0:
        return pl.DataFrame(schema={"at": pl.Datetime("us"), "user_id": payments.schema["user_id"], "mrr": pl.Float64})
    grid = (pl.DataFrame({"at": pl.Series(at, dtype=pl.Datetime("us"))})
            .join(payments.select("user_id").unique(), how="cross").sort("at"))
    last_pay = grid.join_asof(payments, left_on="at", right_on="paid_at", by="user_id", strategy="backward",
                              check_sortedness=False)
    last_stop = last_pay.sort("at").join_asof(stops, left_on="at", right_on="stopped_at", by="user_id",
                                              strategy="backward", check_sortedness=False)
    period = dt.timedelta(days=period_days)
    active = (
        pl.col("paid_at").is_not_null()
        & (pl.col("at") - pl.col("paid_at") < period)
        & (pl.col("stopped_at").is_null() | (pl.col("stopped_at") < pl.col("paid_at")))
    )
    return last_stop.select(
        "at", "user_id", pl.when(active).then(pl.col("amount") * 30.0 / period_days).otherwise(0.0).alias("mrr"),
    )


def mrr_roll_forward(events: pl.LazyFrame, month_ends: list[dt.datetime], *, period_days: float = 30.0) -> pl.DataFrame:
    """month, at, mrr, subscribers, new, expansion, contraction, churn (see the module docstring)."""
    per_user = subscription_mrr(events, month_ends, period_days=period_days)
    if per_user.height == 0:
        return pl.DataFrame({"month": [], "at": [], "mrr": [], "subscribers": [], "new_mrr": [], "expansion_mrr": [],
                             "contraction_mrr": [], "churned_mrr": []},
                            schema={"month": pl.Datetime("us"), "at": pl.Datetime("us"), "mrr": pl.Float64,
                                    "subscribers": pl.UInt32, "new_mrr": pl.Float64, "expansion_mrr": pl.Float64,
                                    "contraction_mrr": pl.Float64, "churned_mrr": pl.Float64})
    change = per_user.sort("user_id", "at").with_columns(
        pl.col("mrr").shift(1).over("user_id").fill_null(0.0).alias("before"))
    delta = pl.col("mrr") - pl.col("before")
    return (
        change.group_by("at").agg(
            pl.col("mrr").sum().alias("mrr"),
            (pl.col("mrr") > 0).sum().alias("subscribers"),
            pl.col("mrr").filter(pl.col("before") == 0).sum().alias("new_mrr"),
            delta.filter((pl.col("before") > 0) & (delta > 0)).sum().alias("expansion_mrr"),
            (-delta).filter((pl.col("before") > 0) & (pl.col("mrr") > 0) & (delta < 0)).sum().alias("contraction_mrr"),
            pl.col("before").filter((pl.col("before") > 0) & (pl.col("mrr") == 0)).sum().alias("churned_mrr"),
        )
        .sort("at")
        .with_columns(pl.col("at").dt.truncate("1mo").alias("month"))
        .select("month", "at", "mrr", "subscribers", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr")
    )


def creator_income(events: pl.LazyFrame, items: pl.LazyFrame) -> pl.DataFrame:
    """creator_id, items (priced), income: net purchase revenue of their items, highest first."""
    schema = items.collect_schema()
    if "creator_id" not in schema or "price" not in schema:
        return pl.DataFrame()
    priced = items.filter(pl.col("creator_id").is_not_null() & (pl.col("price") > 0)).select("item_id", "creator_id")
    money = events.filter(pl.col("kind").is_in(["purchase", REFUND_KIND])).select(
        "item_id", pl.when(pl.col("kind") == REFUND_KIND).then(-pl.col("amount")).otherwise(pl.col("amount")).alias("net"))
    per_item = priced.join(money.group_by("item_id").agg(pl.col("net").sum()), on="item_id", how="left")
    return (per_item.group_by("creator_id")
            .agg(pl.len().alias("items"), pl.col("net").fill_null(0.0).sum().alias("income"))
            .sort(["income", "creator_id"], descending=[True, False]).collect())
