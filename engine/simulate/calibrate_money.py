"""Calibration of the money side: purchases and their price sensitivity, refunds, memberships.

See :mod:`engine.simulate.calibrate` for the estimators; this module holds them so that the
activity side and the money side each read in one place. Events arrive with ``u`` (user
index), ``day``, ``kind``, ``item_id``, ``amount``; interactions with ``u``, ``i`` (catalog
index), ``day``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from engine.scalars import as_float
from engine.simulate.choice_fit import fit_purchase

PAYMENT_KINDS = ("purchase", "subscribe", "renew")
DEFAULT_PERIOD_DAYS = 30


@dataclass
class MoneyFit:
    buy_intercept: np.ndarray
    price_sensitivity: np.ndarray
    refund: np.ndarray
    subscribe: np.ndarray
    cancel: np.ndarray
    reference_price: float
    plan_price: float
    period_days: int
    days: int
    last_payment: pl.DataFrame  # u, day
    membership_end: pl.DataFrame  # u, member (bool), last_plan_payment (day)
    notes: list[str] = field(default_factory=list)

    def days_since_payment(self, users: int) -> np.ndarray:
        out = np.full(users, -1, dtype=np.int64)
        out[self.last_payment["u"].to_numpy()] = self.days - 1 - self.last_payment["day"].to_numpy()
        return out

    def member_at_end(self, users: int) -> np.ndarray:
        out = np.zeros(users, dtype=bool)
        out[self.membership_end["u"].to_numpy()] = self.membership_end["member"].to_numpy()
        return out

    def days_to_renewal(self, users: int) -> np.ndarray:
        out = np.zeros(users, dtype=np.int64)
        due = self.membership_end["last_plan_payment"].to_numpy() + self.period_days - self.days
        out[self.membership_end["u"].to_numpy()] = np.maximum(due, 0)
        return out


def _per_segment(seg_of: np.ndarray, segments: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(seg_of, weights=weights, minlength=segments).astype(np.float64)


def fit_money(ev: pl.DataFrame, inter: pl.DataFrame, cat: pl.DataFrame, seg: np.ndarray, segments: int,
              days: int, items: pl.DataFrame) -> MoneyFit:
    """Purchases, refunds and memberships per segment (see :mod:`engine.simulate.calibrate`)."""
    notes: list[str] = []
    price = cat["price"].to_numpy().astype(np.float64)
    paid = price > 0
    reference = float(np.median(price[paid])) if paid.any() else 1.0
    iidx = dict(zip(cat["item_id"].to_list(), cat["idx"].to_list(), strict=True))
    buys = (ev.filter((pl.col("kind") == "purchase") & pl.col("item_id").is_in(list(iidx)))
            .with_columns(pl.col("item_id").replace_strict(iidx, return_dtype=pl.Int64).alias("i"))
            .group_by(["u", "i"]).agg(pl.col("day").min().alias("bought_day")))
    b, alpha = np.full(segments, -np.inf), np.zeros(segments)
    if buys.height == 0:
        notes.append("no purchases in the data: nobody buys (price sensitivity not identified)")
    else:
        views = pl.concat([inter.select("u", "i", "day"), buys.select("u", "i", pl.col("bought_day").alias("day"))]).unique()
        exposure = (views.filter(pl.col("i").is_in(np.flatnonzero(paid).tolist()))
                    .join(buys, on=["u", "i"], how="left")
                    .filter(pl.col("bought_day").is_null() | (pl.col("day") <= pl.col("bought_day")))
                    .with_columns((pl.col("day") == pl.col("bought_day")).fill_null(False).alias("y")))
        e_seg = seg[exposure["u"].to_numpy()]
        log_rel = np.log(price[exposure["i"].to_numpy()] / reference)
        y = exposure["y"].to_numpy()
        b, alpha = fit_purchase(e_seg, log_rel, y, segments)
        pooled_b, pooled_a = fit_purchase(np.zeros_like(e_seg), log_rel, y, 1)
        missing = _per_segment(e_seg, segments) == 0
        b[missing], alpha[missing] = pooled_b[0], pooled_a[0]
        if len(np.unique(price[paid])) < 2:
            notes.append("a single price point: price sensitivity not identified (ridge keeps it near 0)")
    n_buys = _per_segment(seg[buys["u"].to_numpy()], segments) if buys.height else np.zeros(segments)
    refunds = ev.filter(pl.col("kind") == "refund")
    refund = _per_segment(seg[refunds["u"].to_numpy()], segments) / np.maximum(n_buys, 1)

    # memberships: status before each active day, then rates
    plans = items.filter(pl.col("kind") == "membership") if "kind" in items.columns else items.clear()
    subs = ev.filter(pl.col("kind") == "subscribe")
    plan_price = as_float(plans["price"].drop_nulls().median() or 0.0) if plans.height and "price" in plans.columns else 0.0
    if plan_price == 0.0 and subs.height:
        plan_price = as_float(subs["amount"].median() or 0.0)
    status = (ev.filter(pl.col("kind").is_in(["subscribe", "renew", "cancel"]))
              .select("u", "day", "ts", (pl.col("kind") != "cancel").alias("member")).sort(["u", "ts"]))
    plan_pay = status.filter(pl.col("member")).select("u", "day")
    gaps = plan_pay.sort(["u", "day"]).with_columns(pl.col("day").diff().over("u").alias("gap")).drop_nulls("gap")
    period = round(as_float(gaps["gap"].median())) if gaps.height else DEFAULT_PERIOD_DAYS
    period = period if period > 0 else DEFAULT_PERIOD_DAYS
    active = (ev.filter(~pl.col("kind").is_in(["purchase", "subscribe", "renew", "cancel", "refund"]))
              .select("u", "day").unique().sort("day"))
    before = (status.group_by(["u", "day"]).agg(pl.col("member").last())
              .with_columns((pl.col("day") + 1).alias("from_day")).sort("from_day"))
    joined = active.join_asof(before.select("u", "from_day", "member"), left_on="day", right_on="from_day",
                              by="u", strategy="backward", check_sortedness=False)
    non_member_days = joined.filter(~pl.col("member").fill_null(False))
    subscribe = (_per_segment(seg[subs["u"].to_numpy()], segments)
                 / np.maximum(_per_segment(seg[non_member_days["u"].to_numpy()], segments), 1))
    renews = ev.filter(pl.col("kind") == "renew")
    last_pay = plan_pay.sort("day").with_columns(pl.col("day").alias("paid_day"))
    cancels = (ev.filter(pl.col("kind") == "cancel").select("u", "day").sort("day")
               .join_asof(last_pay.select("u", "day", "paid_day"), on="day", by="u", strategy="backward",
                          check_sortedness=False)
               .filter((pl.col("day") - pl.col("paid_day") - period).abs() <= 1))
    n_renew = _per_segment(seg[renews["u"].to_numpy()], segments)
    n_cancel = _per_segment(seg[cancels["u"].to_numpy()], segments)
    cancel = n_cancel / np.maximum(n_renew + n_cancel, 1)
    if subs.height == 0:
        notes.append("no subscriptions in the data: nobody subscribes unless a scenario sets membership.subscribe_rate")
    elif renews.height + cancels.height == 0:
        notes.append("no renewals or renewal-time cancels: cancel rate not identified (0)")
    end_state = status.group_by("u").agg(pl.col("member").last())
    end_pay = plan_pay.group_by("u").agg(pl.col("day").max().alias("last_plan_payment"))
    membership_end = end_state.join(end_pay, on="u", how="left").with_columns(pl.col("last_plan_payment").fill_null(0))
    last_payment = ev.filter(pl.col("kind").is_in(PAYMENT_KINDS)).group_by("u").agg(pl.col("day").max())
    return MoneyFit(buy_intercept=b, price_sensitivity=alpha, refund=refund, subscribe=subscribe, cancel=cancel,
                    reference_price=reference, plan_price=plan_price, period_days=period, days=days,
                    last_payment=last_payment, membership_end=membership_end, notes=notes)
