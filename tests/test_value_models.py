"""Customer-value models reproduce their published parameters on the published data.

CDNOW (Fader, Hardie & Lee 2005): kpconsole builds the repeat-purchase summary itself from the
raw transactions, checks it row by row against the summary shipped with the data, and fits on
its own summary. sBG: the two cohorts of Fader & Hardie (2007).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
import torch
from scipy.special import gammaln, hyp2f1

from engine.errors import EngineError
from engine.value import bgnbd, gammagamma, paretonbd, sbg
from engine.value.clv import ClvSettings
from engine.value.data import RepeatData
from engine.value.mle import FitResult
from engine.value.report import fit_transactions
from engine.value.summary import repeat_purchase_summary
from conftest import SHARED_DATA

CDNOW = SHARED_DATA / "cdnow"
CALIBRATION_END = dt.date(1997, 9, 30)
pytestmark = pytest.mark.skipif(not CDNOW.exists(), reason="../shared/data/cdnow is not there")


def read_cdnow_sample() -> pl.DataFrame:
    """CDNOW_sample.txt: master id, summary id, YYYYMMDD, CDs, dollars (whitespace-separated)."""
    rows = []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        f = line.split()
        if f:
            rows.append((int(f[1]), dt.datetime.strptime(f[2], "%Y%m%d"), int(f[3]), float(f[4])))
    return pl.DataFrame(rows, schema=["user_id", "ts", "cds", "amount"], orient="row")


@pytest.fixture(scope="module")
def summary() -> pl.DataFrame:
    return repeat_purchase_summary(read_cdnow_sample().lazy(), CALIBRATION_END)


def close(value: float, published: float, rel: float = 0.005) -> bool:
    return abs(value - published) <= rel * abs(published)


def test_cdnow_summary_matches_the_shipped_summary_row_by_row(summary):
    shipped = pl.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    assert summary.height == shipped.height == 2357
    joined = shipped.join(summary, left_on="ID", right_on="user_id", how="full", coalesce=True)
    assert joined["frequency"].null_count() == 0 and joined["x"].null_count() == 0
    assert (joined["frequency"] == joined["x"]).all()
    # the shipped file rounds to 2 decimals
    assert ((joined["recency"] - joined["t_x"]).abs() <= 0.005 + 1e-9).all()
    assert ((joined["T_right"] - joined["T"]).abs() <= 0.005 + 1e-9).all()
    repeat = joined.filter(pl.col("x") > 0)
    assert repeat.height == 946
    assert ((repeat["monetary"] - repeat["zbar"]).abs() <= 0.005 + 1e-9).all()
    assert joined.filter(pl.col("x") == 0)["monetary"].null_count() == 2357 - 946


def test_bg_nbd_reproduces_fader_hardie_lee_2005_on_cdnow(summary):
    fit = bgnbd.fit_bg_nbd(RepeatData.from_summary(summary))
    assert fit.converged, fit.message
    for name, published in (("r", 0.2426), ("alpha", 4.4135), ("a", 0.7929), ("b", 2.4258)):
        assert close(fit.params[name], published), (name, fit.params[name])
    assert fit.log_likelihood == pytest.approx(-9582.43, abs=0.05)


def test_pareto_nbd_reproduces_the_published_cdnow_parameters(summary):
    fit = paretonbd.fit_pareto_nbd(RepeatData.from_summary(summary))
    assert fit.converged, fit.message
    for name, published in (("r", 0.5533), ("alpha", 10.578), ("s", 0.6062), ("beta", 11.667)):
        assert close(fit.params[name], published), (name, fit.params[name])


def test_pareto_nbd_quadrature_agrees_with_the_hypergeometric_closed_form(summary):
    """The textbook form (Fader & Hardie 2005 note, eq. 19–22) by scipy's 2F1."""
    x, t_x, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    data = RepeatData.from_summary(summary)
    for r, alpha, s, beta in ((0.5533, 10.578, 0.6062, 11.667), (2.0, 3.0, 0.3, 20.0), (0.3, 20.0, 1.5, 2.0)):
        top = max(alpha, beta)

        def f(t, r=r, alpha=alpha, s=s, beta=beta):
            if alpha >= beta:
                return hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + t))
            return hyp2f1(r + s + x, r + x, r + s + x + 1, (beta - alpha) / (beta + t))

        a0 = f(t_x) / (top + t_x) ** (r + s + x) - f(T) / (top + T) ** (r + s + x)
        closed = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
                  + np.log((alpha + T) ** -(r + x) * (beta + T) ** -s + s / (r + s + x) * a0)).sum()
        ours = float(paretonbd.log_likelihood(torch.tensor([r, alpha, s, beta], dtype=torch.float64), data))
        assert ours == pytest.approx(closed, rel=1e-10)


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(summary):
    data = gammagamma.SpendData.from_summary(summary)
    assert data.n == 946
    fit = gammagamma.fit_gamma_gamma(data)
    assert fit.converged, fit.message
    for name, published in (("p", 6.2488), ("q", 3.7446), ("v", 15.4477)):
        assert close(fit.params[name], published), (name, fit.params[name])


