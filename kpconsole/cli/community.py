"""``kpconsole community health``: Q&A health against Area 51, contribution inequality, badges,
weekly series, and the monetisation KPIs of a platform."""

from __future__ import annotations

from typing import Annotated

import typer

from kpconsole.cli import common, completion
from kpconsole.cli.groups import GROUPS
community = common.lazy_import("kpconsole.services.community")

app = typer.Typer(help=GROUPS["community"].help, no_args_is_help=True)
SHOWN_WEEKS = 12


@app.command("health")
def health(
    data: Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets, help="Dataset: a Stack Exchange dump or a platform.")],
    weeks: Annotated[int | None, typer.Option("--weeks", min=1, help="Latest weeks of the weekly series to keep "
                                                                     f"(default: all in JSON, {SHOWN_WEEKS} in the table).")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Q&A health and/or monetisation KPIs of a dataset."""
    report = community.health(common.session(workspace), data, weeks=weeks)
    common.emit(report, as_json, lambda: print_report(report, weeks or SHOWN_WEEKS))


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} h"


def print_report(report: community.CommunityReport, weeks: int) -> None:
    qa = report.qa
    if qa is not None:
        f = qa.figures
        common.stdout.print(common.kv(f"Q&A health of '{report.dataset}' ({f['window_start']:%Y-%m-%d} .. "
                                      f"{f['window_end']:%Y-%m-%d})", {
            "questions": f["questions"], "answers": f["answers"], "comments": f["comments"],
            "questions / day": f["questions_per_day"],
            "answered": f"{f['answered_pct']:.1f}%  ({f['answered_rule']})",
            "with any answer": f"{f['any_answer_pct']:.1f}%",
            "with an accepted answer": "–" if f["accepted_pct"] is None else f"{f['accepted_pct']:.1f}%",
            "answers / question": f["answers_per_question"],
            "first answer, median": _hours(f["first_answer_median_hours"]),
            "first answer, 90th percentile": _hours(f["first_answer_p90_hours"]),
            "contributors (posted)": f["contributors"],
            "contribution Gini": f["contribution_gini"],
            "top 1% share of posts": f"{100 * f['contribution_top1_share']:.1f}%",
        }))
        rows = [(a["figure"], a["value"], a["target"], f"{100 * a['of_target']:.0f}%", "✓ meets" if a["meets"] else "✗ below")
                for a in qa.area51]
        common.stdout.print()
        common.stdout.print(common.table("Area 51 targets", ["figure", "value", "target", "of target", "status"], rows,
                                         right=["value", "target", "of target"]))
        if qa.badges:
            b = qa.badges
            classes = ", ".join(f"{n:,} {c}" for c, n in b["by_class"].items())
            top = ", ".join(f"{t['name']} {t['count']:,}" for t in b["top"])
            common.stdout.print(f"\nbadges: {b['total']:,} to {b['users']:,} users ({classes}); most awarded: {top}")
        tail = qa.weekly.tail(weeks).with_columns(qa.weekly.tail(weeks)["week"].dt.strftime("%Y-%m-%d"))
        names = {"week": "week of", "questions": "questions", "answers": "answers", "answered_pct": "answered %",
                 "first_answer_median_hours": "1st answer h", "posters": "posters", "new_users": "new users"}
        cols = [c for c in names if c in tail.columns]
        common.stdout.print()
        common.stdout.print(common.table(f"last {tail.height} weeks (answered and first answer: of that week's "
                                         "questions)", [names[c] for c in cols], tail.select(cols).rows(),
                                         right=[names[c] for c in cols[1:]]))
    money = report.money
    if money is not None:
        f = money.figures
        if qa is not None:
            common.stdout.print()
        pairs = {
            "net revenue": f["net_revenue"], "gross revenue": f["gross_revenue"], "refunds": f["refunds"],
            "refund rate (amount)": f"{100 * f['refund_rate']:.2f}%",
            "active users": f["active_users"], "paying users": f["paying_users"],
            "paying ratio": f"{100 * f['paying_ratio']:.1f}%", "ARPU": f["arpu"], "ARPPU": f["arppu"],
            "MRR (latest month end)": f["mrr_latest"], "subscribers (latest)": f["subscribers_latest"],
        }
        if "creator_income_gini" in f:
            pairs.update({"creators of priced items": f["creators"], "creator income Gini": f["creator_income_gini"],
                          "top 10% creators' share": f"{100 * f['creator_income_top10_share']:.1f}%"})
        common.stdout.print(common.kv(f"monetisation of '{report.dataset}'", pairs))
        monthly = money.monthly.with_columns(money.monthly["month"].dt.strftime("%Y-%m"))
        kpis = ["month", "net_revenue", "active_users", "paying_users", "arpu", "arppu", "refund_rate"]
        common.stdout.print()
        common.stdout.print(common.table("by month", ["month", "net revenue", "active", "paying", "ARPU", "ARPPU",
                                                      "refund rate"], monthly.select(kpis).rows(),
                                         right=["net revenue", "active", "paying", "ARPU", "ARPPU", "refund rate"]))
        mrr = ["month", "mrr", "subscribers", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr"]
        common.stdout.print()
        common.stdout.print(common.table("MRR at month end, rolled forward from the month before",
                                         ["month", "MRR", "subscribers", "+ new", "+ expansion", "− contraction",
                                          "− churn"], monthly.select(mrr).rows(),
                                         right=["MRR", "subscribers", "+ new", "+ expansion", "− contraction", "− churn"]))
