"""Weekday visit multipliers: calibrated from the weeks before a backtest's cut, they scale each
simulated day's visits — all ones change nothing, a zero empties the day — and on the Quantum
Computing dump they lower the daily error."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE_DATA

from engine.simulate.backtest import calibrated_levers, run_backtest, weekday_visit_multipliers
from engine.simulate.calibrate import calibrate
from engine.simulate.levers import Settings
from engine.simulate.policies import PolicySpec
from engine.simulate.run import simulate

QC = SAMPLE_DATA / "stackexchange" / "quantumcomputing"
pytestmark = pytest.mark.skipif(not QC.exists(), reason="sample Stack Exchange dump not present")


def test_multipliers_are_each_weekdays_share_of_the_last_eight_weeks_shrunk_towards_one():
    week = np.array([14.0, 7, 7, 7, 7, 0, 0])  # 42 a week; the weekday totals over 8 weeks: 112, 56, …, 0
    history = np.r_[np.full(7, 1000.0), np.tile(week, 8)]  # a 9th week back is left out
    m = weekday_visit_multipliers(history, 9)
    mean = 42.0 * 8 / 7
    assert m[:7] == pytest.approx((np.array([112.0, 56, 56, 56, 56, 0, 0]) + 20) / (mean + 20))
    assert m[7:].tolist() == m[:2].tolist()  # day 7 after the cut is the same weekday as day 0
    assert weekday_visit_multipliers(np.ones(10), 5).tolist() == [1.0] * 5  # under two weeks: none
    assert np.mean(weekday_visit_multipliers(np.tile(week, 8), 7)) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def qc_tables(tmp_path_factory):
    from kpconsole.services import datasets
    from kpconsole.services.datasets import IngestRequest
    from kpconsole.services.simulate import _tables
    from kpconsole.session import create_session

    session = create_session(tmp_path_factory.mktemp("weekdays") / "ws")
    datasets.ingest(session, IngestRequest(path=QC, name="qc"))
    return _tables(datasets.get(session, "qc"))


def test_ones_change_no_number_and_a_zero_empties_its_day(qc_tables):
    users, items, events = qc_tables
    world = calibrate(users, items, events, seed=0).world
    settings = Settings(days=10, replicates=2, seed=3, device="cpu")
    run = lambda m: simulate(world, PolicySpec("organic"), calibrated_levers(world), settings, visit_multipliers=m)
    plain = run(None)
    assert np.array_equal(run(np.ones(10)).values, plain.values)
    quiet = run(np.r_[np.ones(4), 0.0, np.ones(5)])
    assert np.array_equal(quiet.values[:4], plain.values[:4])  # counter-based draws: the days before are the same
    assert quiet.series("dau")[4].tolist() == [0.0, 0.0] and plain.series("dau")[4].min() > 0
    with pytest.raises(Exception, match="one non-negative number per simulated day"):
        run(np.ones(3))


@pytest.mark.slow
def test_weekday_multipliers_lower_the_daily_error_on_the_quantum_computing_dump(qc_tables):
    users, items, events = qc_tables
    settings = Settings(replicates=8, seed=1)
    plain = run_backtest(users, items, events, 0.67, settings=settings, weekdays=False)
    weekly = run_backtest(users, items, events, 0.67, settings=settings)
    assert weekly.mape_actives < plain.mape_actives - 2.0  # 50.6 % → 45.9 % when written
    assert abs(weekly.mape_actives_weekly - plain.mape_actives_weekly) < 3.0  # the weeks barely move
    m = weekly.weekday_multipliers
    assert set(m) == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} and m["Sat"] < 0.85 < 1.05 < m["Tue"]


@pytest.mark.slow
def test_level_drift_widens_the_weekly_band_and_leaves_the_mean_level_alone(qc_tables):
    users, items, events = qc_tables
    settings = Settings(replicates=12, seed=1)
    fixed = run_backtest(users, items, events, 0.67, settings=settings, level=False)
    drifting = run_backtest(users, items, events, 0.67, settings=settings)
    assert fixed.calendar["level"]["sigma_week"] == 0.0 and drifting.calendar["level"]["sigma_week"] > 0.02
    width = lambda bt: bt.scores["actives"].weekly_high - bt.scores["actives"].weekly_low
    assert np.mean(width(drifting)[-3:]) > 1.3 * np.mean(width(fixed)[-3:])  # the walk widens the far weeks most
    assert width(drifting)[-1] > width(drifting)[0]
    mean = lambda bt: bt.scores["actives"].weekly_mean.sum()
    assert mean(drifting) == pytest.approx(mean(fixed), rel=0.15)  # mean-one paths: the level is not moved
