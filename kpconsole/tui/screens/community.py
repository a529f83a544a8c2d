"""7 Community: Area 51 ratings with their targets, Q&A figures and their weekly series, the newest
unanswered questions with who should see each (by the learned router or a baseline, r to change),
and a platform's monetisation (ARPU, paying ratio, MRR roll-forward, creator income concentration)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Select, Static

from kpconsole import choices
from kpconsole.services import community, datasets, route
from kpconsole.services.community import CommunityReport
from kpconsole.services.route import UnansweredReport
from kpconsole.tui.formatting import percent, short
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.widgets.chart import Chart, Series

OPEN_QUESTIONS = 8  # the newest unanswered questions shown
ANSWERERS = 3  # suggested answerers per question
WEEKLY = ("questions", "answered_pct", "first_answer_median_hours", "answers", "posters", "new_users")
MONTHLY = ("net_revenue", "mrr", "active_users", "paying_ratio", "arpu")


@dataclass
class DatasetsListed(Message):
    names: list[str]


@dataclass
class Reported(Message):
    report: CommunityReport


@dataclass
class Routed(Message):
    dataset: str
    report: UnansweredReport | None  # None: the dataset has no questions and answers to route


def open_questions_table(report: UnansweredReport) -> Table:
    """The newest unanswered questions, each with its suggested answerers and why."""
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left", title_style="bold",
                  title=f"Unanswered: {report.total:,} questions; the newest {len(report.questions)}, "
                        f"suggested answerers by {report.by} (r: next router)")
    for name, justify, ratio in (("question", "right", None), ("asked", "left", None), ("title", "left", 3),
                                 ("suggested answerers (shared tags, answers in 30 d)", "left", 4)):
        table.add_column(name, justify=justify, ratio=ratio)
    for q in report.questions:
        table.add_row(str(q.question_id), f"{q.asked_at:%Y-%m-%d}", q.title or ", ".join(q.tags) or "–",
                      "; ".join(route.answerer_words(s) for s in q.suggestions) or "nobody to suggest")
    return table


def area51_table(rows: list[dict]) -> Table:
    """Each Area 51 figure against its published target, marked OK or LOW in words."""
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left",
                  title=f"Area 51: {sum(r['meets'] for r in rows)} of {len(rows)} targets met")
    for name, justify in (("figure", "left"), ("value", "right"), ("target", "right"), ("of target", "right"),
                          ("", "left")):
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(r["figure"].replace("_", " "), short(r["value"]), short(r["target"]), percent(r["of_target"]),
                      "✓ OK" if r["meets"] else "✗ LOW")
    return table


def figures_table(title: str, figures: dict, names: tuple[tuple[str, str, str], ...]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=False, title=title, title_justify="left",
                  title_style="bold")
    table.add_column()
    table.add_column(justify="right")
    for key, label, kind in names:
        if key in figures and figures[key] is not None:
            value = figures[key]
            table.add_row(label, percent(value) if kind == "%" else short(value))
    return table


QA_FIGURES = (("questions", "questions", ""), ("answers", "answers", ""), ("accepted_pct", "accepted %", ""),
              ("first_answer_median_hours", "1st answer median h", ""), ("first_answer_p90_hours", "1st answer p90 h", ""),
              ("contributors", "contributors", ""), ("contribution_gini", "contribution Gini", ""),
              ("contribution_top1_share", "top 1% share", "%"))
MONEY_FIGURES = (("net_revenue", "net revenue", ""), ("arpu", "ARPU", ""), ("arppu", "ARPPU", ""),
                 ("paying_ratio", "paying ratio", "%"), ("refund_rate", "refund rate", "%"),
                 ("mrr_latest", "MRR (latest)", ""), ("subscribers_latest", "subscribers", ""),
                 ("creator_income_gini", "creator income Gini", ""), ("creator_income_top10_share", "top 10% creators", "%"))


class CommunityScreen(ConsoleScreen):
    """Community"""

    MODE = "community"
    TITLE = "Community"
    CSS_PATH = "community.tcss"
    BINDINGS = [
        Binding("w", "series", "Series", tooltip="Show: next weekly or monthly series", id="community.series"),
        Binding("d", "dataset", "Dataset", tooltip="Choose: dataset", id="community.dataset"),
        Binding("r", "router", "Router", tooltip="Show: suggested answerers by the next router",
                id="community.router"),
        Binding("o", "export", "Export", tooltip="Export: suggested answerers of every unanswered question…",
                id="community.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: CommunityReport | None = None
        self.series_at = 0
        self.router = "router"
        self.routable = False  # whether the dataset shown has questions to route

    def compose_body(self) -> ComposeResult:
        yield Select([], prompt="dataset", id="community-data", compact=True)
        with VerticalScroll():
            with Horizontal(id="community-top"):
                yield Static(id="community-area51")
                yield Static(id="community-figures")
            yield Chart("", id="community-chart")
            yield Static(id="community-open")
            yield Static(id="community-money")

    def on_screen_resume(self) -> None:
        self.in_thread(lambda: self.post_message(DatasetsListed(
            [d.name for d in datasets.list_datasets(self.session)])), group="datasets")

    def on_datasets_listed(self, message: DatasetsListed) -> None:
        select = self.query_one("#community-data", Select)
        current = select.value
        select.set_options([(n, n) for n in message.names])
        if current in message.names:
            select.value = current
        elif message.names:
            select.value = message.names[0]
        else:
            self.query_one("#community-area51", Static).update("No datasets yet: ingest one (2 Data → i).")

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            name = event.value
            self.in_thread(lambda: self.post_message(Reported(community.health(self.session, name))), group="health")

    def on_reported(self, message: Reported) -> None:
        self.report = report = message.report
        area, figures, money = (self.query_one(f"#community-{n}", Static) for n in ("area51", "figures", "money"))
        self.query_one("#community-open", Static).update("")
        self.route_open_questions()
        if report.qa is not None:
            area.update(area51_table(report.qa.area51))
            figures.update(figures_table("Q&A", report.qa.figures, QA_FIGURES))
        else:
            area.update("No questions and answers in this dataset: no Area 51 rating.")
            figures.update("")
        money.update(figures_table("Monetisation", report.money.figures, MONEY_FIGURES) if report.money else "")
        self.series_at = 0
        self.show_series()

    def route_open_questions(self) -> None:
        """Suggest answerers for the newest unanswered questions (fitting the router the first time
        takes about a second, so it runs in a worker)."""
        value = self.query_one("#community-data", Select).value
        if not isinstance(value, str):
            return
        name, by = value, self.router

        def work() -> None:
            routable = route.is_qa_dump(datasets.get(self.session, name))
            self.post_message(Routed(name, route.unanswered(self.session, name, limit=OPEN_QUESTIONS, k=ANSWERERS,
                                                            by=by) if routable else None))

        self.in_thread(work, group="route")

    def on_routed(self, message: Routed) -> None:
        report = message.report
        if self.report is None or message.dataset != self.report.dataset or (report and report.by != self.router):
            return  # an answer to an earlier choice
        self.routable = report is not None
        panel = self.query_one("#community-open", Static)
        panel.display = self.routable
        if report is not None:
            panel.update(open_questions_table(report) if report.questions else
                         "Unanswered: none — every question has an answer.")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("router", "export") and not self.routable:
            return False  # no questions to route: the key is left out of the footer
        return super().check_action(action, parameters)

    def action_export(self) -> None:
        from kpconsole.services import exports

        name, by = self.report.dataset if self.report else "", self.router
        self.offer_export(f"the suggested answerers of '{name}' (by {by})", lambda target, progress:
                          exports.export_unanswered(self.session, name, target, k=ANSWERERS, by=by, progress=progress),
                          f"answerers-{name}.csv")

    def action_router(self) -> None:
        routers = choices.ROUTERS
        self.router = routers[(routers.index(self.router) + 1) % len(routers)]
        self.route_open_questions()

    def series_names(self) -> list[tuple[str, str]]:
        report = self.report
        if report is None:
            return []
        weekly = [("weekly", n) for n in WEEKLY] if report.qa is not None else []
        monthly = [("monthly", n) for n in MONTHLY] if report.money is not None else []
        return weekly + monthly

    def show_series(self) -> None:
        names = self.series_names()
        chart = self.query_one("#community-chart", Chart)
        if not names or self.report is None:
            chart.plot([], title="")
            return
        every, name = names[self.series_at % len(names)]
        frame = self.report.qa.weekly if every == "weekly" else self.report.money.monthly
        frame = frame.tail(self.report.weeks) if every == "weekly" and self.report.weeks else frame
        values = [float(v) if v is not None else float("nan") for v in frame[name].to_list()]
        start = frame[frame.columns[0]][0]
        chart.plot([Series(name.replace("_", " "), values)],
                   title=f"{every} {name.replace('_', ' ')} from {str(start)[:10]} ({len(values)} points; w: next)")

    def action_series(self) -> None:
        self.series_at += 1
        self.show_series()

    def action_dataset(self) -> None:
        self.query_one("#community-data", Select).focus()
