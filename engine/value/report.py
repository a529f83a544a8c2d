"""One customer-value fit from transactions, end to end: the summary, the repeat-buying model,
the Gamma-Gamma spend model, per-customer P(alive), expected purchases and CLV, and, when the
data go on past the calibration end, a holdout check of the predictions against what happened.

``model="auto"`` fits both repeat-buying models and keeps the one that fits
(:mod:`engine.value.choose`); the report then says which and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.value import gammagamma
from engine.value.choose import ModelChoice, choose_repeat_buying_model
from engine.value.clv import ClvSettings, discounted_clv
from engine.value.data import RepeatData
from engine.value.mle import FitResult
from engine.value.models import TRANSACTION_MODELS, TransactionModel, transaction_model
from engine.value.summary import repeat_purchase_summary


@dataclass(frozen=True)
class ValueReport:
    model: str
    fit: FitResult
    spend: FitResult | None
    spend_note: str | None
    calibration_end: dt.date
    observation_end: dt.date | None
    settings: ClvSettings
    customers: pl.DataFrame  # the summary + p_alive, expected_purchases, expected_spend, clv
    holdout: dict | None = None
    totals: dict = field(default_factory=dict)
    choice: ModelChoice | None = None  # with model="auto": which model, why, and every fit tried


def fit_transactions(
    transactions: pl.LazyFrame,
    model: str,
    calibration_end: dt.date,
    *,
    observation_end: dt.date | None = None,
    settings: ClvSettings | None = None,
    with_spend: bool = True,
    progress: Progress = no_progress,
) -> ValueReport:
    """Fit ``model`` (bgnbd | paretonbd | auto) on ``user_id, ts, amount`` transactions.

    Raises :class:`EngineError` when the transaction model does not converge (with ``auto``:
    when neither does); a spend model
    that cannot be fitted leaves CLV out and says why in ``spend_note``.
    """
    settings = settings or ClvSettings()
    if model not in TRANSACTION_MODELS and model != "auto":
        raise EngineError(f"unknown transaction model '{model}' (one of auto, {', '.join(TRANSACTION_MODELS)})")
    settings.check()
    progress(0.05, "summarising transactions")
    summary = repeat_purchase_summary(transactions, calibration_end, observation_end=observation_end,
                                      period_days=settings.period_days)
    data = RepeatData.from_summary(summary)
    if int((data.x > 0).sum()) == 0:
        raise EngineError(f"no customer bought twice by {calibration_end}: a repeat-buying model has nothing to fit")
    progress(0.2, "fitting bgnbd and paretonbd" if model == "auto" else f"fitting {model}")
    choice = choose_repeat_buying_model(data) if model == "auto" else None
    if choice is not None:
        model, fit = choice.model, choice.fit
    else:
        fit = transaction_model(model).fit(data)
    if not fit.converged:
        raise EngineError(f"the {model} fit did not converge ({fit.message}); try a later calibration end or more data")
    progress(0.6, "fitting the Gamma-Gamma spend model")
    spend, note = _fit_spend(summary) if with_spend else (None, "not asked for")
    progress(0.8, "scoring customers")
    scorer = transaction_model(model)
    x, t_x, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    horizon = settings.horizon_days / settings.period_days
    columns = {
        "p_alive": scorer.p_alive(fit.params, x, t_x, T),
        "expected_purchases": scorer.expected_purchases(fit.params, horizon, x, t_x, T),
    }
    if spend is not None:
        m = summary["monetary"].cast(pl.Float64).fill_null(0.0).to_numpy()
        columns["expected_spend"] = gammagamma.expected_spend(spend.params, x, m)
        columns["clv"] = discounted_clv(lambda t: scorer.expected_purchases(fit.params, t, x, t_x, T),
                                        columns["expected_spend"], settings)
    customers = summary.with_columns(pl.Series(name, values) for name, values in columns.items())
    holdout = _holdout(summary, scorer, fit, calibration_end, observation_end, settings) if observation_end else None
    totals = {
        "customers": summary.height,
        "repeat_customers": int((x > 0).sum()),
        "mean_p_alive": float(np.mean(columns["p_alive"])),
        "expected_purchases": float(np.sum(columns["expected_purchases"])),
        "clv_total": float(np.sum(columns["clv"])) if "clv" in columns else None,
        "clv_mean": float(np.mean(columns["clv"])) if "clv" in columns else None,
    }
    progress(1.0, "done")
    return ValueReport(model, fit, spend, note, calibration_end, observation_end, settings, customers, holdout, totals,
                       choice)


def _fit_spend(summary: pl.DataFrame) -> tuple[FitResult | None, str | None]:
    try:
        spend = gammagamma.fit_gamma_gamma(gammagamma.SpendData.from_summary(summary))
    except EngineError as exc:
        return None, str(exc)
    if not spend.converged:
        return None, f"the Gamma-Gamma fit did not converge ({spend.message}); CLV left out"
    if spend.params["q"] <= 1:
        return None, f"the Gamma-Gamma fit has q = {spend.params['q']:.3g} ≤ 1: mean spend is unbounded; CLV left out"
    return spend, None


def _holdout(summary: pl.DataFrame, scorer: TransactionModel, fit: FitResult, calibration_end: dt.date,
             observation_end: dt.date, settings: ClvSettings) -> dict:
    """Predicted against actual transactions between the calibration and observation ends."""
    x, t_x, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    length = (observation_end - calibration_end).days / settings.period_days
    predicted = scorer.expected_purchases(fit.params, length, x, t_x, T)
    actual = summary["holdout_frequency"].to_numpy()
    return {
        "periods": length,
        "actual_transactions": int(actual.sum()),
        "predicted_transactions": float(predicted.sum()),
        "mean_absolute_error": float(np.abs(predicted - actual).mean()),
        "correlation": float(np.corrcoef(predicted, actual)[0, 1]) if actual.std() > 0 else None,
    }
