"""``kpconsole sim …``: calibrate, run scenarios, compare runs, the feedback loop, backtest, list and show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.simulate import kpis
from kpconsole.cli import common, completion
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import ConsoleError
from kpconsole.reads import simulations as sim_reads
from store.simulations import CalibrationRecord, RunRecord


def _simulate():
    """The simulation service, imported when a command runs (it loads torch)."""
    from kpconsole.services import simulate

    return simulate



app = typer.Typer(help=GROUPS["sim"].help, no_args_is_help=True)

ReplicatesOpt = Annotated[int | None, typer.Option("--replicates", "-r", min=1,
                                                   help="Replicates (independent runs) [default: the scenario's].")]
DaysOpt = Annotated[int | None, typer.Option("--days", min=1, help="Days to simulate [default: the scenario's].")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed: the same seed gives the same numbers on the same "
                                                            "device [default: the scenario's].")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")]
DetachOpt = Annotated[bool, typer.Option("--detach", help="Run as a background job and print its id.")]


@app.command("calibrate")
def calibrate(
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset to fit the simulated population from.")],
    segments: Annotated[str | None, typer.Option("--segments", help="A segmentation id, or 'rule' for the built-in "
                                                                    "rule [default: the dataset's newest "
                                                                    "segmentation, else the rule].")] = None,
    model: Annotated[int | None, typer.Option("--model", autocompletion=completion.models, help="Take tastes from this CF model's embeddings "
                                                             "(als, bpr, ncf) [default: tags].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sampled fits.")] = 0,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Fit visits, churn, choice, prices and memberships per segment, store them and print what was fitted."""
    session = common.session(workspace)
    seg = None if segments is None else segments if segments == "rule" else _int(segments, "--segments")
    with common.progress_bar(f"calibrate {data}") as progress:
        record = _simulate().calibrate(session, data, segmentation=seg, model=model, seed=seed, progress=progress)
    common.emit(record, as_json, lambda: print_calibration(record))


