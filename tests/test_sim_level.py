"""Level uncertainty: the local level model fitted on the weeks before a cut recovers a planted
drift, finds none in a flat series, and each replicate's mean-one level path scales its visits —
the same path in every scenario and in every window of the run's replicates."""

from __future__ import annotations

import numpy as np
import pytest

from engine.simulate.level import LevelDrift, fit_level_drift, weekly_totals
from engine.simulate.levers import Levers, Settings
from engine.simulate.policies import PolicySpec
from engine.simulate.run import simulate
from engine.simulate.world import toy_world


def planted(weeks: int, drift: float, noise: float, seed: int) -> np.ndarray:
    """Daily values whose weekly totals follow a local level model in log(1 + y)."""
    rng = np.random.default_rng(seed)
    level = np.log(500.0) + np.cumsum(rng.normal(0, drift, weeks))
    weekly = np.expm1(level + rng.normal(0, noise, weeks))
    return np.repeat(weekly / 7.0, 7)


def test_weekly_totals_are_the_whole_weeks_ending_on_the_last_day():
    assert weekly_totals(np.arange(10.0)).tolist() == [sum(range(3, 10))]
    assert weekly_totals(np.ones(6)).tolist() == []


@pytest.mark.parametrize("drift, noise, noise_rel", [(0.10, 0.20, 0.2), (0.05, 0.10, 0.2), (0.25, 0.05, 0.6)])
def test_the_fit_recovers_a_planted_drift_and_noise(drift, noise, noise_rel):
    """(A week's noise 5× below its drift is hard to tell apart from it: 0.05 is found as 0.06–0.11.)"""
    fits = [fit_level_drift(planted(400, drift, noise, seed), weeks=400) for seed in range(5)]
    assert np.mean([f.sigma for f in fits]) == pytest.approx(drift, rel=0.2)
    assert np.mean([f.noise for f in fits]) == pytest.approx(noise, rel=noise_rel)
    assert fits[0].weeks == 400


def test_only_the_last_half_year_is_fitted():
    rng = np.random.default_rng(5)
    ramp = np.repeat(np.geomspace(50.0, 3000.0, 13), 7)  # a cohort arriving: the level rises sixty-fold
    flat = rng.poisson(300.0, 7 * 26).astype(float)
    assert fit_level_drift(np.r_[ramp, flat]).weeks == 26 and fit_level_drift(np.r_[ramp, flat]).sigma < 0.01
    assert fit_level_drift(np.r_[ramp, flat], weeks=39).sigma > 0.1


def test_a_flat_series_has_almost_no_drift_and_a_short_one_none():
    rng = np.random.default_rng(3)
    flat = rng.poisson(300.0, 7 * 60).astype(float)  # weekly totals ~2100 ± 46: noise only
    assert fit_level_drift(flat).sigma < 0.01
    assert fit_level_drift(flat[:7 * 7]).sigma == 0.0  # under eight weeks: not fitted
    assert fit_level_drift(np.full(7 * 20, 5.0)).sigma == 0.0  # constant
    sparse = np.random.default_rng(4).poisson(1.0, 7 * 26).astype(float)  # ~7 a week: counts, not a level
    assert fit_level_drift(sparse).sigma == 0.0 and fit_level_drift(sparse * 10).sigma > 0.0


def test_multipliers_are_mean_one_widen_with_the_weeks_and_are_the_same_for_a_seed():
    drift = LevelDrift(sigma=0.2, noise=0.1, weeks=30)
    m = drift.multipliers(seed=4, replicates=4000, days=70)
    assert m.shape == (70, 4000)
    assert np.array_equal(m[:7], np.repeat(m[:1], 7, axis=0))  # one level a week
    assert m.mean(axis=1)[[0, 69]] == pytest.approx([1.0, 1.0], abs=0.03)
    sd = np.log(m[::7]).std(axis=1)
    assert sd[0] == pytest.approx(0.2, rel=0.06) and sd[9] == pytest.approx(0.2 * np.sqrt(10), rel=0.06)
    assert np.array_equal(m, drift.multipliers(seed=4, replicates=4000, days=70))
    assert np.array_equal(m[:, :10], drift.multipliers(seed=4, replicates=10, days=70))  # a replicate's own path
    assert not np.array_equal(m, drift.multipliers(seed=5, replicates=4000, days=70))
    assert np.array_equal(LevelDrift(0.0, 0.1, 30).multipliers(4, 3, 9), np.ones((9, 3)))


def test_a_replicates_level_scales_its_own_visits_and_windows_keep_it():
    world = toy_world(400, 40, seed=2)
    settings = Settings(days=8, replicates=3, seed=7, slate_size=5, device="cpu")
    run = lambda m, window=None: simulate(world, PolicySpec("popularity"), Levers(), settings,
                                          visit_multipliers=m, window=window)
    plain = run(None)
    assert np.array_equal(run(np.ones((8, 3))).values, plain.values)
    levels = np.ones((8, 3))
    levels[:, 1] = 0.0
    quiet = run(levels)
    assert quiet.series("dau")[:, 1].tolist() == [0.0] * 8
    assert np.array_equal(quiet.values[:, :, [0, 2]], plain.values[:, :, [0, 2]])  # the others untouched
    levels[:, 1] = 2.0
    busy = run(levels)
    assert (busy.series("dau")[:, 1] > plain.series("dau")[:, 1]).all()
    window = run(levels, range(1, 3))
    np.testing.assert_allclose(window.values, busy.values[:, :, 1:], rtol=1e-12, atol=0)
    with pytest.raises(Exception, match="one column per replicate"):
        run(np.ones((8, 2)))