@pytest.mark.parametrize(("alive", "alpha", "beta", "ll"), [
    ((1000, 631, 468, 382, 326, 289, 262, 241), 0.704, 1.182, -1680.27),
    ((1000, 869, 743, 653, 593, 551, 517, 491), 0.668, 3.806, -1611.16),
], ids=["regular", "high-end"])
def test_sbg_reproduces_fader_hardie_2007_cohorts(alive, alpha, beta, ll):
    fit = sbg.fit_sbg(sbg.cohort_to_durations(alive))
    assert fit.converged, fit.message
    assert close(fit.params["alpha"], alpha) and close(fit.params["beta"], beta), fit.params
    assert fit.log_likelihood == pytest.approx(ll, abs=0.05)
    # the fitted survival curve tracks the cohort it came from (within 2.5 % of the cohort)
    assert np.abs(sbg.survival(fit.params, 7) * 1000 - np.array(alive)).max() < 25
    # heterogeneity makes retention rise with tenure
    assert np.all(np.diff(sbg.retention_rates(fit.params, 7)) > 0)


def test_bg_nbd_predictions_follow_the_paper_formulas(summary):
    params = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    x, t_x, T = np.array([0.0, 2.0, 2.0]), np.array([0.0, 30.43, 5.0]), np.array([38.86, 38.86, 38.86])
    alive = bgnbd.p_alive(params, x, t_x, T)
    assert alive[0] == 1.0 and alive[1] > alive[2]  # bought recently → more likely alive
    expected = bgnbd.expected_purchases(params, 39.0, x, t_x, T)
    assert np.all(expected > 0) and expected[1] > expected[2]
    # a brand-new customer's E[X(t)] grows with t and E[Y(t) | x=0, T→0] approaches it
    new = bgnbd.expected_purchases_new(params, np.array([10.0, 39.0]))
    assert new[1] > new[0] > 0
    just_acquired = bgnbd.expected_purchases(params, 39.0, np.array([0.0]), np.array([0.0]), np.array([1e-9]))
    assert just_acquired[0] == pytest.approx(new[1], rel=1e-6)


def test_clv_report_on_cdnow_fits_both_models_and_checks_the_holdout():
    tx = read_cdnow_sample().lazy()
    report = fit_transactions(tx, "bgnbd", CALIBRATION_END, observation_end=dt.date(1998, 6, 30),
                              settings=ClvSettings(horizon_days=365, discount_rate=0.1))
    assert close(report.fit.params["r"], 0.2426) and report.spend is not None
    customers = report.customers
    assert customers.height == 2357
    assert customers["p_alive"].is_between(0, 1).all()
    assert (customers["clv"] >= 0).all() and customers["clv"].sum() > 0
    # the holdout actuals are counted independently here: transaction days after the calibration end
    raw = read_cdnow_sample().with_columns(pl.col("ts").dt.date().alias("day"))
    actual = raw.filter(pl.col("day") > CALIBRATION_END).select("user_id", "day").unique().height
    assert report.holdout["actual_transactions"] == actual
    # the model predicts the holdout within 15 % in total and ranks customers sensibly
    assert abs(report.holdout["predicted_transactions"] - actual) / actual < 0.15
    assert report.holdout["correlation"] > 0.5


