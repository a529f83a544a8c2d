"""``kpconsole value …``: fit customer-value models (BG/NBD, Pareto/NBD, Gamma-Gamma, sBG), list, show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from kpconsole.reads import value as value_reads
from kpconsole.cli import common, completion, exporting
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import ConsoleError
value = common.lazy_import("kpconsole.services.value")

app = typer.Typer(help=GROUPS["value"].help, no_args_is_help=True)


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConsoleError(f"{option} {text!r}: give an ISO date, e.g. 1997-09-30") from None


@app.command("fit")
def fit(
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset with the transactions or subscriptions.")],
    model: Annotated[str, typer.Option("--model", "-m", help="bgnbd, paretonbd (repeat buying, + Gamma-Gamma "
                                                            "for CLV), auto (whichever of the two fits), "
                                                            "gammagamma (spend) or sbg (subscriptions).")],
    calibration_end: Annotated[str | None, typer.Option(
        "--calibration-end", help="Last day (ISO) of the calibration period; later data check the predictions "
                                  "(default: the last day of the data).")] = None,
    kinds: Annotated[str, typer.Option("--kinds", help="Event kinds that are transactions, comma-separated.")] = "purchase",
    period_days: Annotated[float | None, typer.Option(
        "--period-days", help="Days per model period (default: 7, weeks; 30 for sbg).")] = None,
    horizon_days: Annotated[float, typer.Option("--horizon-days", help="CLV and expected-purchase horizon.")] = 365.0,
    discount_rate: Annotated[float, typer.Option("--discount-rate", help="Yearly discount rate for CLV (0.1 = 10%).")] = 0.10,
    detach: Annotated[bool, typer.Option("--detach", help="Run as a background job and print its id.")] = False,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Fit a customer-value model by maximum likelihood and store the fit with per-customer scores."""
    request = value.ValueRequest(data=data, model=model, calibration_end=_date(calibration_end, "--calibration-end"),
                           kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()), period_days=period_days,
                           horizon_days=horizon_days, discount_rate=discount_rate)
    session = common.session(workspace)
    if detach:
        job_id = value.start(session, request)
        common.emit({"job_id": job_id}, as_json, lambda: common.note(
            f"fitting as job {job_id}: kpconsole jobs show {job_id}  (logs: kpconsole jobs logs {job_id} --follow)"))
        return
    with common.progress_bar(f"fit {model} on {data}") as progress:
        record = value.fit(session, request, progress)
    view = value_reads.ValueView(record)
    common.emit(view, as_json, lambda: print_view(view))


