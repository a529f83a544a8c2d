"""Simulations as a person reads them: runs and calibrations, a run's line, totals and daily
series, and two runs compared.

A run stores each KPI's per-replicate run totals in its summary, so comparing two runs needs
no array file; runs saved before that are read from their values file (loaded then).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.simulate.kpis import HEADLINE, METRICS
from engine.student_t import mean_interval, welch_interval
from kpconsole.errors import ConsoleError, InvalidField
from kpconsole.session import Session
from store import simulations as store
from store.simulations import CalibrationRecord, RunRecord


def list_calibrations(session: Session) -> list[CalibrationRecord]:
    return store.list_calibrations(session.ws)


def list_runs(session: Session, limit: int = 50) -> list[RunRecord]:
    return store.list_runs(session.ws, limit)


def get_run(session: Session, run_id: int) -> RunRecord:
    return store.get_run(session.ws, run_id)


def series(session: Session, run_id: int, metrics: list[str] | None = None) -> list[dict]:
    """Daily ``{metric, day, mean, low, high}`` of a run (every metric when none are named); a
    backtest also has ``actual_dau``/``actual_gross`` (what happened) and ``predictive_dau``/
    ``predictive_gross`` (the mean path with the replicates' 95 % predictive band)."""
    unknown = [m for m in metrics or [] if m not in METRICS and not m.startswith(("actual_", "predictive_"))]
    if unknown:
        raise ConsoleError(f"unknown metric '{unknown[0]}' (known: {', '.join(METRICS)})")
    get_run(session, run_id)
    return store.run_series(session.ws, run_id, metrics)


def run_line(record: RunRecord) -> str:
    """A run in one line: name, kind, dataset, days × replicates, seed, device, policy, agents."""
    return (f"run {record.id} '{record.name}' ({record.kind}) on '{record.dataset}': {record.days} days × "
            f"{record.replicates} replicates, seed {record.seed}, {record.device}; "
            f"policy {record.summary.get('policy')}; {record.summary.get('agents', 0):,} agents per replicate")


def backtest_line(backtest: dict) -> str:
    """A backtest's verdict: the MAPE of daily (and weekly) actives and revenue."""
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f} %"

    return (f"backtest from {backtest['cut']} ({backtest['days']} days), MAPE against what happened: actives "
            f"{pct(backtest['mape_actives'])} daily, {pct(backtest['mape_actives_weekly'])} weekly; revenue "
            f"{pct(backtest['mape_revenue'])} daily, {pct(backtest['mape_revenue_weekly'])} weekly "
            "(– where the data has none)")


def total_rows(record: RunRecord, every_kpi: bool = False) -> list[tuple[str, str, dict]]:
    """``(kpi, how it aggregates over the run, {mean, low, high})`` for the headline KPIs, or every one."""
    totals_ = record.summary["totals"]
    return [(m, METRICS[m][0], totals_[m]) for m in (METRICS if every_kpi else HEADLINE) if m in totals_]


def replicate_totals(record: RunRecord) -> dict[str, list[float]]:
    """Per KPI, each replicate's run total (summed, averaged or last over the run)."""
    stored = record.summary.get("replicate_totals")
    if stored is not None:
        return stored
    from kpconsole.services.simulate import replicate_values, totals  # a run saved before summaries held them

    return {m: [float(v) for v in t] for m, t in totals(record, replicate_values(record)).items()}


@dataclass(frozen=True)
class Comparison:
    """Run A minus run B, metric by metric, over the run totals; ``paired`` when common random
    numbers make replicate r of A and of B the same people and draws."""

    a: RunRecord
    b: RunRecord
    paired: bool
    rows: list[dict]

    def as_dict(self) -> dict:
        return {"a": self.a.id, "b": self.b.id, "a_name": self.a.name, "b_name": self.b.name,
                "paired": self.paired, "rows": self.rows}


def describe_metric(name: str) -> str:
    """What a KPI of a run measures, in a few words (empty for one it does not know)."""
    return METRICS.get(name, ("", ""))[1]


def compare(session: Session, run_a: int, run_b: int, level: float = 0.95) -> Comparison:
    """Differences A − B of every KPI with ``level`` intervals (paired when A and B share their
    seed, days, replicates and calibration: identical scenarios then differ by exactly 0)."""
    a, b = get_run(session, run_a), get_run(session, run_b)
    if (a.days, a.replicates) != (b.days, b.replicates):
        raise InvalidField(f"runs {a.id} and {b.id} differ in days or replicates ({a.days}×{a.replicates} vs "
                           f"{b.days}×{b.replicates}): rerun one with {{days}} and {{replicates}} to match", "days", "replicates")
    paired = a.seed == b.seed and a.calibration_id == b.calibration_id
    ta, tb = replicate_totals(a), replicate_totals(b)
    rows = []
    for metric in METRICS:
        if metric not in ta or metric not in tb:
            continue
        if paired:
            diff, lo, hi = mean_interval([x - y for x, y in zip(ta[metric], tb[metric], strict=True)], level)
        elif a.replicates < 2:  # one independent replicate each: no interval
            diff, lo, hi = ta[metric][0] - tb[metric][0], float("nan"), float("nan")
        else:
            diff, lo, hi = welch_interval(ta[metric], tb[metric], level)
        rows.append({"metric": metric, "a": sum(ta[metric]) / len(ta[metric]), "b": sum(tb[metric]) / len(tb[metric]),
                     "difference": diff, "low": lo, "high": hi})
    return Comparison(a, b, paired, rows)
