"""2 Data: the datasets with their sizes and time ranges; open one, ingest a file, generate sample
data to ingest, delete one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Static

from kpconsole.choices import is_dataset_name
from kpconsole.services import datasets
from kpconsole.services.datasets import SynthResult
from kpconsole.tui.formatting import count, day
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.screens.confirm import ConfirmScreen
from kpconsole.tui.screens.dataset import DatasetScreen
from kpconsole.tui.screens.ingest import IngestScreen
from kpconsole.tui.screens.synth_form import SynthFormScreen
from kpconsole.tui.tables import sync_rows
from kpconsole.tui.widgets.bars import Bars

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.catalog import DatasetRecord

COLUMNS = ("name", "format", "events", "users", "items", "from", "to")


@dataclass
class DatasetsLoaded(Message):
    records: list[DatasetRecord]


@dataclass
class DatasetDeleted(Message):
    name: str


class DataScreen(ConsoleScreen):
    """Datasets"""

    MODE = "data"
    TITLE = "Data"
    CSS_PATH = "data.tcss"
    GATED = {"ingest": "data.ingest", "delete": "data.delete"}
    BINDINGS = [
        Binding("o", "browse", "Open", tooltip="Browse: dataset rows", id="data.browse"),
        Binding("i", "ingest", "Ingest", tooltip="Ingest: file or dump…", id="data.ingest"),
        Binding("g", "synth", "Generate", tooltip="Generate: sample data…", id="data.synth"),
        Binding("d", "delete", "Delete", tooltip="Delete: dataset…", id="data.delete"),
        Binding("r", "refresh", "Refresh", tooltip="Refresh: datasets", id="data.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[DatasetRecord] = []

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="datasets", cursor_type="row", zebra_stripes=False)
        with Horizontal(id="data-detail"):
            yield Static(id="dataset-facts")
            yield Bars("event kinds", id="dataset-kinds")

    def on_mount(self) -> None:
        table = self.query_one("#datasets", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        table.focus()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    # --- loading ---------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.in_thread(self._load, group="datasets")

    def _load(self) -> None:
        self.post_message(DatasetsLoaded(datasets.list_datasets(self.session)))

    def on_datasets_loaded(self, message: DatasetsLoaded) -> None:
        self.records = message.records
        table = self.query_one("#datasets", DataTable)
        with self.app.batch_update():
            sync_rows(table, [(r.name, (r.name, r.format, count(r.profile["n_events"]), count(r.profile["n_users"]),
                                        count(r.profile["n_items"]), day(r.profile["ts_min"]), day(r.profile["ts_max"])))
                              for r in self.records])
        self.show_detail()

    @property
    def selected(self) -> DatasetRecord | None:
        table = self.query_one("#datasets", DataTable)
        if not self.records or table.row_count == 0:
            return None
        row = table.cursor_row
        return self.records[row] if 0 <= row < len(self.records) else None

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def on_data_table_row_selected(self) -> None:
        self.action_browse()

    def show_detail(self) -> None:
        record = self.selected
        facts = self.query_one("#dataset-facts", Static)
        kinds = self.query_one("#dataset-kinds", Bars)
        if record is None:
            facts.update("No datasets yet: press i to ingest a file, or run `kpconsole demo`.")
            kinds.show([])
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("dataset", f"{record.name} ({record.format})")
        grid.add_row("tables", ", ".join(f"{t} {n:,}" for t, n in record.tables.items()))
        grid.add_row("from", f"{Path(record.source).name} by {record.created_by}")
        grid.add_row("hash", record.content_hash[:16])
        facts.update(grid)
        kinds.show(sorted(record.profile.get("kinds", {}).items(), key=lambda kv: -kv[1]), title="event kinds")

    # --- actions ----------------------------------------------------------------------------

    def action_browse(self) -> None:
        record = self.selected
        if record is not None:
            self.app.push_screen(DatasetScreen(record))

    def action_ingest(self) -> None:
        self.app.push_screen(IngestScreen(), self._ingest_started)

    def _ingest_started(self, job_id: int | None) -> None:
        if job_id is not None:
            self.console.watch_job(job_id, on_end=lambda job: self.action_refresh())

    def action_synth(self) -> None:
        self.app.push_screen(SynthFormScreen(), self._synthesized)

    def _synthesized(self, result: SynthResult | None) -> None:
        """Sample data written: say what and where, and offer the ingest form filled in with the
        folder (named after it when that is a valid dataset name) to those who may ingest."""
        if result is None:
            return
        if not self.allowed("data.ingest"):
            self.notify(f"{result.summary}; ingesting it needs the operator role")
            return
        self.notify(f"{result.summary}; ingest it with the form (esc: not now)")
        folder = result.folder
        name = folder.name if is_dataset_name(folder.name) and folder.name not in {r.name for r in self.records} else ""
        self.app.push_screen(IngestScreen(str(folder), name), self._ingest_started)

    def action_delete(self) -> None:
        record = self.selected
        if record is None:
            return
        self.app.push_screen(
            ConfirmScreen(f"Delete dataset '{record.name}' and its files?", "Delete"),
            lambda yes: self._delete(record.name) if yes else None,
        )

    def _delete(self, name: str) -> None:
        self.in_thread(self._delete_now, name, group="delete")

    def _delete_now(self, name: str) -> None:
        datasets.delete(self.session, name)
        self.post_message(DatasetDeleted(name))

    def on_dataset_deleted(self, message: DatasetDeleted) -> None:
        self.notify(f"deleted {message.name}")
        self.action_refresh()
