"""The backtest's calendar: yearly visit multipliers and an arrival trend recovered from planted
series, join days drawn from a per-day profile, a launch calendar that bunches registrations
where planted launches did — and nothing after the cut enters any of them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest
import torch

from engine.simulate.backtest import backtest_calendar
from engine.simulate.calendar import YEAR, arrival_trend, yearly_visit_multipliers
from engine.simulate.launches import launch_calendar
from engine.simulate.population import sample_agents
from engine.simulate.world import World, toy_world


def test_a_planted_yearly_pattern_is_recovered_and_a_short_history_has_none():
    rng = np.random.default_rng(0)
    weeks = 1.0 + 0.5 * np.sin(2 * np.pi * np.arange(52) / 52)  # one smooth season a year
    level = np.repeat(weeks, 7)
    history = rng.poisson(np.tile(level, 2) * 200.0 * np.r_[np.ones(YEAR), np.full(YEAR, 1.5)]).astype(float)
    m = yearly_visit_multipliers(history, 2 * YEAR, prior=0.0)
    assert np.abs(m[:YEAR] - level / level.mean()).max() < 0.03  # the second year's higher level drops out
    assert np.array_equal(m[YEAR:], m[:YEAR])  # the year repeats
    assert yearly_visit_multipliers(history[-399:], 30).tolist() == [1.0] * 30  # under 400 days: none


def test_a_planted_trend_is_recovered_and_capped_over_a_long_horizon():
    rng = np.random.default_rng(1)
    t = np.arange(182)
    trend = arrival_trend(rng.poisson(40 * np.exp(0.004 * t)).astype(float))
    assert trend.growth == pytest.approx(0.004, abs=0.001) and trend.days == 182
    w = trend.weights(400, lag=30)
    assert w[0] == pytest.approx(np.exp(trend.growth * 30)) and w.max() == 2.0  # ×2 at most
    assert arrival_trend(np.zeros(100)).growth == 0.0 and arrival_trend(np.ones(20)).growth == 0.0


def test_join_days_follow_the_arrival_weights_and_their_sum_sets_the_count():
    world = toy_world(users=50, items=20, arrivals_per_day=200.0)
    days = 10
    weights = np.r_[np.full(5, 0.2), np.full(5, 1.8)]  # 10 % of the days' weight in the first half
    weighted = dataclasses.replace(world, arrival_weights=weights)
    agents = sample_agents(weighted, 2, days, seed=3, device=torch.device("cpu"))
    join = agents.join_day.view(2, -1)[:, 50:].numpy()
    assert join.shape == (2, round(200.0 * weights.sum()))
    assert np.mean(join < 5) == pytest.approx(0.1, abs=0.02)
    plain = sample_agents(world, 2, days, seed=3, device=torch.device("cpu"))
    assert plain.per_replicate == 50 + 200 * days  # without weights: the rate × days, uniform days as before


def test_arrival_weights_survive_save_and_load(tmp_path):
    world = dataclasses.replace(toy_world(users=20, items=10), arrival_weights=np.array([1.0, 2.0, 0.5]))
    world.save(tmp_path / "w.npz")
    assert World.load(tmp_path / "w.npz").arrival_weights.tolist() == [1.0, 2.0, 0.5]


def _launch_data(starts: list[dt.date], lead: int, per_launch: int, seed: int = 0):
    """Courses starting on ``starts``, each registered for uniformly over the ``lead`` days before
    its start (one registration per student), and a view a day to make the events continuous."""
    rng = np.random.default_rng(seed)
    items = pl.DataFrame({"item_id": [f"c{k}" for k in range(len(starts))], "kind": ["course"] * len(starts),
                          "created_at": [dt.datetime.combine(s, dt.time()) for s in starts]})
    rows = []
    for k, start in enumerate(starts):
        for n, before in enumerate(rng.integers(1, lead + 1, size=per_launch)):
            rows.append((f"u{k}-{n}", f"c{k}", "enroll", dt.datetime.combine(start - dt.timedelta(days=int(before)),
                                                                           dt.time())))
    events = pl.DataFrame(rows, schema=["user_id", "item_id", "kind", "ts"], orient="row").sort("ts")
    return items, events


def test_registrations_bunch_before_a_scheduled_launch_as_they_did_before_the_cut():
    starts = [dt.date(2020, 3, 1), dt.date(2020, 9, 1), dt.date(2021, 3, 1)]
    items, events = _launch_data(starts, lead=60, per_launch=3000)
    cut = dt.datetime(2020, 12, 1)  # the third launch opens 60 days before its start, after the cut
    cal = launch_calendar(items, events.filter(pl.col("ts") < cut), cut, 120)
    assert cal is not None and cal.lead == 60 and cal.size == 3000
    expected = cal.expected
    opens = (starts[2] - dt.timedelta(days=60) - cut.date()).days
    assert expected[:opens].sum() == 0  # nothing before the launch opens
    assert expected[opens:opens + 60].sum() == pytest.approx(3000, rel=1e-9)  # its size, over its 60 days
    assert expected[opens:opens + 60].std() / expected[opens:opens + 60].mean() < 0.25  # flat, as planted


def test_nothing_after_the_cut_changes_the_launch_calendar_or_the_backtest_calendar():
    starts = [dt.date(2020, 3, 1), dt.date(2020, 9, 1), dt.date(2021, 3, 1)]
    items, events = _launch_data(starts, lead=60, per_launch=500)
    cut = dt.datetime(2021, 1, 15)  # the third launch is open: its registrations after the cut are unknown
    after = pl.col("ts") >= cut
    moved = pl.concat([events.filter(~after),
                       events.filter(after).with_columns(pl.col("ts") + pl.duration(days=3)).head(50)])
    users = pl.DataFrame({"user_id": events["user_id"].unique().sort()})
    history = np.ones(300)
    for frame in (events, moved):
        cal = launch_calendar(items, frame, cut, 60)
        bc = backtest_calendar(users, items, frame, cut, 60, history, 2.0)
        assert cal is not None
        if frame is events:
            first, first_bc = cal.expected, bc
        else:
            assert np.array_equal(cal.expected, first)
            assert np.array_equal(bc.visits, first_bc.visits) and np.array_equal(bc.arrivals, first_bc.arrivals)
            assert bc.arrivals_per_day == first_bc.arrivals_per_day
