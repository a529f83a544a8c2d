"""9 Jobs: every job with live progress, the selected one's metrics chart and log tail; cancel,
resume. Polled every second without overlapping (a thread collects, the screen renders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ContentSwitcher, DataTable, Log, ProgressBar, Static

from kpconsole import jobs
from kpconsole.tui.formatting import minute, short
from kpconsole.tui.job_status import STATUS_MARK
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.screens.confirm import ConfirmScreen
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows
from kpconsole.tui.widgets.chart import Chart, Series

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.jobs import JobRecord

COLUMNS = ("id", "kind", "status", "progress", "message", "by", "created")
LOG_TAIL = 200
POLL_SECONDS = 1.0


@dataclass
class JobsCollected(Message):
    jobs: list[JobRecord]
    log_job: int | None
    log: str


@dataclass
class JobCancelled(Message):
    job: JobRecord


@dataclass
class JobResumed(Message):
    job_id: int


def job_cells(job: JobRecord) -> tuple[str, ...]:
    return (str(job.id), job.kind, STATUS_MARK.get(job.status, job.status), f"{100 * job.progress:5.1f}%",
            (job.error if job.status in ("failed", "lost") and job.error else job.message) or "",
            job.started_by, minute(job.created_at))


class JobsScreen(ConsoleScreen):
    """Jobs"""

    MODE = "jobs"
    TITLE = "Jobs"
    CSS_PATH = "jobs.tcss"
    GATED = {"cancel": "jobs.cancel", "resume": "jobs.resume"}
    BINDINGS = [
        Binding("c", "cancel", "Cancel job", tooltip="Cancel: job…", id="jobs.cancel"),
        Binding("u", "resume", "Resume", tooltip="Resume: job", id="jobs.resume"),
        Binding("l", "toggle_log", "Log/chart", tooltip="Show: log or chart", id="jobs.toggle_log"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[int, JobRecord] = {}
        self.selected_id: int | None = None
        self._log_shown: tuple[int | None, str] = (None, "")
        self.refresher = self.poll("jobs", self._collect, POLL_SECONDS)

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="jobs", cursor_type="row")
        with Horizontal(id="job-progress"):
            yield Static(id="job-title")
            yield ProgressBar(total=1.0, show_eta=False, id="job-bar")
        yield Static(id="job-detail")
        with ContentSwitcher(initial="job-log", id="job-panel"):
            yield Log(id="job-log", max_lines=LOG_TAIL, auto_scroll=True)
            yield Chart("metrics", id="job-chart")

    def on_mount(self) -> None:
        table = self.query_one("#jobs", DataTable)
        set_columns(table, COLUMNS)
        table.focus()

    def on_screen_resume(self) -> None:
        self.refresher.now()

    # --- polling ------------------------------------------------------------------------

    def _collect(self) -> JobsCollected:
        records = jobs.list_jobs(self.session, limit=100)
        chosen = self.selected_id if self.selected_id is not None else (records[0].id if records else None)
        log = jobs.read_log(self.session, chosen, tail=LOG_TAIL) if chosen is not None else ""
        return JobsCollected(records, chosen, log)

    def on_jobs_collected(self, message: JobsCollected) -> None:
        self.records = {job.id: job for job in message.jobs}
        for job in message.jobs:
            if job.active:
                self.console.history.add(job)
        table = self.query_one("#jobs", DataTable)
        with self.app.batch_update():
            sync_rows(table, [(str(job.id), job_cells(job)) for job in message.jobs])
            self.show_selected(message.log_job, message.log)

    def on_data_table_row_highlighted(self) -> None:
        key = cursor_key(self.query_one("#jobs", DataTable))
        chosen = int(key) if key is not None else None
        if chosen != self.selected_id:
            self.selected_id = chosen
            self.show_selected(None, "")
            self.refresher.now()

    # --- the selected job -------------------------------------------------------------

    @property
    def selected(self) -> JobRecord | None:
        key = cursor_key(self.query_one("#jobs", DataTable))
        return self.records.get(int(key)) if key is not None else None

    def show_selected(self, log_job: int | None, log: str) -> None:
        job = self.selected
        title = self.query_one("#job-title", Static)
        bar = self.query_one("#job-bar", ProgressBar)
        detail = self.query_one("#job-detail", Static)
        if job is None:
            title.update("No jobs yet: start one from Data (i), Models (t), Segments, Value or Simulate.")
            bar.update(progress=0)
            detail.update("")
            return
        made = f" → {job.result_kind} {job.result_id}" if job.result_kind else ""
        title.update(f"job {job.id} {job.kind} {STATUS_MARK.get(job.status, job.status)}{made}")
        detail.update(job.error if job.error else (job.message or "") + (
            "  " + "  ".join(f"{k} {short(v)}" for k, v in job.metrics.items()) if job.metrics else ""))
        bar.update(progress=job.progress)
        series = self.console.history.series(job.id)
        self.query_one("#job-chart", Chart).plot(
            [Series(name, ys, xs=xs) for name, (xs, ys) in series.items()],
            title=f"job {job.id} metrics by % done",
        )
        if log_job == job.id and self._log_shown != (job.id, log):
            self._log_shown = (job.id, log)
            view = self.query_one("#job-log", Log)
            view.clear()
            view.write(log)

    def action_toggle_log(self) -> None:
        panel = self.query_one("#job-panel", ContentSwitcher)
        panel.current = "job-chart" if panel.current == "job-log" else "job-log"

    # --- cancel and resume ----------------------------------------------------------------

    def action_cancel(self) -> None:
        job = self.selected
        if job is None or not job.active:
            self.notify("select a queued or running job to cancel", severity="warning")
            return
        self.app.push_screen(ConfirmScreen(f"Cancel job {job.id} ({job.kind})?", "Cancel job"),
                             lambda yes: self.in_thread(self._cancel, job.id, group="cancel") if yes else None)

    def _cancel(self, job_id: int) -> None:
        self.post_message(JobCancelled(jobs.cancel_job(self.session, job_id)))

    def on_job_cancelled(self, message: JobCancelled) -> None:
        self.notify(f"job {message.job.id}: {message.job.status}")
        self.refresher.now()

    def action_resume(self) -> None:
        job = self.selected
        if job is None or job.status not in ("lost", "failed", "cancelled"):
            self.notify("select a lost, failed or cancelled job to resume", severity="warning")
            return
        self.in_thread(self._resume, job.id, group="resume")

    def _resume(self, job_id: int) -> None:
        self.post_message(JobResumed(jobs.resume_job(self.session, job_id)))

    def on_job_resumed(self, message: JobResumed) -> None:
        self.notify(f"job {message.job_id} resumed")
        self.console.watch_job(message.job_id)
        self.refresher.now()
