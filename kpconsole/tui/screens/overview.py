"""1 Overview: a dataset's KPIs at a glance with their trends, recent jobs, and what needs
attention (failed or lost jobs, models trained on data that has changed since).

The figures come from the community service: Q&A health and monetisation (the same numbers as
``kpconsole community health``; each tile's sparkline is that figure's weekly or monthly series)
and the daily, weekly and monthly active users, whose tile charts DAU/MAU day by day.

This is the first screen painted, so it imports no service, store reader or Polars: its workers
do, and they start only after the first frame (``ConsoleApp.after_first_frame``). That frame
shows the tiles' frames with a placeholder (``…``); their values follow when the workers are done.
The jobs table is mounted after that frame too, and DataTable's module imported with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Grid, Horizontal
from textual.message import Message
from textual.widgets import Select, Static

from kpconsole.errors import ConsoleError
from kpconsole.tui.collector import keep_out_of_collections
from kpconsole.tui.formatting import count, minute, percent, short
from kpconsole.tui.job_status import STATUS_MARK
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.tables import set_columns, sync_rows
from kpconsole.tui.widgets.kpi_tile import KpiTile

if TYPE_CHECKING:
    import polars as pl

    from kpconsole.services.community import CommunityReport
    from store.catalog import DatasetRecord
    from store.jobs import JobRecord

JOB_COLUMNS = ("job", "kind", "status", "progress", "created")
POLL_SECONDS = 2.0
RECENT_JOBS = 5


@dataclass
class Figures(Message):
    record: DatasetRecord
    report: CommunityReport | None
    why_none: str
    actives: pl.DataFrame
    stickiness: list[float]


@dataclass
class Activity(Message):
    datasets: list[DatasetRecord]
    jobs: list[JobRecord]
    attention: list[str]


def series(frame, column: str) -> list[float]:
    return [float(v) for v in frame[column].to_list() if v is not None]


def attention(recent: list[JobRecord], hashes: dict[str, str], session) -> list[str]:
    """Failed and lost jobs among the recent ones, and models whose data changed since training."""
    from kpconsole.reads import models as model_reads  # in the worker: see the module docstring

    out = [f"✗ job {j.id} ({j.kind}) {j.status}: {j.error or 'no reason recorded'}"
           for j in recent if j.status in ("failed", "lost")]
    records = model_reads.list_models(session)  # the reads: the models service imports torch
    freshness = model_reads.freshness(session, records)
    for m in records:
        fresh = freshness[m.id]
        if fresh.stale:
            out.append(f"⚠ model {m.id} ({m.algo}) is older than its data: '{m.dataset}' changed since it was trained"
                       f" ({fresh.change})")
    return out


class OverviewScreen(ConsoleScreen):
    """Overview"""

    MODE = "overview"
    TITLE = "Overview"
    BINDINGS = [
        Binding("d", "dataset", "Dataset", tooltip="Choose: dataset for the KPIs", id="overview.dataset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.known: dict[str, DatasetRecord] = {}
        self._figures_shown = False
        self.refresher = self.poll("overview", self._collect, POLL_SECONDS)

    def compose_body(self) -> ComposeResult:
        yield Container(id="overview-top")  # the dataset picker, mounted after the first frame
        with Grid(id="kpis"):
            yield KpiTile("users", id="kpi-users")
            yield KpiTile("DAU · MAU, last day", id="kpi-active")
            yield KpiTile("paying ratio", id="kpi-paying")
            yield KpiTile("net revenue · MRR", id="kpi-revenue")
            yield KpiTile("community health", id="kpi-health")
        yield Horizontal(id="overview-lower")  # recent jobs and what needs attention: the same

    def on_screen_resume(self) -> None:
        self.console.after_first_frame(partial(self.call_later, self.complete))

    async def complete(self) -> None:
        """After the first frame (the tiles): mount the rest of the screen, then read the workspace.

        The dataset picker, the jobs table and their styles cost as much to set up as the tiles;
        their places are kept, so nothing moves when they arrive a frame later."""
        if not self.query("#overview-data"):
            from textual.widgets import DataTable

            select = Select([], prompt="dataset", id="overview-data", compact=True)
            await self.query_one("#overview-top").mount(select)
            table = DataTable(id="overview-jobs", cursor_type="row")
            await self.query_one("#overview-lower").mount_all([table, Static(id="overview-attention")])
            set_columns(table, JOB_COLUMNS)
            if self.is_current and self.app.focused is None:
                select.focus()
        self.refresher.now()

    # --- activity (polled) -------------------------------------------------------------

    def _collect(self) -> Activity:
        from kpconsole import jobs  # in the worker: see the module docstring
        from kpconsole.services import datasets

        known = datasets.list_datasets(self.session)
        recent = jobs.list_jobs(self.session, limit=20)
        return Activity(known, recent, attention(recent, {d.name: d.content_hash for d in known}, self.session))

    def on_activity(self, message: Activity) -> None:
        from textual.widgets import DataTable  # imported already: complete() mounted the table

        self.known = {d.name: d for d in message.datasets}
        select = self.query_one("#overview-data", Select)
        names = list(self.known)
        if [str(o) for o in names] != getattr(self, "_names", None):
            self._names = names
            current = select.value
            select.set_options([(n, n) for n in names])
            if current in names:
                select.value = current
            elif names:
                select.value = names[0]
        sync_rows(self.query_one("#overview-jobs", DataTable), [
            (str(j.id), (str(j.id), j.kind, STATUS_MARK.get(j.status, j.status), f"{100 * j.progress:.0f}%",
                         minute(j.created_at))) for j in message.jobs[:RECENT_JOBS]])
        lines = message.attention or ["✓ nothing needs attention: no failed or lost jobs, no stale models"]
        self.query_one("#overview-attention", Static).update("Needs attention\n" + "\n".join(lines))
        if not names:
            self.query_one("#kpi-users", KpiTile).set("–", note="no datasets yet: 2 Data → i")
            for name in ("active", "paying", "revenue", "health"):
                self.query_one(f"#kpi-{name}", KpiTile).set("–")

    # --- figures (per dataset) ----------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        record = self.known.get(event.value) if isinstance(event.value, str) else None
        if record is not None:
            self.in_thread(self._figures, record, group="figures")

    def _figures(self, record: DatasetRecord) -> None:
        from kpconsole.services import community  # in the worker: see the module docstring

        actives = community.active_users(self.session, record.name)
        try:
            report, why = community.health(self.session, record.name), ""
        except ConsoleError as exc:  # neither Q&A nor revenue: the tiles say so instead of failing
            report, why = None, str(exc)
        self.post_message(Figures(record, report, why, actives, community.stickiness(actives)))

    def on_figures(self, message: Figures) -> None:
        if not self._figures_shown:  # Polars and the services are imported by now
            self._figures_shown = True
            keep_out_of_collections()
        p = message.record.profile
        tiles = {name: self.query_one(f"#kpi-{name}", KpiTile)
                 for name in ("users", "active", "paying", "revenue", "health")}
        report = message.report
        money = report.money if report else None
        qa = report.qa if report else None
        tiles["users"].set(count(p.get("n_users")), None,
                           f"{count(p.get('n_events'))} events to {(p.get('ts_max') or '')[:10]}")
        self.show_actives(tiles["active"], message.actives, message.stickiness)
        if money is not None:
            m = money.monthly
            tiles["paying"].set(percent(money.figures.get("paying_ratio")), series(m, "paying_ratio"),
                                f"{count(money.figures.get('paying_users'))} paying users")
            tiles["revenue"].set(f"{short(money.figures.get('net_revenue'))} · {short(money.figures.get('mrr_latest'))}",
                                 series(m, "net_revenue"), "net revenue · latest MRR; trend: monthly net")
        else:
            note = "no revenue events in this dataset"
            for name in ("paying", "revenue"):
                tiles[name].set("–", note=note)
        if qa is not None:
            met = sum(r["meets"] for r in qa.area51)
            tiles["health"].set(f"{met} of {len(qa.area51)} met", series(qa.weekly, "questions"),
                                "Area 51 targets; trend: questions a week")
        else:
            tiles["health"].set("–", note="no questions and answers" if report else message.why_none)

    @staticmethod
    def show_actives(tile: KpiTile, actives: pl.DataFrame, trend: list[float]) -> None:
        """The last day's DAU and MAU; the trend is DAU/MAU day by day."""
        if actives.height == 0:
            tile.set("–", note="no events in this dataset")
            return
        last = actives.row(-1, named=True)
        ratio = last["dau"] / last["mau"] if last["mau"] else None
        tile.set(f"{count(last['dau'])} · {count(last['mau'])}", trend, f"DAU/MAU {percent(ratio)}")

    def action_dataset(self) -> None:
        self.query_one("#overview-data", Select).focus()
