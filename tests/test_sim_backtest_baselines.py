"""Forecast baselines and predictive bands of a backtest: each baseline against a hand
computation, exponential smoothing on series it must fit exactly, MASE by hand, the band's
coverage on planted replicates, the means over cuts, and the baselines on the real Quantum
Computing dump's daily actives."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import SAMPLE_DATA

from engine.simulate.backtest import actual_series, resolve_cut, score_series
from engine.simulate.baselines import (
    BASELINES,
    Score,
    best_baseline,
    fit_ets,
    forecast_baselines,
    mase,
    mape,
    ratios_to_best,
    score_forecast,
    weekly_sums,
)
from engine.simulate.intervals import mean_interval, predictive_band, share_inside
from kpconsole.reads import backtests

QC = SAMPLE_DATA / "stackexchange" / "quantumcomputing"


def test_each_baseline_forecasts_what_a_hand_computation_gives():
    # 28 days, the last of them a Sunday-like 7th day: weekday k has value 10·(k+1) + week.
    history = np.array([10.0 * (d % 7 + 1) + d // 7 for d in range(28)])
    f = forecast_baselines(history, 9)
    assert f["naive"].tolist() == [73.0] * 9  # the last day: 70 + week 3
    assert f["seasonal_naive"].tolist() == [13.0, 23.0, 33.0, 43.0, 53.0, 63.0, 73.0, 13.0, 23.0]
    assert f["mean28"].tolist() == pytest.approx([40.0 + 1.5] * 9)  # mean of 10..70 is 40, of the weeks 1.5
    assert f["weekday28"].tolist() == pytest.approx([11.5, 21.5, 31.5, 41.5, 51.5, 61.5, 71.5, 11.5, 21.5])
    assert set(f) == set(BASELINES)


def test_the_naive_baselines_mape_equals_the_hand_computed_value():
    history = np.array([5.0, 7.0, 8.0, 6.0, 4.0, 9.0, 10.0])
    actual = np.array([8.0, 12.0, 0.0, 5.0, 10.0, 10.0, 20.0])
    s = score_forecast(forecast_baselines(history, 7)["naive"], actual, history)
    # |10−8|/8, |10−12|/12, (day 3 has nothing: skipped), |10−5|/5, 0, 0, |10−20|/20
    assert s.mape_daily == pytest.approx(100 * (0.25 + 1 / 6 + 1.0 + 0 + 0 + 0.5) / 6)
    assert s.mape_weekly == pytest.approx(100 * abs(70 - 65) / 65)
    # daily MASE: MAE 23/7 over the in-sample seasonal-naive error — undefined on 7 days of history
    assert s.mase_daily is None
    assert mape(np.array([1.0]), np.array([0.0])) is None


def test_mase_scales_by_the_in_sample_seasonal_naive_error():
    history = np.array([1.0, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9])  # |y_t − y_{t−7}|: 2, 0, 0, 0, 0, 0, 2
    scale = 4 / 7
    predicted, actual = np.full(7, 4.0), np.array([4.0, 5, 3, 4, 5, 4, 4])  # MAE 3/7
    assert mase(predicted, actual, history, 7) == pytest.approx((3 / 7) / scale)
    assert mase(predicted, actual, np.ones(14), 7) is None  # a flat history scales by 0: undefined
    s = score_forecast(predicted, actual, history)
    # weekly: one week forecast 28 against 29; history weeks 28, 32: naive in-sample error 4
    assert s.mase_weekly == pytest.approx(1 / 4)


def test_weekly_sums_start_at_the_cut_for_a_horizon_and_end_at_it_for_a_history():
    v = np.arange(16.0)
    assert weekly_sums(v).tolist() == [21.0, 70.0]  # days 0..6, 7..13; 14, 15 are no whole week
    assert weekly_sums(v, from_end=True).tolist() == [35.0, 84.0]  # days 2..8, 9..15


def test_exponential_smoothing_forecasts_a_pure_weekly_pattern_exactly():
    season = np.array([3.0, 5.0, 8.0, 2.0, 1.0, 9.0, 4.0])
    history = 20.0 + np.tile(season, 8)
    fit = fit_ets(history)
    assert fit.sse < 1e-9
    assert fit.forecast(10) == pytest.approx(20.0 + season[np.arange(56, 66) % 7], abs=1e-6)


def test_exponential_smoothing_picks_the_damped_trend_for_a_trending_series():
    rng = np.random.default_rng(0)
    days = np.arange(84)
    history = 50.0 + 0.5 * days + np.tile([4.0, 0, -2, -3, 1, 0, 0], 12) + rng.normal(0, 0.5, 84)
    fit = fit_ets(history)
    assert fit.trend and 0.8 <= fit.phi <= 0.98
    assert 0.3 < fit.slope < 0.7
    ahead = fit.forecast(7)
    truth = 50.0 + 0.5 * np.arange(84, 91) + np.array([4.0, 0, -2, -3, 1, 0, 0])
    assert np.max(np.abs(ahead - truth)) < 3.0  # a week ahead, within the damping's shortfall
    with pytest.raises(ValueError, match="at least 14 days"):
        fit_ets(history[:10])


def test_short_histories_leave_out_the_baselines_they_cannot_make():
    f = forecast_baselines(np.array([3.0, 4.0, 5.0]), 4)
    assert f["naive"].tolist() == [5.0] * 4 and f["mean28"].tolist() == [4.0] * 4
    assert f["seasonal_naive"] is None and f["weekday28"] is None and f["ets"] is None


def test_the_predictive_band_covers_futures_from_the_same_model_and_the_mean_interval_does_not():
    rng = np.random.default_rng(7)
    rate = 20.0 + 8.0 * np.sin(np.arange(70) / 3.0)
    replicates = rng.poisson(rate[:, None], size=(70, 400)).astype(float)  # [days, R]
    actual = rng.poisson(rate).astype(float)  # one more future of the same model
    history = rng.poisson(np.full(56, 20.0)).astype(float)
    sc = score_series(replicates, actual, history)
    assert sc.coverage_weekly is not None and sc.coverage_weekly >= 0.8
    assert sc.coverage_daily >= 0.85
    # The interval of the mean narrows as 1/√R: it misses most single futures.
    assert share_inside(sc.weekly_actual, sc.weekly_mean_low, sc.weekly_mean_high) < 0.5
    assert np.all(sc.weekly_low <= sc.weekly_mean_low) and np.all(sc.weekly_mean_high <= sc.weekly_high)
    biased = score_series(replicates * 1.5, actual, history)
    assert biased.coverage_weekly == 0.0  # a model 50 % too high leaves every week outside its band


def test_the_band_is_the_replicates_quantiles_from_40_of_them_and_the_t_prediction_interval_below():
    many = np.arange(1.0, 41.0)[None, :]  # 40 replicates: quantiles 2.5 % and 97.5 %
    lo, hi = predictive_band(many, axis=1)
    assert lo.tolist() == pytest.approx([1.975]) and hi.tolist() == pytest.approx([39.025])
    few = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])  # 5: x̄ ± t₀.₉₇₅,₄ · s · √(1 + 1/5)
    lo, hi = predictive_band(few, axis=1)
    half = 2.776445 * np.sqrt(2.5) * np.sqrt(1.2)
    assert lo[0] == pytest.approx(3 - half, rel=1e-6) and hi[0] == pytest.approx(3 + half, rel=1e-6)
    m, mlo, mhi = mean_interval(few, axis=1)  # the interval of the mean: s/√R instead
    assert m.tolist() == [3.0] and mlo[0] == pytest.approx(3 - 2.776445 * np.sqrt(2.5) / np.sqrt(5), rel=1e-5)
    assert lo[0] < mlo[0] and mhi[0] < hi[0]


def test_few_replicates_still_cover_futures_of_the_same_model():
    rng = np.random.default_rng(3)
    replicates = rng.poisson(50.0, size=(140, 8)).astype(float)
    actual = rng.poisson(50.0, size=140).astype(float)
    sc = score_series(replicates, actual, rng.poisson(50.0, size=28).astype(float))
    assert sc.coverage_daily >= 0.9 and sc.coverage_weekly >= 0.8
    assert np.all(sc.low >= 0)


def test_the_ratio_divides_by_the_best_baseline_of_each_score():
    sim = Score(10.0, 20.0, 0.5, None)
    base = {"naive": Score(20.0, 25.0, 1.0, 1.0), "ets": Score(30.0, 16.0, 0.25, 2.0)}
    assert best_baseline(base) == "ets" and best_baseline(base, "mape_daily") == "naive"
    assert ratios_to_best(sim, base) == {"mape_weekly": 20 / 16, "mape_daily": 0.5, "mase_weekly": None,
                                         "mase_daily": 2.0}


def _stored(cut: str, sim_week: float, naive_week: float, coverage: float) -> dict:
    score = lambda w: {"mape_daily": 2 * w, "mape_weekly": w, "mase_daily": w / 10, "mase_weekly": w / 20}
    return {"cut": cut, "days": 30, "simulator": score(sim_week), "baselines": {"naive": score(naive_week),
            "mean28": score(naive_week + 1)}, "best_baseline": "naive", "coverage_weekly": coverage,
            "coverage_daily": coverage, "ratio_to_best": {}, "weekly": {"actual": [1.0] * 4}}


def test_the_mean_over_cuts_averages_each_score_and_takes_the_ratio_of_the_means():
    mean = backtests.mean_over_cuts([_stored("2020-01-01", 10.0, 20.0, 0.5), _stored("2020-02-01", 30.0, 20.0, 1.0)])
    assert mean["simulator"]["mape_weekly"] == 20.0 and mean["baselines"]["naive"]["mape_weekly"] == 20.0
    assert mean["best_baseline"] == "naive" and mean["ratio_to_best"]["mape_weekly"] == 1.0
    assert mean["coverage_weekly"] == 0.75 and mean["cuts"] == ["2020-01-01", "2020-02-01"]
    assert "not better than" in backtests.mean_line(mean)
    rows = backtests.score_rows({**_stored("x", 10.0, 20.0, 0.5), "ratio_to_best": {"mape_weekly": 0.5}})
    assert [r[0] for r in rows] == ["simulator", "naive", "mean28", "simulator / best"] and rows[-1][2] == 0.5


@pytest.mark.skipif(not QC.exists(), reason="sample Stack Exchange dump not present")
def test_baselines_on_the_quantum_computing_dump_score_the_days_after_the_cut(session):
    from kpconsole.services import datasets
    from kpconsole.services.datasets import IngestRequest

    datasets.ingest(session, IngestRequest(path=QC, name="qc"))
    events = datasets.load(datasets.get(session, "qc"), "events").collect()
    cut = resolve_cut(events, 0.67)
    days = (events["ts"].max().date() - cut.date()).days + 1
    actual, _ = actual_series(events, cut, days)
    history, _ = actual_series(events, cut - dt.timedelta(days=112), 112)
    assert actual.sum() > 0 and history[-1] > 0
    f = forecast_baselines(history, days)
    # naive by hand: yesterday's actives, every day
    keep = actual > 0
    by_hand = 100 * np.mean(np.abs(history[-1] - actual[keep]) / actual[keep])
    assert mape(f["naive"], actual) == pytest.approx(by_hand)
    scores = {name: score_forecast(fc, actual, history) for name, fc in f.items()}
    assert all(s.mape_weekly is not None and s.mase_daily is not None for s in scores.values())
    # a trailing month averages the spike of the last days before the cut away: it beats last value
    assert scores["mean28"].mape_weekly < scores["naive"].mape_weekly
