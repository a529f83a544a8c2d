"""Validity tests 1–7 of the simulator (issue 5): each sets up a world whose answer is known."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from engine.simulate.intervals import mean_interval
from engine.simulate.levers import (
    Behaviour,
    Incentive,
    Levers,
    Membership,
    Money,
    Settings,
    Tier,
)
from engine.simulate.policies import PolicySpec
from engine.simulate.run import simulate
from engine.simulate.world import toy_world, uniform_segments

STILL = Behaviour(satisfaction_visit=0.0, satisfaction_churn=0.0)  # no feedback: rates stay as set


def _busy_world(**kw):
    """Two segments that buy, subscribe, get refunds and contribute."""
    segs = uniform_segments(("a", "b"), visit_mean=[0.3, 0.5], visit_concentration=[8.0, 8.0], churn_mean=0.01,
                            churn_concentration=4.0, buy_intercept=[-1.5, -0.5], price_sensitivity=[1.5, 0.8],
                            refund=0.1, subscribe=[0.01, 0.05], cancel=0.2, contribute=0.2)
    return toy_world(users=400, items=80, segments=segs, arrivals_per_day=3.0, seed=1, **kw)


def _money_levers(**membership):
    tiers = (Tier("std", 15.0, 150.0, 0.3, ("course",)), Tier("pro", 29.0, None, 0.0, ("course", "article"), True, 0.3))
    return Levers(membership=Membership(tiers=tiers, **membership),
                  money=Money(ads_impressions_per_visit=2, ads_cpm=4.0, sponsorship_amount=500.0, payment_fee_rate=0.029,
                              payment_fee_fixed=0.3, creator_share=0.7, membership_creator_share=0.3,
                              ads_creator_share=0.1))


# --- 1. determinism and common random numbers ----------------------------------------------


def test_same_seed_same_device_gives_identical_output_and_another_seed_does_not():
    world, levers = _busy_world(), _money_levers(trial_days=5, trial_conversion=0.5)
    settings = Settings(days=25, replicates=3, seed=11, device="cpu")
    first = simulate(world, PolicySpec("popularity"), levers, settings)
    second = simulate(world, PolicySpec("popularity"), levers, settings)
    assert np.array_equal(first.values, second.values)
    assert np.array_equal(first.item_purchases, second.item_purchases)
    other = simulate(world, PolicySpec("popularity"), levers, Settings(days=25, replicates=3, seed=12, device="cpu"))
    assert not np.array_equal(first.values, other.values)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cpu_and_cuda_simulate_the_same_people_making_the_same_draws():
    world, levers = _busy_world(), _money_levers()
    settings = {"days": 20, "replicates": 3, "seed": 8}
    cpu = simulate(world, PolicySpec("popularity"), levers, Settings(device="cpu", **settings))
    gpu = simulate(world, PolicySpec("popularity"), levers, Settings(device="cuda", **settings))
    assert gpu.device.startswith("cuda")
    for name in ("dau", "views", "purchases", "gross", "mrr", "contributions"):
        assert gpu.totals(name).mean() == pytest.approx(cpu.totals(name).mean(), rel=0.02), name


def test_identical_scenarios_differ_by_exactly_zero_and_a_change_is_seen():
    world, levers = _busy_world(), _money_levers()
    settings = Settings(days=20, replicates=4, seed=5, device="cpu")
    a = simulate(world, PolicySpec("random"), levers, settings)
    b = simulate(world, PolicySpec("random"), levers, settings)
    for name in a.metrics:
        diff, lo, hi = mean_interval(a.totals(name) - b.totals(name))
        assert (diff, lo, hi) == (0.0, 0.0, 0.0), name
    dearer = simulate(world, PolicySpec("random"), levers, settings, prices=world.catalog.price * 3)
    assert dearer.totals("purchases").mean() < a.totals("purchases").mean()


# --- 2. money adds up ---------------------------------------------------------------------


def test_money_adds_up_every_day_and_mrr_rolls_forward_exactly():
    world = _busy_world()
    result = simulate(world, PolicySpec("popularity"), _money_levers(trial_days=3, trial_conversion=0.7),
                      Settings(days=70, replicates=3, seed=2, device="cpu"))
    s = result.series
    gross = s("revenue_purchases") + s("revenue_subscriptions") + s("revenue_renewals") + s("revenue_ads") \
        + s("revenue_sponsorship") - s("refunds")
    np.testing.assert_allclose(s("gross"), gross, rtol=0, atol=1e-9)
    np.testing.assert_allclose(s("creator_payouts") + s("payment_fees") + s("platform_net"), s("gross"), rtol=0, atol=1e-8)
    assert s("revenue_purchases").sum() > 0 and s("refunds").sum() > 0 and s("revenue_renewals").sum() > 0
    rolled = s("mrr_open") + s("mrr_new") + s("mrr_expansion") - s("mrr_contraction") - s("mrr_churn")
    np.testing.assert_allclose(s("mrr"), rolled, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(s("mrr_open")[1:], s("mrr")[:-1])  # yesterday's close is today's open
    assert s("mrr_new").sum() > 0 and s("mrr_churn").sum() > 0
    assert (s("mrr_expansion") + s("mrr_contraction")).sum() > 0  # members switched tier at renewal


def test_zero_prices_give_zero_purchase_revenue_while_people_still_open_paid_items():
    world = _busy_world()
    result = simulate(world, PolicySpec("random"), _money_levers(), Settings(days=15, replicates=2, seed=3, device="cpu"),
                      prices=np.zeros(world.catalog.size))
    assert result.series("revenue_purchases").sum() == 0.0
    assert result.series("purchases").sum() == 0 and result.series("refunds").sum() == 0.0
    assert result.series("views").sum() > 1000


# --- 3. demand curve ----------------------------------------------------------------------


def test_raising_a_price_never_raises_purchases_of_that_item():
    segs = uniform_segments(visit_mean=0.5, buy_intercept=-0.5, price_sensitivity=1.2, churn_mean=0.002)
    world = toy_world(users=600, items=30, segments=segs, prices=(20.0,), seed=4)
    item = 7
    counts = []
    for factor in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0):
        prices = world.catalog.price.copy()
        prices[item] *= factor
        result = simulate(world, PolicySpec("random"), Levers(behaviour=STILL), Settings(days=20, replicates=6, seed=9,
                                                                                         device="cpu"), prices=prices)
        counts.append(result.item_purchases[:, item].mean())
    assert all(later <= earlier for earlier, later in itertools.pairwise(counts)), counts
    assert counts[-1] < 0.5 * counts[0]


# --- 4. lifetime value and retention --------------------------------------------------------


def test_constant_churn_cohort_ltv_matches_arpu_times_margin_over_p():
    p, ipv, cpm, share = 0.05, 3.0, 6.0, 0.25
    segs = uniform_segments(visit_mean=1.0, churn_mean=p)
    world = toy_world(users=400, items=20, segments=segs, prices=(0.0,), seed=6)
    levers = Levers(money=Money(ads_impressions_per_visit=ipv, ads_cpm=cpm, ads_creator_share=share),
                    behaviour=Behaviour(satisfaction_visit=0.0, satisfaction_churn=0.0, max_visit=1.0))
    result = simulate(world, PolicySpec("random"), levers, Settings(days=300, replicates=16, seed=1, device="cpu",
                                                                    tracked_pairs=0))
    cohort = result.series("alive")[0]  # everyone alive on day 0; nobody arrives later
    ltv = result.series("platform_net").sum(axis=0) / cohort
    arpu, margin = ipv * cpm / 1000.0, 1.0 - share
    mean, lo, hi = mean_interval(ltv)
    assert lo <= arpu * margin / p <= hi, (mean, lo, hi, arpu * margin / p)


def _retention_by_tenure(concentration: float) -> np.ndarray:
    segs = uniform_segments(visit_mean=0.2, churn_mean=0.03, churn_concentration=concentration)
    world = toy_world(users=2000, items=10, segments=segs, prices=(0.0,), seed=8)
    result = simulate(world, PolicySpec("random"), Levers(behaviour=STILL),
                      Settings(days=60, replicates=2, seed=3, device="cpu", tracked_pairs=0))
    alive = result.series("alive").mean(axis=1)
    retention = alive[1:] / alive[:-1]
    return np.array([retention[:10].mean(), retention[20:30].mean(), retention[49:].mean()])


def test_sbg_heterogeneity_makes_retention_rise_with_tenure_and_none_keeps_it_flat():
    rising = _retention_by_tenure(2.0)  # θ ~ Beta(0.06, 1.94): a few leave fast, most stay
    assert rising[0] < rising[1] < rising[2]
    assert 1 - rising[2] < 0.5 * (1 - rising[0])  # the daily churn of survivors at least halves
    flat = _retention_by_tenure(float("inf"))  # θ = 0.03 for everyone: retention stays 0.97
    assert np.abs(flat - 0.97).max() < 0.006


# --- 5. interval coverage -----------------------------------------------------------------


def test_95_percent_intervals_cover_the_true_mean_in_93_to_97_percent_of_1000_runs():
    runs, per_run, agents, p = 1000, 10, 50, 0.3
    world = toy_world(users=agents, items=10, segments=uniform_segments(visit_mean=p), prices=(0.0,), seed=2)
    result = simulate(world, PolicySpec("random"), Levers(behaviour=STILL),
                      Settings(days=1, replicates=runs * per_run, seed=17, device="cpu", tracked_pairs=0))
    dau = result.series("dau")[0].reshape(runs, per_run)
    _, lo, hi = mean_interval(dau, axis=1)
    coverage = np.mean((lo <= agents * p) & (agents * p <= hi))
    assert 0.93 <= coverage <= 0.97, coverage


# --- 6. feedback loops homogenise ------------------------------------------------------------


def test_popularity_and_mf_raise_homogenisation_above_random_in_90_percent_of_50_seeds():
    segs = uniform_segments(visit_mean=0.6, churn_mean=0.0005, attention=1.0)
    world = toy_world(users=300, items=120, topics=6, segments=segs, prices=(0.0,), seed=3)
    rng = np.random.default_rng(0)
    affinity = world.users.taste @ world.catalog.vectors.T
    mf_scores = 2.5 * affinity + world.catalog.quality + rng.normal(0, 0.5, affinity.shape)  # a fitted MF's view
    settings = Settings(days=30, replicates=50, seed=21, device="cpu", tracked_pairs=60)
    levers = Levers(behaviour=STILL)
    homog = {name: simulate(world, spec, levers, settings).totals("homogenisation")
             for name, spec in (("random", PolicySpec("random")), ("popularity", PolicySpec("popularity")),
                                ("mf", PolicySpec("model", scores=mf_scores)))}
    assert np.mean(homog["popularity"] > homog["random"]) >= 0.9
    assert np.mean(homog["mf"] > homog["random"]) >= 0.9


# --- 7. badges ----------------------------------------------------------------------------


def _badge_profile(strength: float):
    segs = uniform_segments(visit_mean=0.6, churn_mean=0.0005, contribute=0.15)
    world = toy_world(users=1500, items=20, segments=segs, prices=(0.0,), seed=5)
    levers = Levers(behaviour=STILL, incentives=(Incentive("contribute", (12,), strength=strength, width=2.0),))
    result = simulate(world, PolicySpec("random"), levers, Settings(days=150, replicates=2, seed=4, device="cpu",
                                                                    tracked_pairs=0))
    profile = result.incentives[0]
    rate = dict(zip(profile.offsets.tolist(), profile.rate.tolist(), strict=True))
    far = np.mean([rate[o] for o in (-11, -10, -9)])
    near = np.mean([rate[o] for o in (-2, -1)])
    after = np.mean([rate[o] for o in range(6)])
    return far, near, after


def test_a_badge_raises_the_action_before_its_threshold_and_lowers_it_after():
    far, near, after = _badge_profile(strength=2.0)
    assert near > 1.8 * far
    assert after < 0.7 * near
    assert after == pytest.approx(0.15, abs=0.02)


def test_without_the_program_there_is_no_break_at_the_threshold():
    far, near, after = _badge_profile(strength=0.0)
    for rate in (far, near, after):
        assert rate == pytest.approx(0.15, abs=0.02)
    assert abs(near - after) < 0.02
