"""Replicates sharded over processes (issue 14, point 7): a window of a run's replicates makes the
draws the whole run makes for them, so shares simulated apart and joined — in one process, or on
2 gloo CPU processes gathered by rank 0 — give the single-process run.

Stated tolerance: counts (and per-item views and purchases, incentive profiles, arrivals) equal;
every KPI equal to 1e-12 relative (money is summed per replicate by one cumulative sum over
the rows of the replicates a process holds, so its rounding moves by ~1e-14; observed ≤ 2e-14).
The world fires every stream: arrivals of agents and of items (questions among them), refunds,
trials, annual billing, tiers, ads, sponsorship, fees, contributions and both badge ladders.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.multiprocessing.spawn import start_processes

from engine.errors import EngineError
from engine.simulate.distributed import replicate_share, simulate_distributed
from engine.simulate.levers import Incentive, Levers, Membership, Money, Settings, Tier
from engine.simulate.policies import PolicySpec
from engine.simulate.run import SimResult, simulate
from engine.simulate.world import ItemArrivals, World, toy_world, uniform_segments

RELATIVE = 1e-12
SEGMENTS = uniform_segments(("a", "b"), visit_mean=[0.3, 0.5], visit_concentration=20.0, churn_mean=0.01,
                            churn_concentration=50.0, attention=1.0, buy_intercept=-1.0, refund=[0.05, 0.1],
                            contribute=[0.2, 0.4])
LEVERS = Levers(
    membership=Membership(tiers=(Tier("basic", 10.0, annual_price=100.0, annual_share=0.3, includes=("article",)),
                                 Tier("pro", 25.0, ad_free=True, includes=("article", "course"))),
                          trial_days=3, trial_conversion=0.6, subscribe_rate=0.05, cancel_rate=0.3, period_days=7),
    money=Money(ads_impressions_per_visit=2.0, ads_cpm=5.0, sponsorship_amount=100.0, sponsorship_period_days=10,
                payment_fee_rate=0.03, payment_fee_fixed=0.3, creator_share=0.5, refund_scale=3.0),
    incentives=(Incentive("contribute", (3, 10)), Incentive("visit", (5, 20))))


def busy_world() -> World:
    """A toy world with agents joining, a third of its items questions, and new items every day."""
    world = toy_world(500, 60, segments=SEGMENTS, arrivals_per_day=3.0, seed=2)
    kind = np.where(np.arange(60) % 3 == 0, "question", world.catalog.kind)
    catalog = dataclasses.replace(world.catalog, kind=kind)
    return dataclasses.replace(world, catalog=catalog, item_arrivals=ItemArrivals.resampling(
        catalog, {"article": 1.0, "course": 1.5, "question": 2.0}))


def settings(replicates: int) -> Settings:
    return Settings(days=20, replicates=replicates, seed=7, slate_size=6, device="cpu")


def assert_same_run(got: SimResult, want: SimResult) -> None:
    assert got.metrics == want.metrics and got.values.shape == want.values.shape
    for k, name in enumerate(want.metrics):
        np.testing.assert_allclose(got.values[:, k, :], want.values[:, k, :], rtol=RELATIVE, atol=0, err_msg=name)
    assert np.array_equal(got.item_views, want.item_views)
    assert np.array_equal(got.item_purchases, want.item_purchases)
    assert np.array_equal(got.new_items.arrival, want.new_items.arrival)
    assert np.array_equal(got.new_items.template, want.new_items.template)
    for a, b in zip(got.incentives, want.incentives, strict=True):
        assert np.array_equal(a.opportunities, b.opportunities) and np.array_equal(a.actions, b.actions)


def test_shares_are_contiguous_as_even_as_possible_and_cover_every_replicate_once():
    for replicates, ranks in ((3, 2), (4, 2), (7, 3), (5, 5)):
        shares = [replicate_share(replicates, rank, ranks) for rank in range(ranks)]
        assert [r for share in shares for r in share] == list(range(replicates))
        assert max(map(len, shares)) - min(map(len, shares)) <= 1
    with pytest.raises(EngineError, match="2 replicates cannot be shared by 3 processes"):
        replicate_share(2, 0, 3)


@pytest.mark.parametrize("policy", ["organic", "random", "popularity"])
def test_windows_simulated_apart_and_joined_are_the_whole_run(policy):
    world, run = busy_world(), settings(3)
    whole = simulate(world, PolicySpec(policy), LEVERS, run)
    parts = [simulate(world, PolicySpec(policy), LEVERS, run, window=w) for w in (range(0, 1), range(1, 3))]
    assert whole.totals("refunds").min() > 0 and whole.totals("questions_asked").min() > 0  # every stream fired
    assert whole.totals("revenue_ads").min() > 0 and whole.totals("trials").min() > 0
    assert_same_run(SimResult.joined(parts), whole)


def test_a_window_outside_the_run_is_refused():
    with pytest.raises(EngineError, match="not a non-empty window of the run's 3 replicates"):
        simulate(busy_world(), PolicySpec("random"), LEVERS, settings(3), window=range(2, 4))


def _rank(rank: int, ranks: int, init_file: str, out: str) -> None:
    """One gloo rank: the run of 4 and of 3 replicates, sharded; rank 0 pickles what it gathered."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=ranks)
    try:
        results = [simulate_distributed(busy_world(), PolicySpec("organic"), LEVERS, settings(r)) for r in (4, 3)]
        if rank == 0:
            with open(out, "wb") as f:
                pickle.dump(results, f)
        else:
            assert results == [None, None]
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_give_the_single_process_run_even_and_odd():
    with tempfile.TemporaryDirectory(prefix="kpconsole-sim-ddp-") as tmp:
        out = os.path.join(tmp, "results.pkl")
        start_processes(_rank, args=(2, os.path.join(tmp, "rendezvous"), out), nprocs=2, start_method="spawn")
        with open(out, "rb") as f:
            gathered = pickle.load(f)
    for result, replicates in zip(gathered, (4, 3), strict=True):
        assert result.values.shape[2] == replicates
        assert_same_run(result, simulate(busy_world(), PolicySpec("organic"), LEVERS, settings(replicates)))