@app.command("list")
def list_(
    data: Annotated[str | None, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Only fits of this dataset.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Value fits in the workspace, newest first."""
    records = value_reads.list_fits(common.session(workspace), data)
    rows = [(r.id, r.dataset, r.model, _params(r.params), r.log_likelihood, r.n, r.settings.get("calibration_end"),
             r.created_at[:16].replace("T", " ")) for r in records]
    common.emit([r.as_dict() for r in records], as_json, lambda: common.stdout.print(
        common.table(None, ["id", "dataset", "model", "parameters", "log-lik", "n", "calibration end", "made"], rows,
                     right=["id", "log-lik", "n"], wrap=["parameters"], drop=["made"])
        if rows else "no value fits yet: kpconsole value fit --data NAME --model bgnbd"))


@app.command("show")
def show(
    fit_id: Annotated[int, typer.Argument(autocompletion=completion.value_fits, help="Value fit id (see value list).")],
    user: Annotated[str | None, typer.Option("--user", "-u", help="A customer ID: their P(alive), expected "
                                                                  "purchases and CLV.")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """A value fit; with --user, one customer's scores."""
    view = value_reads.show(common.session(workspace), fit_id, user)
    common.emit(view, as_json, lambda: print_view(view))


@app.command("export")
def export(
    fit_id: Annotated[int, typer.Argument(autocompletion=completion.value_fits, help="Value fit id (see value list).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.parquet, .csv or .jsonl), atomically.")],
    horizon: Annotated[float | None, typer.Option("--horizon", help="Days of expected purchases and CLV "
                                                                    "[default: the fit's --horizon-days].")] = None,
    fmt: exporting.FormatOpt = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Every customer's scores to a file: user_id, frequency, recency, T, p_alive, expected_purchases
    and clv over the horizon, horizon_days."""
    from kpconsole.services import exports

    session = common.session(workspace)
    exporting.run_export(f"value fit {fit_id}", out, fmt,
                         lambda target, progress: exports.export_value(session, fit_id, target, horizon, progress),
                         as_json)


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def print_view(view: value_reads.ValueView) -> None:
    r = view.record
    s = r.settings
    common.stdout.print(f"value fit {r.id}: {r.model} on '{r.dataset}', {r.n:,} fitted, calibration to "
                        f"{s['calibration_end']} in {s['period_days']:g}-day periods")
    if r.results.get("model_choice"):
        common.stdout.print(f"model chosen: {r.results['model_choice']['reason']}")
    errors = r.fit.get("standard_errors", {})
    rows = [(name, v, errors.get(name)) for name, v in r.params.items()]
    common.stdout.print(common.table(None, ["parameter", "estimate", "std. error"], rows, right=["estimate", "std. error"]))
    common.stdout.print(f"log-likelihood {r.log_likelihood:,.2f} — {r.fit['message']}")
    res = r.results
    if res.get("spend"):
        sp = res["spend"]
        common.stdout.print(f"spend (Gamma-Gamma): p={sp['p']:.4g} q={sp['q']:.4g} v={sp['v']:.4g} "
                            f"(log-likelihood {sp['log_likelihood']:,.2f}, {sp['n']:,} repeat customers)")
    elif res.get("spend_note"):
        common.note(f"no CLV: {res['spend_note']}")
    if res.get("totals"):
        t = res["totals"]
        clv = f", CLV {t['clv_total']:,.0f} in total ({t['clv_mean']:,.2f} mean)" if t.get("clv_total") is not None else ""
        common.stdout.print(f"{t['customers']:,} customers ({t['repeat_customers']:,} repeat): mean P(alive) "
                            f"{t['mean_p_alive']:.3f}, {t['expected_purchases']:,.0f} purchases expected in "
                            f"{s['horizon_days']:g} days{clv}")
    if res.get("holdout"):
        h = res["holdout"]
        corr = f", correlation {h['correlation']:.3f}" if h.get("correlation") is not None else ""
        common.stdout.print(f"holdout {s['calibration_end']} → {s['observation_end']}: {h['actual_transactions']:,} "
                            f"transactions, {h['predicted_transactions']:,.1f} predicted{corr}")
    if res.get("survival"):
        periods = range(len(res["survival"]))
        rows = [(t, res["survival"][t], res["observed_survival"][t], res["retention"][t - 1] if t else None)
                for t in periods]
        common.stdout.print(common.table("retention by tenure (periods)", ["t", "S(t) model", "S(t) observed", "r_t"],
                                         rows, right=["t", "S(t) model", "S(t) observed", "r_t"]))
        common.stdout.print(f"mean churn per period {res['mean_churn']:.3f}; discounted expected lifetime "
                            f"{res['discounted_expected_lifetime']:.2f} periods")
    if res.get("top_customers") and view.customer is None:
        cols = [c for c in ("user_id", "frequency", "recency", "T", "p_alive", "expected_purchases", "clv")
                if c in res["top_customers"][0]]
        common.stdout.print(common.table("top customers", cols, [[row[c] for c in cols] for row in res["top_customers"]],
                                         right=cols[1:]))
    if view.customer:
        common.stdout.print(common.kv(f"customer {view.customer['user_id']}",
                                      {k: v for k, v in view.customer.items() if k != "user_id"}))
