"""``kpconsole route``: who will answer a question, and how well the router does it.

* ``kpconsole route QUESTION_ID --data NAME [-k 10] [--json]`` — a question in the data;
* ``kpconsole route --data NAME --title … --tags a,b [--body-file F]`` — a question not yet asked;
* ``kpconsole route unanswered --data NAME [--limit 10|--all] [-k 3] [--by router] [--out F] [--json]`` —
  the newest questions nobody answered yet, each with who should see it (``--out``: as a file);
* ``kpconsole route evaluate --data NAME --cut 0.67|YYYY-MM-DD [--profiles question|day|cut]
  [--candidates cut|question] [--json]`` — the temporal protocol with the MostPop, RecentPop,
  TagPop and BM25 baselines.

``route QUESTION_ID`` is the group's default command (``route question QUESTION_ID`` spelled out).
Nothing heavy is imported here: the service loads Polars, NumPy and SciPy when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from kpconsole.cli import common, completion, exporting
from kpconsole.cli.groups import GROUPS
from kpconsole.errors import ConsoleError

service = common.lazy_import("kpconsole.services.route")

DEFAULT_COMMAND = "question"
METRIC_NAMES = ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10")


class _DefaultToQuestion(TyperGroup):
    """``route 123 …`` and ``route --title …`` run ``route question …``; ``route evaluate`` runs evaluate."""

    def parse_args(self, ctx, args):  # noqa: ANN001 — Click's signature
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(help=GROUPS["route"].help, no_args_is_help=True, cls=_DefaultToQuestion)

DataOpt = Annotated[str, typer.Option("--data", "-d", autocompletion=completion.datasets,
                                      help="Dataset: a Stack Exchange dump.")]


@app.command(DEFAULT_COMMAND)
def question(
    data: DataOpt,
    question_id: Annotated[int | None, typer.Argument(help="The question's id in the dataset (leave out for a new "
                                                           "question given by --title/--tags/--body-file).")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="How many users.")] = 10,
    title: Annotated[str | None, typer.Option("--title", help="A new question's title.")] = None,
    tags: Annotated[str | None, typer.Option("--tags", help="A new question's tags, comma-separated: a,b.")] = None,
    body_file: Annotated[Path | None, typer.Option("--body-file", help="A file with a new question's body "
                                                                       "(HTML or plain text).")] = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """The users most likely to answer a question, with why, and who is still active."""
    body = None
    if body_file is not None:
        try:
            body = body_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConsoleError(f"--body-file: cannot read {body_file} ({exc.__class__.__name__})") from None
    tag_list = tags.split(",") if tags else None
    result = service.suggest(common.session(workspace), data, question_id, title=title, tags=tag_list, body=body, k=k)
    common.emit(result, as_json, lambda: print_suggestions(result))


def print_suggestions(result) -> None:  # noqa: ANN001 — a RouteResult
    what = f"question {result.question_id}" if result.question_id is not None else "a new question"
    common.stdout.print(f"who will answer {what} of '{result.dataset}'"
                        + (f": {result.title}" if result.title else ""))
    common.stdout.print(f"tags: {', '.join(result.tags) or '–'}; routed at {result.at:%Y-%m-%d %H:%M}; "
                        f"text: {result.text}")
    rows = []
    for rank, s in enumerate(result.suggestions, 1):
        shared = ", ".join(f"{t} {n}" for t, n in s.shared_tags.items()) or "–"
        rate = "–" if s.acceptance_rate is None else f"{100 * s.acceptance_rate:.0f}%"
        rows.append((rank, s.user_id, "✓ active" if s.active else "✗ inactive", shared, s.recent_answers, s.answers,
                     rate, s.score))
    common.stdout.print(common.table(None, ["#", "user", "status", "shared tags (answers)", "30 d", "answers",
                                            "accepted", "score"], rows,
                                     right=["#", "30 d", "answers", "accepted", "score"],
                                     wrap=["shared tags (answers)"], drop=["score"]))
    if result.question_id is not None:
        common.stdout.print(f"answered by: {', '.join(map(str, result.answered_by)) or 'nobody yet'}")
    common.stderr.print("status: ✓ an event in the last 90 days of the data; 30 d: answers in the 30 days before; "
                        "the hybrid recommender's score is left out (it did not help: docs/community.md)")


@app.command("unanswered")
def unanswered(
    data: DataOpt,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many questions, newest first.")] = 10,
    every: Annotated[bool, typer.Option("--all", help="Every unanswered question (instead of --limit).")] = False,
    k: Annotated[int, typer.Option("-k", "--k", help="How many users per question.")] = 3,
    by: Annotated[str, typer.Option("--by", help="Rank by the learned router, or a baseline: mostpop, "
                                                 "recentpop, tagpop, bm25.")] = "router",
    out: exporting.OutOpt = None,
    fmt: exporting.FormatOpt = None,
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """The newest questions nobody has answered yet, each with who should see it and why; --out
    writes one row per (question, suggested answerer) for the platform to notify them."""
    session = common.session(workspace)
    questions = None if every else limit
    if out is not None:
        from kpconsole.services import exports

        exporting.run_export(f"answerers for '{data}'", out, fmt, lambda target, progress: exports.export_unanswered(
            session, data, target, limit=questions, k=k, by=by, progress=progress), as_json)
        return
    report = service.unanswered(session, data, limit=questions, k=k, by=by)
    common.emit(report, as_json, lambda: print_unanswered(report))


def print_unanswered(report) -> None:  # noqa: ANN001 — an UnansweredReport
    common.stdout.print(f"{report.total:,} unanswered questions in '{report.dataset}'; the newest "
                        f"{len(report.questions)}, routed by {report.by} at {report.at:%Y-%m-%d %H:%M}; "
                        f"text: {report.text}")
    rows = [(q.question_id, f"{q.asked_at:%Y-%m-%d}", q.title or "–", ", ".join(q.tags) or "–",
             "; ".join(service.answerer_words(s) for s in q.suggestions) or "nobody to suggest")
            for q in report.questions]
    common.stdout.print(common.table(None, ["question", "asked", "title", "tags", "suggested answerers (why)"], rows,
                                     right=["question"], wrap=["title", "tags", "suggested answerers (why)"]))


@app.command("evaluate")
def evaluate(
    data: DataOpt,
    cut: Annotated[str, typer.Option("--cut", help="Train before, test after: a ratio of the timeline (0.67) or a "
                                                   "date (YYYY-MM-DD).")],
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Resamples of the paired bootstrap.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the ranker's negatives and the bootstrap.")] = 0,
    profiles: Annotated[str, typer.Option("--profiles", help="Feature each test question from the history before "
                                                             "it (question), before its day (day), or before the "
                                                             "cut, frozen (cut).")] = "question",
    candidates: Annotated[str, typer.Option("--candidates", help="Rank the users active before the cut (cut) or "
                                                                 "before each question (question).")] = "cut",
    workspace: common.WorkspaceOpt = None,
    as_json: common.JsonOpt = False,
) -> None:
    """Hit@1/5/10, MRR and NDCG@10 of the router against MostPop, RecentPop, TagPop and BM25."""
    report = service.evaluate(common.session(workspace), data, cut, bootstrap=bootstrap, seed=seed,
                              profiles=profiles, candidates=candidates)
    common.emit(report, as_json, lambda: print_evaluation(report))


def metric_rows(router: dict, baselines: dict, differences: dict) -> list[tuple]:
    """One row per method: its metrics; baseline rows add the router's Δ MRR with its interval."""
    rows = [("router", *[router[m] for m in METRIC_NAMES], "")]
    for name, values in baselines.items():
        mean, low, high = differences[name]["mrr"]
        rows.append((name, *[values[m] for m in METRIC_NAMES], f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"))
    return rows


def print_evaluation(report) -> None:  # noqa: ANN001 — a RouteEvaluationReport
    ev = report.evaluation
    whom = "the cut" if ev.candidate_set == "cut" else "each question"
    when = {"question": "each question's posting", "day": "each question's day", "cut": "the cut"}[ev.profiles]
    common.stdout.print(f"routing on '{report.dataset}', cut {ev.cut:%Y-%m-%d %H:%M}: {ev.questions:,} answered "
                        f"questions after it, featured from the history before {when}; {ev.candidates:,} users "
                        f"ranked (active before {whom}); {ev.unreachable} questions had no answerer active before "
                        f"{whom}; text: {report.text}")
    columns = ["method", *METRIC_NAMES, "router Δ MRR [95%]"]
    common.stdout.print(common.table("answerers relevant", columns, metric_rows(ev.router, ev.baselines, ev.differences),
                                     right=list(METRIC_NAMES)))
    acc = ev.accepted
    if acc.get("questions"):
        common.stdout.print(common.table(f"accepted answerer only ({acc['questions']:,} questions)", columns,
                                         metric_rows(acc["router"], acc["baselines"], acc["differences"]),
                                         right=list(METRIC_NAMES)))
    low = {b: d["hit@10"][1] for b, d in ev.differences.items()}
    common.stdout.print("router − baseline Hit@10, 95% lower bound: "
                        + ", ".join(f"{b} {v:+.3f}" for b, v in low.items()))