def test_a_fit_without_a_finite_maximum_says_it_did_not_converge():
    cohort = sbg.Durations.of([1], [True], [100])  # everyone cancels at once: β → 0
    fit = sbg.fit_sbg(cohort)
    assert not fit.converged and "flat" in fit.message
    everyone_at_the_end = pl.DataFrame({"frequency": [1, 2, 3, 4] * 50, "recency": [30.0] * 200, "T": [30.0] * 200})
    fit = bgnbd.fit_bg_nbd(RepeatData.from_summary(everyone_at_the_end))
    assert not fit.converged and "ran off" in fit.message


def test_transaction_fit_refuses_data_it_cannot_fit():
    one_purchase_each = pl.LazyFrame({"user_id": [1, 2, 3], "ts": [dt.datetime(2024, 1, d) for d in (1, 2, 3)],
                                      "amount": [5.0, 6.0, 7.0]})
    with pytest.raises(EngineError, match="no customer bought twice"):
        fit_transactions(one_purchase_each, "bgnbd", dt.date(2024, 2, 1))
    with pytest.raises(EngineError, match="no customers to fit"):
        fit_transactions(one_purchase_each, "bgnbd", dt.date(2023, 2, 1))
    with pytest.raises(EngineError, match="unknown transaction model"):
        fit_transactions(one_purchase_each, "lifetimes", dt.date(2024, 2, 1))


def test_every_transaction_model_is_one_interface_from_one_table(summary):
    from engine.value.models import TRANSACTION_MODELS, TransactionModel, transaction_model

    data = RepeatData.from_summary(summary)
    x, t_x, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    for name, model in TRANSACTION_MODELS.items():
        assert isinstance(model, TransactionModel) and model.name == name
        fit = model.fit(data)
        assert tuple(fit.params) == model.parameters and fit.converged
        alive = model.p_alive(model.check(fit.params), x, t_x, T)
        assert alive.shape == x.shape and ((0 < alive) & (alive <= 1)).all()
        assert model.expected_purchases(fit.params, 0.0, x, t_x, T).sum() == 0.0
        with pytest.raises(EngineError, match=f"{re.escape(model.title)} parameters lack {model.parameters[-1]}"):
            model.check({k: v for k, v in fit.params.items() if k != model.parameters[-1]})
    with pytest.raises(EngineError, match="unknown transaction model 'nbd' \\(one of bgnbd, paretonbd\\)"):
        transaction_model("nbd")


def test_a_model_satisfying_the_protocol_scores_a_report_holdout(summary):
    from engine.value.report import _holdout

    class Constant:
        """Expects every customer to buy once per period: a model no module defines."""

        name, title, parameters = "constant", "Constant", ("rate",)

        def fit(self, data):
            raise AssertionError("not fitted here")

        def p_alive(self, params, x, t_x, T):
            return np.ones_like(x)

        def expected_purchases(self, params, t, x, t_x, T):
            return np.full_like(x, params["rate"] * t)

    from engine.value.models import TransactionModel

    assert isinstance(Constant(), TransactionModel)
    fitted = FitResult({"rate": 0.5}, 0.0, True, "", 0, 0.0, summary.height)
    end = dt.date(1998, 6, 30)
    with_holdout = repeat_purchase_summary(read_cdnow_sample().lazy(), CALIBRATION_END, observation_end=end)
    holdout = _holdout(with_holdout, Constant(), fitted, CALIBRATION_END, end, ClvSettings())
    assert holdout["predicted_transactions"] == pytest.approx(0.5 * holdout["periods"] * with_holdout.height)
    assert holdout["actual_transactions"] == int(with_holdout["holdout_frequency"].sum()) > 0