@app.command("run")
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (TOML; see sample_data/scenarios/).")],
    replicates: ReplicatesOpt = None,
    days: DaysOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = "auto",
    detach: DetachOpt = False,
    distributed: Annotated[bool, typer.Option(
        "--distributed", help="Share the replicates among the processes of a torchrun launch (gloo on CPUs, NCCL "
                              "with a GPU each): rank 0 stores and prints the run, the others print nothing.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Simulate a scenario day by day and store its KPIs with 95 % intervals."""
    if detach and distributed:
        raise typer.BadParameter("a --distributed run is the torchrun launch itself: drop --detach",
                                 param_hint="--detach")
    session = common.session(workspace)
    options = {"replicates": replicates, "days": days, "seed": seed, "device": device}
    if detach:
        simulate = _simulate()
        request = simulate.SimRunRequest.from_file(scenario, replicates=replicates, days=days, seed=seed, device=device)
        _print_job(simulate.start_run(session, request), as_json)
        return
    with common.progress_bar(f"simulate {scenario.name}") as progress:
        if distributed:
            from kpconsole.services import simulate_distributed

            record = simulate_distributed.run_file_distributed(session, scenario, progress=progress, **options)
        else:
            record = _simulate().run_file(session, scenario, progress=progress, **options)
    if record is None:  # a torchrun rank other than 0: rank 0 reports
        return
    common.emit({"id": record.id, "run": record, "totals": record.summary["totals"]}, as_json,
                lambda: print_run(record, all_metrics=False))


@app.command("compare")
def compare(
    run_a: Annotated[int, typer.Argument(autocompletion=completion.runs, help="Run A (see sim list).")],
    run_b: Annotated[int, typer.Argument(autocompletion=completion.runs, help="Run B: differences are A − B.")],
    all_metrics: Annotated[bool, typer.Option("--all", help="Every KPI, not only the headline ones.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Paired differences A − B of each KPI with 95 % intervals (common random numbers)."""
    result = sim_reads.compare(common.session(workspace), run_a, run_b)
    common.emit(result, as_json, lambda: print_comparison(result, all_metrics))


@app.command("feedback")
def feedback(
    scenario: Annotated[Path, typer.Argument(help="Scenario file whose policy is a model retrained on the simulated "
                                                  "clicks: kind = \"model\", retrain_every = DAYS.")],
    replicates: ReplicatesOpt = None,
    days: DaysOpt = None,
    seed: SeedOpt = None,
    device: DeviceOpt = "auto",
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """The feedback loop: run the scenario with its model retrained every retrain_every days and with
    the same model frozen (same seed: paired), store both runs, and print retrained − frozen of
    homogenisation, exposure Gini and coverage with 95 % intervals (Chaney et al. 2018)."""
    session = common.session(workspace)
    from kpconsole.services import simulate_feedback

    options = {"replicates": replicates, "days": days, "seed": seed, "device": device}
    with common.progress_bar(f"feedback {scenario.name}") as progress:
        result = simulate_feedback.feedback_file(session, scenario, progress=progress, **options)
    common.emit(result, as_json, lambda: print_feedback(result))


@app.command("backtest")
def backtest(
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset to backtest on.")],
    cut: Annotated[str | None, typer.Option("--cut", help="First simulated day (2026-05-01) or a ratio of the time "
                                                          "span (0.7): calibrate before it, simulate from it.")] = None,
    cuts: Annotated[str | None, typer.Option("--cuts", help="Several cuts, comma-separated (0.5,0.6,0.67,0.75): "
                                                            "one backtest each (rolling origins) and their mean.")] = None,
    presentations: Annotated[bool, typer.Option(
        "--presentations", help="Per presentation (courses with start dates and enroll events, as OULAD): "
                                "calibrate before each presentation's registration opens, simulate its "
                                "registrations from then, and score them next to the baselines and the "
                                "previous presentation aligned on its opening.")] = False,
    replicates: Annotated[int, typer.Option("--replicates", "-r", min=1, help="Replicates.")] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Seed.")] = 0,
    device: DeviceOpt = "auto",
    detach: DetachOpt = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Calibrate before the cut, simulate after it, and score daily and weekly actives (MAPE, MASE)
    next to forecast baselines (naive, seasonal-naive, 28-day mean and weekday profile, exponential
    smoothing), with the share of weeks inside the simulator's 95 % predictive band."""
    if (cut is not None) + (cuts is not None) + presentations != 1:
        raise typer.BadParameter("give one of --cut (one backtest) or --cuts (several), or --presentations",
                                 param_hint="--cut")
    if detach and presentations:
        raise typer.BadParameter("--presentations runs in the foreground: drop --detach", param_hint="--detach")
    session = common.session(workspace)
    from kpconsole.services import simulate_backtest

    options = {"replicates": replicates, "seed": seed, "device": device}
    try:
        if detach:
            requests = [simulate_backtest.BacktestRequest(data, text, replicates=replicates, seed=seed, device=device)
                        for text in ([cut] if cut is not None else simulate_backtest.parse_cuts(cuts))]
            ids = simulate_backtest.start_backtests(session, requests)
            if cut is not None:
                _print_job(ids[0], as_json)
            else:
                common.emit({"job_ids": ids}, as_json, lambda: common.note(
                    f"backtesting as jobs {', '.join(map(str, ids))}: kpconsole jobs list"))
            return
        with common.progress_bar(f"backtest {data}") as progress:
            records = ([simulate_backtest.backtest(session, data, cut, progress=progress, **options)] if cut is not None
                       else simulate_backtest.backtest_cuts(session, data, cuts, progress=progress, **options) if cuts
                       else simulate_backtest.backtest_presentations(session, data, progress=progress, **options))
    except ConsoleError as exc:  # the service names the field; the person typed the flag
        if str(exc).startswith("cuts"):
            raise ConsoleError(f"--{exc}") from None
        raise
    from kpconsole.reads import backtests

    if cut is not None:
        record = records[0]
        bt = record.summary["backtest"]
        common.emit({"id": record.id, "run": record, "backtest": bt,
                     **{k: bt[k] for k in ("simulator", "baselines", "best_baseline", "ratio_to_best",
                                           "coverage_weekly", "coverage_daily")}},
                    as_json, lambda: (print_run(record, all_metrics=False), _print_baselines(bt),
                                      _print_community(bt)))
        return
    each = [r.summary["backtest"] for r in records]
    mean = backtests.mean_over_cuts(each)
    common.emit({"presentations" if presentations else "cuts":
                 [{"id": r.id, "run": r, "backtest": b} for r, b in zip(records, each, strict=True)],
                 "mean": mean, **{k: mean[k] for k in ("simulator", "baselines", "best_baseline", "ratio_to_best",
                                                       "coverage_weekly", "coverage_daily")}},
                as_json, lambda: _print_cuts(records, each, mean, presentations))


def _print_baselines(bt: dict, title: str | None = None, line: str | None = None) -> None:
    """The simulator next to each baseline on the same days, the ratio, the coverage."""
    from kpconsole.reads import backtests

    if not backtests.has_baselines(bt):
        return
    rounded = lambda v, digits: None if v is None else round(v, digits)
    rows = [(name, rounded(md, 1), rounded(mw, 1), rounded(sd, 2), rounded(sw, 2))
            for name, md, mw, sd, sw in backtests.score_rows(bt)]
    rows[-1] = (rows[-1][0], *(rounded(v, 2) for v in backtests.score_rows(bt)[-1][1:]))
    common.stdout.print(common.table(title or "daily actives after the cut: MAPE % and MASE, the same days "
                                     "(what each baseline is: docs/simulation.md)",
                                     backtests.COLUMNS, rows, right=backtests.COLUMNS[1:]))
    common.stdout.print(line or backtests.verdict_line(bt))


def _print_community(bt: dict) -> None:
    """The Q&A figures simulated (mean and 95 % interval over replicates) next to the data's."""
    from kpconsole.reads import backtests

    if not bt.get("community"):
        return
    common.stdout.print(common.table("questions after the cut: simulated (95 % interval) and actual",
                                     backtests.COMMUNITY_COLUMNS, backtests.community_rows(bt),
                                     right=backtests.COMMUNITY_COLUMNS[1:]))


def _print_cuts(records: list[RunRecord], each: list[dict], mean: dict, presentations: bool = False) -> None:
    """Several backtests of one dataset (rolling cuts, or one per presentation) and their mean."""
    from kpconsole.reads import backtests

    rows = [(r.id, *backtests.cut_row(b)) for r, b in zip(records, each, strict=True)]
    rows = [(*row[:3], *(None if v is None else round(v, 1) for v in row[3:5]), row[5],
             None if row[6] is None else round(row[6], 1), None if row[7] is None else round(row[7], 2),
             None if row[8] is None else f"{row[8]:.0%}") for row in rows]  # run, cut, days, MAPEs, best, …
    columns = ("run", *backtests.CUT_COLUMNS)
    title = (f"backtests of '{records[0].dataset}' per presentation ({len(records)}, cut at each registration "
             "opening): MAPE % of registrants by week and day" if presentations else
             f"backtests of '{records[0].dataset}' at {len(records)} cuts: MAPE % of actives by week and day")
    common.stdout.print(common.table(title,
                                     columns, rows, right=("run", "days", "sim week", "sim day", "best week",
                                                           "ratio", "in band"), drop=("run", "days")))
    _print_baselines(mean, title=f"mean over the {len(records)} {'presentations' if presentations else 'cuts'}: "
                                 "MAPE % and MASE",
                     line=backtests.mean_line(mean))


@app.command("list")
def list_(
    calibrations: Annotated[bool, typer.Option("--calibrations", help="List calibrations instead of runs.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Simulation runs (or calibrations), newest first."""
    session = common.session(workspace)
    if calibrations:
        cals = sim_reads.list_calibrations(session)
        rows = [(c.id, c.dataset, c.cut or "all", c.segments, c.tastes, c.created_at[:16].replace("T", " "))
                for c in cals]
        common.emit(cals, as_json, lambda: common.stdout.print(
            common.table(None, ["id", "dataset", "events", "segments", "tastes", "made"], rows, right=["id"])
            if rows else "no calibrations yet: kpconsole sim calibrate --data NAME"))
        return
    runs = sim_reads.list_runs(session)
    rows = [(r.id, r.kind, r.name, r.dataset, r.days, r.replicates, r.seed, r.summary.get("policy"),
             r.created_at[:16].replace("T", " ")) for r in runs]
    common.emit(runs, as_json, lambda: common.stdout.print(
        common.table(None, ["id", "kind", "name", "dataset", "days", "replicates", "seed", "policy", "made"], rows,
                     right=["id", "days", "replicates", "seed"], wrap=["name"], drop=["made"])
        if rows else "no runs yet: kpconsole sim run SCENARIO.toml"))


@app.command("show")
def show(
    run_id: Annotated[int, typer.Argument(autocompletion=completion.runs, help="Run id (see sim list).")],
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Also print this KPI day by day. "
                                                                           "Repeatable.")] = None,
    all_metrics: Annotated[bool, typer.Option("--all", help="Every KPI, not only the headline ones.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the daily series (day, kpi, mean, lower, upper; every KPI or those of --metric) "
                            "to this file (.parquet, .csv or .jsonl), atomically.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="parquet, csv or jsonl [default: by the suffix of "
                                                             "--out].")] = None,
    per_replicate: Annotated[bool, typer.Option("--replicates", help="With --out: every replicate's value "
                                                                     "(day, kpi, replicate, value).")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """A run's scenario, totals with 95 % intervals and (with --metric) daily series; with --out, the series to a file."""
    session = common.session(workspace)
    if out is not None or per_replicate:
        from kpconsole.cli import exporting
        from kpconsole.services import exports

        if out is None:
            raise typer.BadParameter("needs --out PATH", param_hint="--replicates")
        exporting.run_export(f"run {run_id}", out, fmt, lambda target, progress: exports.export_simulation(
            session, run_id, target, metric, per_replicate, progress), as_json)
        return
    record = sim_reads.get_run(session, run_id)
    daily = sim_reads.series(session, run_id, metric) if metric else []
    common.emit({"run": record, "series": daily}, as_json, lambda: (print_run(record, all_metrics),
                                                                   _print_series(daily)))


# --- rendering ----------------------------------------------------------------------------


def _int(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise typer.BadParameter("a segmentation id or 'rule'", param_hint=option) from None


def _print_job(job_id: int, as_json: bool) -> None:
    common.emit({"job_id": job_id}, as_json, lambda: common.note(
        f"simulating as job {job_id}: kpconsole jobs show {job_id}  (logs: kpconsole jobs logs {job_id} --follow)"))


def _interval(row: dict) -> str:
    return f"[{common.fmt(row['low'])}, {common.fmt(row['high'])}]"


def print_calibration(record: CalibrationRecord) -> None:
    s = record.summary
    w = s["window"]
    common.stdout.print(f"calibration {record.id} of '{record.dataset}': {w['events']:,} events {w['from']} .. "
                        f"{w['to']} (exclusive); segments: {record.segments}; tastes: {record.tastes}")
    segs = s["segments"]
    params = [("users", "users"), ("visit/day", "visit_mean"), ("visit conc.", "visit_concentration"),
              ("churn/day", "churn_mean"), ("churn conc.", "churn_concentration"), ("extra items", "attention"),
              ("β taste", "choice_sensitivity"), ("buy b", "buy_intercept"), ("price α", "price_sensitivity"),
              ("refund", "refund"), ("subscribe", "subscribe"), ("cancel", "cancel"), ("contribute", "contribute")]
    names = [r["segment"] for r in segs]
    rows = [(label, *(r[key] for r in segs)) for label, key in params]
    common.stdout.print(common.table(None, ["per segment", *names], rows, right=names))
    c = s["catalog"]
    common.stdout.print(f"catalog: {c['items']:,} items ({c['paid']:,} paid, {c['creators']:,} creators); "
                        f"arrivals {s['arrivals_per_day']:.3g}/day; reference price {s['reference_price']:.4g}; "
                        f"plan {s['plan_price']:.4g} every {s['period_days']} days")
    new_items = {kind: rate for kind, rate in s.get("new_items_per_day", {}).items() if rate > 0}
    if new_items:  # calibrations stored before the catalog could grow have neither key
        common.stdout.print("new items/day: " + ", ".join(f"{kind} {rate:.3g}" for kind, rate in new_items.items()))
    answering = s.get("answering", {})
    if answering.get("fresh_share", 0) > 0:
        common.stdout.print(f"answers: {answering['fresh_share']:.0%} to questions younger than "
                            f"{answering['window_days']:g} days, by age e-fold {answering['tau_days']:.3g} days, "
                            f"unanswered ×{answering['unanswered_boost']:.3g}")
    for line in s["notes"]:
        common.note(f"note: {line}")


def print_run(record: RunRecord, all_metrics: bool) -> None:
    common.stdout.print(sim_reads.run_line(record))
    tastes = _tastes_line(record.summary)
    if tastes:
        common.stdout.print(tastes)
    if record.summary.get("backtest"):
        common.stdout.print(sim_reads.backtest_line(record.summary["backtest"]))
    rows = [(m, how, total["mean"], _interval(total)) for m, how, total in sim_reads.total_rows(record, all_metrics)]
    common.stdout.print(common.table("run totals (95 % interval over replicates; what each KPI is: docs/simulation.md)",
                                     ["kpi", "over run", "mean", "interval"], rows, right=["mean"], wrap=["interval"]))
    for profile in record.summary.get("incentives", []):
        common.stdout.print(f"incentive '{profile['name']}' on {profile['action']}: first threshold "
                            f"{profile['threshold']} (rates by distance in --json)")
    for line in record.summary.get("notes", []):
        common.note(f"note: {line}")


def _tastes_line(summary: dict) -> str | None:
    """Where the agents' tastes came from and whether the policy's model learns (runs saved before
    runs recorded it have neither)."""
    if "tastes" not in summary:
        return None
    every = summary.get("retrain_every")
    return f"agents' tastes from {summary['tastes']}" + (
        f"; the policy's model is retrained on the simulated clicks every {every} days" if every else "")


def print_feedback(result) -> None:
    """The feedback comparison: both runs in a line, the three figures in a table."""
    r, f = result.retrained, result.frozen
    common.stdout.print(f"run {r.id} (retrained every {result.retrain_every} days) − run {f.id} (frozen), paired: "
                        f"{r.days} days × {r.replicates} replicates, seed {r.seed}; policy {r.summary['policy']}; "
                        f"agents' tastes from {r.summary['tastes']}")
    rows = [(x.metric, x.retrained, x.frozen, x.difference, f"[{common.fmt(x.low)}, {common.fmt(x.high)}]",
             f"{x.share_higher:.0%}", _verdict({"low": x.low, "high": x.high})[0]) for x in result.figures]
    columns = ["kpi", "retrained", "frozen", "R − F", "95 % interval", "R higher", ""]
    common.stdout.print(common.table("R − F: retrained minus frozen, paired; R higher: share of replicates", columns,
                                     rows, right=["retrained", "frozen", "R − F", "R higher"], wrap=["95 % interval"]))


def print_comparison(result, all_metrics: bool) -> None:
    how = "paired (common random numbers)" if result.paired else "unpaired (different seed or calibration: Welch)"
    common.stdout.print(f"run {result.a.id} '{result.a.name}' − run {result.b.id} '{result.b.name}', {how}")
    keep = kpis.METRICS if all_metrics else kpis.HEADLINE
    rows = [(r["metric"], r["a"], r["b"], r["difference"], f"[{common.fmt(r['low'])}, {common.fmt(r['high'])}]",
             _verdict(r)) for r in result.rows if r["metric"] in keep]
    common.stdout.print(common.table(None, ["kpi", "A", "B", "A − B", "95 % interval", ""], rows,
                                     right=["A", "B", "A − B"], wrap=["95 % interval"]))


def _verdict(row: dict) -> str:
    if row["low"] > 0:
        return "▲ A higher"
    if row["high"] < 0:
        return "▼ A lower"
    return "≈"


def _print_series(rows: list[dict]) -> None:
    if not rows:
        return
    common.stdout.print()
    common.stdout.print(common.table("daily (95 % interval)", ["kpi", "day", "mean", "low", "high"],
                                     [(r["metric"], r["day"], r["mean"], r["low"], r["high"]) for r in rows],
                                     right=["day", "mean", "low", "high"]))
