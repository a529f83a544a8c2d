"""3 Models: the registry, training with a live loss/metric chart, models side by side,
evaluation at chosen cut-offs, and updates with new events (warm start) with their drift.

A model trained on data that has changed since (an append or a replace made a new version of
its dataset) is marked ``⚠ stale`` by :func:`kpconsole.reads.models.freshness`, as ``model list`` marks it. Space marks models for comparison; ``c`` shows the marked ones side by side; ``e``
evaluates the highlighted model; ``u`` updates it as a job, and the model the update makes is
shown with its drift against the parent when the job ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from kpconsole import jobs
from kpconsole.reads import models as model_reads
from kpconsole.reads.models import Comparison, Freshness
from kpconsole.services import datasets, model_evaluation
from kpconsole.services.model_evaluation import Evaluation
from kpconsole.tui.formatting import duration, short
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.screens.evaluate_form import EvaluateFormScreen, evaluation_view
from kpconsole.tui.screens.train import TrainScreen
from kpconsole.tui.screens.update_form import UpdateFormScreen, drift_view
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows
from kpconsole.tui.widgets.chart import Chart, Series

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.jobs import JobRecord
    from store.models import ModelRecord

COLUMNS = ("", "id", "algo", "dataset", "ndcg@10", "recall@10", "users×items", "fit", "note")
HEADLINE = ("ndcg@10", "recall@10")
POLL_SECONDS = 0.5  # a job records its progress at most every 0.5 s
MODEL_JOBS = ("train", "model_update")


@dataclass
class Compared(Message):
    comparison: Comparison


@dataclass
class ModelsCollected(Message):
    models: list[ModelRecord]
    hashes: dict[str, str]
    training: JobRecord | None
    freshness: dict[int, Freshness]


def metric(record: ModelRecord, name: str) -> str:
    value = record.metrics.get(name)
    return f"{value:.4f}" if isinstance(value, (int, float)) else "–"


def compare_table(comparison: Comparison) -> Table:
    """The service's comparison as a table, models side by side, the best of each metric starred."""
    rows = comparison.rows
    table = Table(box=None, pad_edge=False, header_style="bold",
                  title=None if comparison.comparable else "⚠ " + "; ".join(comparison.notes), title_justify="left")
    table.add_column(f"@{comparison.k}")
    for row in rows:
        table.add_column(f"#{row['id']} {row['algo']}", justify="right")
    names = [k for k in rows[0] if k.endswith(f"@{comparison.k}")] if rows else []
    for name in names:
        values = [row.get(name) for row in rows]
        numeric = [v for v in values if isinstance(v, (int, float))]
        lower_is_better = name.startswith(("popularity", "creator_gini"))
        best = (min if lower_is_better else max)(numeric) if len(numeric) > 1 else None
        table.add_row(name.split("@")[0], *("–" if v is None else f"{v:.4f}{' ★' if v == best else ''}"
                                            for v in values))
    table.add_row("fit time", *(duration(row.get("fit_seconds")) for row in rows))
    return table


