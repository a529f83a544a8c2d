"""The plain-Python Student t (engine/student_t.py) against SciPy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine import student_t
from engine.simulate import intervals

DFS = (1, 1.5, 2, 3, 4.7, 7, 10, 19, 30, 63, 100, 1000, 1e5)
PS = (0.6, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995)


@pytest.mark.parametrize("df", DFS)
def test_quantiles_agree_with_scipy(df):
    for p in PS:
        assert student_t.t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10)
        assert student_t.t_quantile(1 - p, df) == pytest.approx(stats.t.ppf(1 - p, df), rel=1e-9)


@pytest.mark.parametrize("df", DFS)
def test_cdf_agrees_with_scipy(df):
    for t in (-30.0, -2.5, -0.3, 0.0, 0.7, 1.96, 4.0, 50.0):
        assert student_t.t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), rel=1e-10, abs=1e-15)


def test_intervals_agree_with_the_numpy_ones():
    rng = np.random.default_rng(3)
    for n in (2, 3, 8, 32):
        a, b = rng.normal(10, 2, n), rng.normal(9, 5, n + 3)
        assert student_t.mean_interval(list(a)) == pytest.approx(tuple(map(float, intervals.mean_interval(a))), rel=1e-12)
        assert student_t.welch_interval(list(a), list(b)) == pytest.approx(
            tuple(map(float, intervals.welch_interval(a, b))), rel=1e-12)


def test_identical_samples_have_a_zero_width_interval_and_bad_input_is_refused():
    assert student_t.mean_interval([0.0, 0.0, 0.0]) == (0.0, 0.0, 0.0)
    assert student_t.mean_interval([4.0]) == (4.0, 4.0, 4.0)
    with pytest.raises(ValueError, match="0 < p < 1"):
        student_t.t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="two values"):
        student_t.welch_interval([1.0], [1.0, 2.0])
