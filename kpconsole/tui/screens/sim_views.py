"""What the Simulate screen's panel below the runs shows, as Rich renderables: a comparison of two
runs, a run's totals with their intervals (``kpconsole sim show RUN``), a backtest's scores next
to the forecast baselines (``kpconsole sim backtest``), and the calibrations (``kpconsole sim list
--calibrations``). A calibration's fitted parameters are
:func:`~kpconsole.tui.screens.calibrate_form.calibration_view`, and a backtest's verdict
:func:`kpconsole.reads.simulations.backtest_line`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table

from kpconsole.reads import backtests
from kpconsole.reads import simulations as sim_reads
from kpconsole.reads.simulations import Comparison
from kpconsole.tui.formatting import minute, short

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.simulations import CalibrationRecord, RunRecord

CALIBRATIONS = ("id", "dataset", "events", "segments", "tastes", "made", "by")
"""``sim list --calibrations``'s columns, and who made each."""


def comparison_table(c: Comparison) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left", expand=True,
                  title=f"run {c.a.id} {c.a.name} − run {c.b.id} {c.b.name} · "
                        f"{'paired: common random numbers' if c.paired else 'unpaired (Welch)'} · 95% intervals, "
                        "≠ 0 where one excludes zero")
    for name in ("metric", "A", "B", "A − B", "interval", ""):
        table.add_column(name, justify="left" if name in ("metric", "") else "right")
    for row in c.rows:
        excludes_zero = row["low"] > 0 or row["high"] < 0
        table.add_row(row["metric"], short(row["a"]), short(row["b"]), short(row["difference"]),
                      f"[{short(row['low'])}, {short(row['high'])}]", "≠ 0" if excludes_zero else "")
    return table


def interval(total: dict) -> str:
    """A total's 95 % interval, ``[low, high]``."""
    return f"[{short(total['low'])}, {short(total['high'])}]"


def baselines_table(backtest: dict) -> Table:
    """A backtest's daily-actives scores: the simulator, each baseline on the same days, and the
    simulator's ratio to the best one (``sim backtest``'s table)."""
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left",
                  title="daily actives after the cut: MAPE % and MASE, the same days")
    for name in backtests.COLUMNS:
        table.add_column(name, justify="left" if name == "forecast" else "right", no_wrap=True)
    rows = backtests.score_rows(backtest)
    fmt = lambda v, d: "–" if v is None else f"{v:.{d}f}"
    for name, md, mw, sd, sw in rows[:-1]:
        table.add_row(name, fmt(md, 1), fmt(mw, 1), fmt(sd, 2), fmt(sw, 2))
    table.add_row(rows[-1][0], *(fmt(v, 2) for v in rows[-1][1:]))
    return table


def totals_view(run: RunRecord, every_kpi: bool = False) -> Group:
    """What ``sim show RUN`` prints: the run, a backtest's verdict and baselines, each KPI's total over the run
    (summed, averaged or the last day's, as it aggregates) with its 95 % interval over the
    replicates — the headline KPIs, or every one (``--all``) — the incentives and the notes."""
    s = run.summary
    verdict = [sim_reads.backtest_line(s["backtest"])] if s.get("backtest") else []
    if verdict and backtests.has_baselines(s["backtest"]):
        verdict += [baselines_table(s["backtest"]), backtests.verdict_line(s["backtest"])]
    shown = "every KPI (t: the headline ones)" if every_kpi else "headline KPIs (t: every one)"
    title = f"run totals, 95% interval over replicates: {shown}; what each is: docs/simulation.md"
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("kpi", "over run", "mean", "interval"):
        table.add_column(name, justify="right" if name in ("mean", "interval") else "left", no_wrap=True)
    for metric, how, total in sim_reads.total_rows(run, every_kpi):
        table.add_row(metric, how, short(total["mean"]), interval(total))
    incentives = [f"incentive '{p['name']}' on {p['action']}: first threshold {p['threshold']}"
                  for p in s.get("incentives", [])]
    notes = [f"note: {line}" for line in s.get("notes", [])]
    return Group(sim_reads.run_line(run), *verdict, title, table, *incentives, *notes)


def calibration_row(c: CalibrationRecord) -> tuple[str, ...]:
    """One calibration as ``sim list --calibrations`` lists it (events: all, or before a backtest's cut)."""
    return (str(c.id), c.dataset, c.cut or "all", c.segments, c.tastes, minute(c.created_at), c.created_by)
