"""Customer value in the console: fit (audited, also as a job); listing and
showing fits: :mod:`kpconsole.reads.value`; one customer's scores: :mod:`kpconsole.services.value_customers`.

``fit`` loads a dataset's events and fits one model:

* ``bgnbd`` / ``paretonbd`` — repeat buying from transactions (events of ``kinds``, default
  ``purchase``), with the Gamma-Gamma spend model on the side for CLV when the data allow it,
  P(alive), expected purchases over the horizon and, when the data go past the calibration
  end, a holdout check;
* ``auto`` — both repeat-buying models, keeping the one that fits (engine/value/choose.py); the
  fit is registered under the chosen model and its results say why (``model_choice``);
* ``gammagamma`` — spend per transaction alone;
* ``sbg`` — subscription retention from subscribe / renew / cancel events.

A fit that does not converge is an error that says so; nothing is registered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress
from engine.value import gammagamma, sbg
from engine.value.clv import ClvSettings
from engine.value.mle import FitResult
from engine.value.report import fit_transactions
from engine.value.subscriptions import spells_to_durations, subscription_spells
from engine.value.summary import repeat_purchase_summary
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.jobs import JobContext, JobRequest, JobResult, start_job
from kpconsole.jobs.kinds import get_job_kind
from kpconsole.jobs.service import refuse_unless_allowed
from kpconsole.services import datasets
from kpconsole.services.value_customers import plain_rows
from kpconsole.session import Session
from store import value as store
from store.catalog import DatasetRecord
from store.value import ValueFitRecord

JOB_KIND = "value_fit"
MODELS = ("auto", "bgnbd", "paretonbd", "gammagamma", "sbg")
TOP_CUSTOMERS = 10
RETENTION_PERIODS = 12


@dataclass(frozen=True)
class ValueRequest(JobRequest):
    """What ``kpconsole value fit`` asks for, in plain values (also a ``value_fit`` job's parameters)."""

    data: str
    model: str
    calibration_end: dt.date | None = None  # default: the last day of the data
    kinds: tuple[str, ...] = ("purchase",)
    period_days: float | None = None  # default: 7 (weeks) for transactions, 30 for subscriptions
    horizon_days: float = 365.0
    discount_rate: float = 0.10

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConsoleError(f"unknown model '{self.model}' (one of {', '.join(MODELS)})")
        if not self.period_days:  # resolved here, so that the fit's settings record the period used
            object.__setattr__(self, "period_days", 30.0 if self.model == "sbg" else 7.0)
        if self.period <= 0 or self.horizon_days <= 0:
            raise InvalidField("{period_days} and {horizon_days} must be positive", "period_days", "horizon_days")
        if self.discount_rate <= -1:
            raise InvalidField("{discount_rate} must be above -1 (a yearly rate, e.g. 0.1)", "discount_rate")
        if not self.kinds:
            raise InvalidField("{kinds} needs at least one event kind", "kinds")

    @property
    def period(self) -> float:
        """The period in days (``period_days``, resolved)."""
        return float(self.period_days or 0.0)


@dataclass
class _Fitted:
    """What one model's fit leaves for the registry."""

    fit: FitResult
    results: dict = field(default_factory=dict)
    customers: pl.DataFrame | None = None
    model: str | None = None  # the model fitted, when the request left the choice to ``auto``


def fit(session: Session, request: ValueRequest, progress: Progress = no_progress, *,
        job_id: int | None = None) -> ValueFitRecord:
    """Fit ``request.model`` on a dataset and register it; audited as ``value.fit``."""
    with session.action("value.fit", target=request.data, params=request.as_params()):
        record = datasets.get(session, request.data)
        events = datasets.load(record, "events")
        data_end = _data_end(record)
        calibration_end = request.calibration_end or data_end
        settings = {**request.as_params(), "calibration_end": calibration_end.isoformat(),
                    "observation_end": data_end.isoformat() if data_end > calibration_end else None}
        if request.model in ("auto", "bgnbd", "paretonbd"):
            fitted = _transactions(events, request, calibration_end, data_end, progress)
        elif request.model == "gammagamma":
            fitted = _spend(events, request, calibration_end)
        else:
            fitted = _retention(events, request, calibration_end)
        if not fitted.fit.converged:
            raise EngineError(f"the {request.model} fit did not converge ({fitted.fit.message}); nothing was saved")
        fit_info = {k: v for k, v in fitted.fit.as_dict().items() if k not in fitted.fit.params and k != "log_likelihood"}
        with store.staging_file(session.ws) as staged:
            if fitted.customers is not None:
                fitted.customers.write_parquet(staged)
            return store.register_value_fit(
                session.ws, staged if fitted.customers is not None else None, dataset=record.name,
                dataset_hash=record.content_hash, model=fitted.model or request.model, params=fitted.fit.params,
                log_likelihood=fitted.fit.log_likelihood, fit=fit_info, settings=settings, results=fitted.results,
                n=fitted.fit.n, created_by=session.actor.name, job_id=job_id,
            )


def _data_end(record: DatasetRecord) -> dt.date:
    ts_max = record.profile.get("ts_max")
    if not ts_max:
        raise ConsoleError(f"dataset '{record.name}' has no events")
    return dt.datetime.fromisoformat(ts_max).date()


def _transactions_of(events: pl.LazyFrame, kinds: tuple[str, ...]) -> pl.LazyFrame:
    return events.filter(pl.col("kind").is_in(kinds)).select("user_id", "ts", "amount")


def _check_has(frame: pl.LazyFrame, what: str, kinds: tuple[str, ...]) -> None:
    if frame.select(pl.len()).collect().item() == 0:
        raise InvalidField(f"no {what}: the dataset has no events of kind {', '.join(kinds)} (see {{kinds}})", "kinds")


def _transactions(events, request: ValueRequest, calibration_end: dt.date, data_end: dt.date,
                  progress: Progress) -> _Fitted:
    tx = _transactions_of(events, request.kinds)
    _check_has(tx, "transactions", request.kinds)
    settings = ClvSettings(horizon_days=request.horizon_days, discount_rate=request.discount_rate,
                           period_days=request.period)
    report = fit_transactions(tx, request.model, calibration_end,
                              observation_end=data_end if data_end > calibration_end else None,
                              settings=settings, progress=progress)
    spend = None
    if report.spend is not None:
        spend = {**report.spend.params, "log_likelihood": report.spend.log_likelihood, "n": report.spend.n}
    top_by = "clv" if "clv" in report.customers.columns else "expected_purchases"
    top = report.customers.sort(top_by, descending=True).head(TOP_CUSTOMERS)
    results = {"totals": report.totals, "holdout": report.holdout, "spend": spend, "spend_note": report.spend_note,
               "top_customers": plain_rows(top)}
    if report.choice is not None:
        results["model_choice"] = report.choice.as_dict()
    return _Fitted(report.fit, results, report.customers, model=report.model)


def _spend(events, request: ValueRequest, calibration_end: dt.date) -> _Fitted:
    tx = _transactions_of(events, request.kinds)
    _check_has(tx, "transactions", request.kinds)
    summary = repeat_purchase_summary(tx, calibration_end, period_days=request.period)
    result = gammagamma.fit_gamma_gamma(gammagamma.SpendData.from_summary(summary))
    customers = None
    results: dict = {}
    if result.converged:
        expected = gammagamma.expected_spend(result.params, summary["frequency"].to_numpy(),
                                             summary["monetary"].fill_null(0.0).to_numpy())
        customers = summary.with_columns(pl.Series("expected_spend", expected))
        p, q, v = (result.params[k] for k in gammagamma.PARAMS)
        results = {"population_mean_spend": p * v / (q - 1) if q > 1 else None,
                   "observed_mean_spend": float(summary["monetary"].drop_nulls().mean())}
    return _Fitted(result, results, customers)


def _retention(events, request: ValueRequest, calibration_end: dt.date) -> _Fitted:
    as_of = dt.datetime.combine(calibration_end + dt.timedelta(days=1), dt.time())
    spells = subscription_spells(events, as_of, period_days=request.period)
    result = sbg.fit_sbg(spells_to_durations(spells))
    results: dict = {"spells": spells.height, "churned": int(spells["churned"].sum())}
    if result.converged:
        per_period = (1.0 + request.discount_rate) ** (request.period / 365.0) - 1.0
        survival = sbg.survival(result.params, RETENTION_PERIODS)
        observed = _observed_survival(spells, RETENTION_PERIODS)
        results.update(
            survival=[round(float(s), 6) for s in survival],
            observed_survival=observed,
            retention=[round(float(r), 6) for r in sbg.retention_rates(result.params, RETENTION_PERIODS)],
            mean_churn=result.params["alpha"] / (result.params["alpha"] + result.params["beta"]),
            discounted_expected_lifetime=sbg.discounted_expected_lifetime(result.params, per_period),
            period_discount_rate=per_period,
        )
    return _Fitted(result, results, None)


def _observed_survival(spells: pl.DataFrame, periods: int) -> list[float | None]:
    """Kaplan–Meier share of spells still paying after t periods, t = 0 … ``periods``."""
    t = spells["periods"].to_numpy()
    churned = spells["churned"].to_numpy()
    alive, out = 1.0, [1.0]
    for period in range(1, periods + 1):
        at_risk = int((t >= period).sum())
        if at_risk == 0:
            out.append(None)
            continue
        lost = int(((t == period) & churned).sum())
        alive *= 1.0 - lost / at_risk
        out.append(round(alive, 6))
    return out


def value_job(session: Session, request: ValueRequest, ctx: JobContext) -> JobResult:
    """Fit a customer-value model (bgnbd, paretonbd, gammagamma or sbg)."""
    ctx.log(f"fitting {request.model} on '{request.data}'")
    record = fit(session, request, ctx.progress, job_id=ctx.job_id)
    ctx.log(f"value fit {record.id}: log-likelihood {record.log_likelihood:.2f}")
    return JobResult("value_fit", str(record.id))


def start(session: Session, request: ValueRequest) -> int:
    """Check the role, the request and the dataset, then start a detached value-fit job."""
    params = request.as_params()
    refuse_unless_allowed(session, get_job_kind(JOB_KIND), request.data, params)
    datasets.get(session, request.data)
    return start_job(session, JOB_KIND, params)

