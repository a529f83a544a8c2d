"""Backtests in the console: calibrate a dataset before a cut, simulate what follows and score it
against what happened and the forecast baselines — at one cut, at several (rolling origins), or
per presentation of a dataset with scheduled courses.

Each backtest is an audited ``sim.backtest`` stored as a run (kind ``backtest``) with its own
calibration; it also runs as a job (kind ``sim_backtest``). Reads
(:mod:`kpconsole.reads.backtests`) need no role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from engine.errors import EngineError
from engine.progress import Progress, no_progress, scaled
from engine.simulate.backtest import Backtest, resolve_cut, run_backtest
from engine.simulate.levers import Settings
from engine.simulate.presentations import presentation_folds, run_presentation_backtest
from kpconsole.errors import ConsoleError
from kpconsole.jobs import JobContext, JobRequest, JobResult, start_job
from kpconsole.services import datasets
from kpconsole.services.simulate import _save_calibration, _save_run, _tables
from kpconsole.session import Session
from store.catalog import DatasetRecord
from store.simulations import RunRecord

BACKTEST_JOB = "sim_backtest"


# --- backtests ----------------------------------------------------------------------------


def backtest(session: Session, data: str, cut: str, *, replicates: int = 16, seed: int = 0, device: str = "auto",
             progress: Progress = no_progress) -> RunRecord:
    """Calibrate ``data`` before ``cut`` (a date or a ratio), simulate after it, score it and the
    forecast baselines on the same days; audited as ``sim.backtest``."""
    when = _parse_cut(cut)
    session.authorize("sim.backtest", target=data, params={"cut": cut})
    record = datasets.get(session, data)
    return _backtest_at(session, record, _tables(record), cut, when, replicates=replicates, seed=seed, device=device,
                        progress=progress)


def backtest_cuts(session: Session, data: str, cuts: str | list[str], *, replicates: int = 16, seed: int = 0,
                  device: str = "auto", progress: Progress = no_progress) -> list[RunRecord]:
    """:func:`backtest` at each of several cuts (rolling origins), one stored run each, in the
    order given. Every cut is checked against the data before the first runs, so a bad one
    leaves the workspace unchanged; :func:`kpconsole.reads.backtests.mean_over_cuts` averages
    the scores."""
    texts = parse_cuts(cuts)
    session.authorize("sim.backtest", target=data, params={"cuts": texts})
    record = datasets.get(session, data)
    tables = _tables(record)
    whens = [_parse_cut(text, "cuts") for text in texts]
    for text, when in zip(texts, whens, strict=True):
        try:
            resolve_cut(tables[2], when)
        except EngineError as exc:
            raise ConsoleError(f"cuts: {text}: {exc}") from None
    runs = []
    for k, (text, when) in enumerate(zip(texts, whens, strict=True)):
        runs.append(_backtest_at(session, record, tables, text, when, replicates=replicates, seed=seed, device=device,
                                 progress=scaled(progress, k / len(texts), (k + 1) / len(texts))))
    return runs


def parse_cuts(cuts: str | list[str]) -> list[str]:
    """Cuts as a comma-separated text (``0.5,0.6,0.67``) or a list, each a date or a ratio;
    refused when empty, unreadable or repeated."""
    texts = [c.strip() for c in (cuts.split(",") if isinstance(cuts, str) else cuts)]
    if not texts or any(not t for t in texts):
        raise ConsoleError(f"cuts {','.join(texts)!r}: give one or more dates or ratios, separated by commas")
    for text in texts:
        _parse_cut(text, "cuts")
    repeated = sorted({t for t in texts if texts.count(t) > 1})
    if repeated:
        raise ConsoleError(f"cuts: {repeated[0]} is given twice")
    return texts


def _backtest_at(session: Session, record: DatasetRecord, tables: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
                 cut: str, when: dt.datetime | float, *, replicates: int, seed: int, device: str,
                 progress: Progress) -> RunRecord:
    data = record.name
    params = {"cut": cut, "replicates": replicates, "seed": seed, "device": device}
    with session.action("sim.backtest", target=data, params=params):
        users, items, events = tables
        settings = Settings(replicates=replicates, seed=seed, device=device)
        bt = run_backtest(users, items, events, when, settings=settings, progress=progress)
        return _store_backtest(session, record, bt, bt.as_dict(), params, name=f"backtest {data} @ {bt.cut}")


def _store_backtest(session: Session, record: DatasetRecord, bt: Backtest, scores: dict, params: dict, *,
                    name: str) -> RunRecord:
    """Save a backtest as a run: its calibration, the simulated days, the actual and predictive
    series beside them, and ``scores`` (the backtest's summary) under ``summary["backtest"]``."""
    calibration = _save_calibration(session, record, bt.calibration, "rule", cut=bt.cut)
    run_settings = Settings(days=len(bt.actual_actives), replicates=params["replicates"], seed=params["seed"],
                            device=params["device"])
    actual = [(f"actual_{m}", d, float(v), float(v), float(v))
              for m, series in (("dau", bt.actual_actives), ("gross", bt.actual_revenue))
              for d, v in enumerate(series)]
    # The predictive band (where one future falls) kept apart from the interval of the mean.
    predictive = [(f"predictive_{m}", d, float(sc.mean[d]), float(sc.low[d]), float(sc.high[d]))
                  for m, sc in (("dau", bt.scores["actives"]), ("gross", bt.scores["revenue"]))
                  for d in range(len(sc.mean))]
    summary = {"backtest": {k: v for k, v in scores.items() if not k.startswith("actual_")},
               "totals": bt.result.summary(), "agents": bt.result.agents, "policy": "organic",
               "incentives": [], "notes": calibration.summary["notes"]}
    return _save_run(session, kind="backtest", name=name, calibration=calibration, text="",
                     resolved={"data": record.name, **params, "first_simulated_day": bt.cut},
                     settings=run_settings, result=bt.result, summary=summary, extra_series=actual + predictive)


def backtest_presentations(session: Session, data: str, *, replicates: int = 16, seed: int = 0, device: str = "auto",
                           progress: Progress = no_progress) -> list[RunRecord]:
    """The per-presentation backtest of a dataset with scheduled courses (OULAD): one stored run
    per presentation whose registration opened after an earlier one had started, calibrated
    before that opening and scored on its weekly registrations next to the baselines and the
    presentation-aligned naive (:mod:`engine.simulate.presentations`); audited as ``sim.backtest``."""
    session.authorize("sim.backtest", target=data, params={"presentations": True})
    record = datasets.get(session, data)
    users, items, events = _tables(record)
    folds = presentation_folds(items, events)
    if not folds:
        raise ConsoleError(f"dataset '{data}' has no presentation to backtest: it needs course items with a start "
                           "(created_at) and enroll events, and a presentation that opened after another had started")
    runs = []
    for k, fold in enumerate(folds):
        params = {"presentation": fold.start.isoformat(), "replicates": replicates, "seed": seed, "device": device}
        with session.action("sim.backtest", target=data, params=params):
            pb = run_presentation_backtest(users, items, events, fold, settings=Settings(
                replicates=replicates, seed=seed, device=device),
                progress=scaled(progress, k / len(folds), (k + 1) / len(folds)))
            runs.append(_store_backtest(session, record, pb.backtest, pb.as_dict(), params,
                                        name=f"backtest {data} presentation {fold.start.isoformat()}"))
    return runs


def _parse_cut(cut: str, field: str = "--cut") -> dt.datetime | float:
    try:
        return float(cut) if "-" not in cut else dt.datetime.fromisoformat(cut)
    except ValueError:
        raise ConsoleError(f"{field} {cut!r}: give a date (2026-05-01) or a ratio of the time span (0.7)") from None


# --- jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestRequest(JobRequest):
    """A backtest of dataset ``data`` at ``cut`` (a date or a ratio of its time span) as a job."""

    data: str
    cut: str
    replicates: int = 16
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _parse_cut(self.cut)


def backtest_job(session: Session, request: BacktestRequest, ctx: JobContext) -> JobResult:
    """A backtest as a job."""
    ctx.log(f"backtesting {request.data} at {request.cut}")
    record = backtest(session, request.data, request.cut, replicates=request.replicates, seed=request.seed,
                      device=request.device, progress=ctx.progress)
    bt = record.summary["backtest"]
    ctx.log(f"run {record.id}: daily actives MAPE {bt['mape_actives']}")
    ctx.log(f"run {record.id}: weekly actives MAPE {bt['mape_actives_weekly']}, best baseline {bt['best_baseline']}, "
            f"ratio {bt['ratio_to_best']['mape_weekly']}; weekly actuals inside the 95 % predictive band "
            f"{bt['coverage_weekly']}")
    return JobResult("simulation", str(record.id))


def start_backtests(session: Session, requests: list[BacktestRequest]) -> list[int]:
    """Check each backtest's dataset, then start one detached ``sim_backtest`` job per request
    (several cuts: rolling origins); returns the job ids in order."""
    for data in dict.fromkeys(r.data for r in requests):
        datasets.get(session, data)
    return [start_job(session, BACKTEST_JOB, request.as_params()) for request in requests]