class ModelsScreen(ConsoleScreen):
    """Models"""

    MODE = "models"
    TITLE = "Models"
    CSS_PATH = "models.tcss"
    GATED = {"train": "model.train", "update": "model.update"}
    BINDINGS = [
        Binding("t", "train", "Train", tooltip="Train: model…", id="models.train"),
        Binding("e", "evaluate", "Evaluate", tooltip="Evaluate: model at cut-offs…", id="models.evaluate"),
        Binding("u", "update", "Update", tooltip="Update: model with new events…", id="models.update"),
        Binding("space", "mark", "Mark", tooltip="Mark: model for comparison", id="models.mark"),
        Binding("c", "compare", "Compare", tooltip="Compare: marked models", id="models.compare"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, ModelRecord] = {}
        self.hashes: dict[str, str] = {}
        self.freshness: dict[int, Freshness] = {}
        self.marked: list[str] = []
        self.comparison: Comparison | None = None
        self.evaluation: Evaluation | None = None
        self.show_model: str | None = None  # a model to put the cursor on once it is listed
        self.training_job: int | None = None
        self.dataset_names: list[str] = []
        self.refresher = self.poll("models", self._collect, POLL_SECONDS)

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="models", cursor_type="row")
        with Horizontal(id="models-lower"):
            with VerticalScroll(id="model-panel"):
                yield Static(id="model-detail")
            yield Chart("training", id="training-chart")

    def on_mount(self) -> None:
        table = self.query_one("#models", DataTable)
        set_columns(table, COLUMNS)
        table.focus()

    def on_screen_resume(self) -> None:
        self.refresher.now()

    # --- polling --------------------------------------------------------------------------

    def _collect(self) -> ModelsCollected:
        records = model_reads.list_models(self.session)
        known = datasets.list_datasets(self.session)
        if self.training_job is not None:
            training = jobs.show_job(self.session, self.training_job)
        else:
            recent = [j for j in jobs.list_jobs(self.session, limit=20) if j.kind in MODEL_JOBS]
            training = next((j for j in recent if j.active), recent[0] if recent else None)
        return ModelsCollected(records, {d.name: d.content_hash for d in known}, training,
                               model_reads.freshness(self.session, records))

    def on_models_collected(self, message: ModelsCollected) -> None:
        self.records = {str(r.id): r for r in message.models}
        self.hashes = message.hashes
        self.freshness = message.freshness
        self.dataset_names = sorted(message.hashes)
        table = self.query_one("#models", DataTable)
        with self.app.batch_update():
            sync_rows(table, [(str(r.id), self.cells(r)) for r in message.models])
            if self.show_model in self.records:
                table.move_cursor(row=list(self.records).index(self.show_model))
                self.show_model = None
            self.show_detail()
            self.show_training(message.training)

    def cells(self, record: ModelRecord) -> tuple[str, ...]:
        fresh = self.freshness.get(record.id)
        note = fresh.note if fresh is not None else ""
        return ("✓" if str(record.id) in self.marked else " ", str(record.id), record.algo, record.dataset,
                metric(record, "ndcg@10"), metric(record, "recall@10"), f"{record.n_users:,}×{record.n_items:,}",
                duration(record.fit_seconds), note)

    def show_training(self, job: JobRecord | None) -> None:
        chart = self.query_one("#training-chart", Chart)
        if job is None:
            chart.plot([], title="no training yet (t: train a model)")
            return
        self.console.history.add(job)
        series = self.console.history.series(job.id)
        status = "running" if job.active else job.status
        chart.plot([Series(name, ys, xs=xs) for name, (xs, ys) in series.items()],
                   title=f"job {job.id} {job.kind} {status} {100 * job.progress:.0f}% · {job.message}")

    # --- detail and comparison -----------------------------------------------------------

    @property
    def selected(self) -> ModelRecord | None:
        key = cursor_key(self.query_one("#models", DataTable))
        return self.records.get(key) if key else None

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        detail = self.query_one("#model-detail", Static)
        if self.comparison is not None:
            detail.update(compare_table(self.comparison))
            return
        record = self.selected
        if record is None:
            detail.update("No models yet: press t to train one on a dataset.")
            return
        if self.evaluation is not None and self.evaluation.model_id == record.id:
            detail.update(evaluation_view(self.evaluation))
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold")
        grid.add_column()
        split = record.split
        grid.add_row("model", f"#{record.id} {record.algo} on {record.dataset} ({record.device})")
        grid.add_row("params", ", ".join(f"{k}={v}" for k, v in record.params.items() if k not in ("seed", "patience")))
        grid.add_row("split", f"{split.get('method', '?')}, test {split.get('test_ratio', '–')}, seed "
                              f"{split.get('seed', '–')}")
        grid.add_row("pairs", f"{split.get('train_pairs', record.n_train):,} train, {split.get('test_pairs', 0):,} test")
        grid.add_row("trained", f"in {duration(record.fit_seconds)} by {record.created_by}")
        for name in ("ndcg@10", "recall@10", "hr@10", "coverage@10"):
            if isinstance(record.metrics.get(name), (int, float)):
                grid.add_row(name, short(record.metrics[name]))
        detail.update(Group(grid, "", drift_view(record)) if record.drift else grid)

    def action_mark(self) -> None:
        key = cursor_key(self.query_one("#models", DataTable))
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked.append(key)
        table = self.query_one("#models", DataTable)
        table.update_cell(key, "", "✓" if key in self.marked else " ")
        self.comparison = None
        self.show_detail()

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify("mark two or more models with space to compare them", severity="warning")
            return
        ids = [int(k) for k in self.marked]
        self.in_thread(lambda: self.post_message(Compared(model_reads.compare(self.session, ids, 10, compute=model_evaluation.metrics_at(self.session)))),
                       group="compare")

    def on_compared(self, message: Compared) -> None:
        self.comparison = message.comparison
        self.show_detail()

    # --- training ---------------------------------------------------------------------------

    def action_train(self) -> None:
        record = self.selected
        self.app.push_screen(TrainScreen(self.dataset_names, record.dataset if record else None), self._started)

    def _started(self, job_id: int | None) -> None:
        if job_id is None:
            return
        self.training_job = job_id
        self.console.watch_job(job_id, on_end=self._job_ended)
        self.refresher.now()

    def _job_ended(self, job: JobRecord) -> None:
        """A train or update job ended: the cursor goes to the model it made (its drift shows)."""
        if job.status == "succeeded" and job.result_kind == "model":
            self.show_model = job.result_id
        self.refresher.now()

    # --- evaluation and updates ---------------------------------------------------------------

    def action_evaluate(self) -> None:
        record = self.selected
        if record is None:
            self.notify("no model to evaluate: train one first (t)", severity="warning")
            return
        self.app.push_screen(EvaluateFormScreen(record), self._evaluated)

    def _evaluated(self, evaluation: Evaluation | None) -> None:
        if evaluation is not None:
            self.evaluation = evaluation
            self.comparison = None
            self.show_detail()

    def action_update(self) -> None:
        record = self.selected
        if record is None:
            self.notify("no model to update: train one first (t)", severity="warning")
            return
        self.app.push_screen(UpdateFormScreen(record, self.dataset_names), self._started)
