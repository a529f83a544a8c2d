"""Validity test 8 (engine side): calibration recovers the generator's planted parameters.

The sample platform is ``generate(SynthConfig())`` (sample_data/platform is its CSV). Given the
planted segments, calibration must find, per segment, the planted daily visit probability,
price sensitivity, subscribe and cancel rates and contribution rate, and the realised churn
hazards, within the tolerances stated next to each assertion. The backtest of the same data
(daily actives MAPE ≤ 10 %) runs through the CLI in test_sim_cli.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from engine.data.synth import DEFAULT_SEGMENTS, SynthConfig, generate
from engine.simulate.bgbb import fit_bgbb, p_alive
from engine.simulate.calibrate import calibrate
from engine.simulate.world import World


@pytest.fixture(scope="module")
def planted():
    data = generate(SynthConfig())
    fitted = calibrate(data.users, data.items, data.events, assignment=data.truth_users.select("user_id", "segment"))
    table = {row["segment"]: row for row in fitted.world.segments.table()}
    return data, fitted, table


def test_bgbb_recovers_known_activity_and_dropout_parameters():
    rng = np.random.default_rng(1)
    users, days = 4000, 120
    p = rng.beta(2.0, 8.0, users)
    theta = rng.beta(0.5, 60.0, users)
    checks_survived = rng.geometric(theta) - 1
    active = (rng.random((users, days)) < p[:, None]) & (np.arange(1, days + 1)[None, :] <= checks_survived[:, None])
    x = active.sum(axis=1)
    t_x = np.where(x > 0, days - np.argmax(active[:, ::-1], axis=1), 0)
    fit = fit_bgbb(np.zeros(users, dtype=np.int64), x, t_x, np.full(users, days), 1)
    assert fit.visit_mean[0] == pytest.approx(0.2, rel=0.05)
    assert fit.churn_mean[0] == pytest.approx(0.5 / 60.5, rel=0.25)
    alive = p_alive(fit.visit_mean, fit.alpha + fit.beta, fit.churn_mean, fit.gamma + fit.delta, x, t_x,
                    np.full(users, days))
    assert alive.mean() == pytest.approx((checks_survived >= days).mean(), abs=0.03)


def test_calibration_recovers_planted_visit_probabilities_within_10_percent(planted):
    _, _, table = planted
    for name, params in DEFAULT_SEGMENTS.items():
        assert table[name]["visit_mean"] == pytest.approx(params.visit, rel=0.10), name


def test_calibrated_churn_predicts_who_left_the_platform(planted):
    """Planted hazards are Beta(m·4, (1-m)·4): a few users with huge hazards dominate their mean,
    so the check is on what churn does — the fitted BG/BB's expected number of users gone by the
    window's end, Σ(1 - P(alive)), against the users the generator actually churned."""
    data, fitted, _ = planted
    w = fitted.world
    u, seg = w.users, w.segments
    alive = p_alive(seg.visit_mean[u.segment], seg.visit_concentration[u.segment], seg.churn_mean[u.segment],
                    seg.churn_concentration[u.segment], u.x, u.t_x, u.n)
    truth = data.truth_users.select(pl.col("user_id").cast(pl.String), "segment",
                                    pl.col("churn_day").is_not_null().alias("churned"))
    frame = pl.DataFrame({"user_id": u.user_ids.tolist(), "expected": 1 - alive}).join(truth, on="user_id")
    per = frame.group_by("segment").agg(pl.col("expected").sum(), pl.col("churned").sum())
    assert frame["expected"].sum() == pytest.approx(frame["churned"].sum(), rel=0.10)
    for name, expected, churned in per.iter_rows():
        assert abs(expected - churned) <= max(3.0, 0.25 * churned), (name, expected, churned)


def test_calibration_recovers_price_sensitivity_within_30_percent_and_in_order(planted):
    _, _, table = planted
    for name, params in DEFAULT_SEGMENTS.items():
        assert table[name]["price_sensitivity"] == pytest.approx(params.price_sensitivity, rel=0.30), name
    fitted = [table[n]["price_sensitivity"] for n in ("casual", "learner", "contributor", "member")]
    assert fitted == sorted(fitted, reverse=True)


def test_calibration_recovers_membership_and_contribution_rates(planted):
    _, _, table = planted
    member = DEFAULT_SEGMENTS["member"]
    assert table["member"]["subscribe"] == pytest.approx(member.subscribe, rel=0.15)
    assert table["member"]["cancel"] == pytest.approx(member.cancel, rel=0.25)
    for name, params in DEFAULT_SEGMENTS.items():
        planted_rate = 1 - (1 - params.ask) * (1 - params.answer)
        assert table[name]["contribute"] == pytest.approx(planted_rate, abs=0.02), name


def test_calibrated_world_round_trips_through_its_file(planted, tmp_path):
    _, fitted, _ = planted
    path = tmp_path / "world.npz"
    fitted.world.save(path)
    back = World.load(path)
    assert back.segments.names == fitted.world.segments.names
    np.testing.assert_array_equal(back.users.taste, fitted.world.users.taste)
    np.testing.assert_array_equal(back.catalog.item_ids, fitted.world.catalog.item_ids)
    assert back.plan_price == 15.0 and back.period_days == 30 and back.notes == fitted.world.notes


def test_without_segments_the_rule_puts_every_user_somewhere_and_says_so(planted):
    data, _, _ = planted
    fitted = calibrate(data.users, data.items, data.events)
    assert fitted.segment_source == "rule"
    assert sum(fitted.users.values()) == data.users.height
    assert fitted.users["payer"] > 0 and fitted.users["contributor"] > 0
