"""A dataset's tables (users, items, events, …) row by row, paged from Parquet (Data → o/enter)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Tab, Tabs

from kpconsole.services import datasets
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.widgets.parquet_table import ParquetTable, View
from kpconsole.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.catalog import DatasetRecord

PREFERRED_FIRST = "events"


class DatasetScreen(ConsoleScreen):
    """Dataset rows"""

    MODE = "data"
    TITLE = "Dataset rows"
    CSS_PATH = "dataset.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back: datasets", id="dataset.back"),
        Binding("t", "next_table", "Next table", tooltip="Next: table", id="dataset.next_table"),
    ]

    def __init__(self, record: DatasetRecord) -> None:
        super().__init__()
        self.record = record

    def table_names(self) -> list[str]:
        names = list(self.record.tables)
        if PREFERRED_FIRST in names:
            names.remove(PREFERRED_FIRST)
            names.insert(0, PREFERRED_FIRST)
        return names

    def compose_body(self) -> ComposeResult:
        yield Tabs(*(Tab(f"{t} {self.record.tables[t]:,}", id=f"table-{t}") for t in self.table_names()),
                   id="tables")
        yield ParquetTable(id="rows")
        yield StatusLine(id="rows-status")

    def on_mount(self) -> None:
        table = self.query_one(ParquetTable)
        self.watch(table, "cursor_row", self.show_status, init=False)
        table.focus()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab is None or event.tab.id is None:
            return
        name = event.tab.id.removeprefix("table-")
        self.show_table(name)

    def show_table(self, name: str) -> None:
        schema = self.record.schema.get(name, {})
        view = View(key=f"{self.record.name}/{name}/{self.record.content_hash}",
                    source=partial(datasets.load, self.record, name), n_rows=self.record.tables[name],
                    schema=schema)
        self.query_one(ParquetTable).show(view)
        self.show_status()

    def show_status(self, _row: int | None = None) -> None:
        table = self.query_one(ParquetTable)
        view = table.view
        if view is None:
            return
        name = view.key.split("/")[1]
        where = f"row {table.cursor_row + 1:,} of {view.n_rows:,}" if view.n_rows else "no rows"
        self.query_one("#rows-status", StatusLine).set(
            f"{self.record.name} · {name} · {where} · ↑↓ PgUp PgDn Home End move, ←→ scroll, t next table"
        )

    def action_next_table(self) -> None:
        self.query_one(Tabs).action_next_tab()

    def action_back(self) -> None:
        self.app.pop_screen()
