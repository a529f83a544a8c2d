"""6 Value: customer-value fits (BG/NBD, Pareto/NBD, Gamma-Gamma, sBG) with their estimates,
their curves and distributions, and one customer's P(alive), expected purchases and CLV.

The screen shows what the service returns: scalar results as figures, series (survival,
retention, CLV quantiles, …) as a chart, lists of records (top customers) as a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from kpconsole.reads import value as value_reads
from kpconsole.reads.value import ValueView
from kpconsole.services import datasets
from kpconsole.tui.formatting import short
from kpconsole.tui.screens.base import ConsoleScreen
from kpconsole.tui.screens.value_form import ValueFormScreen
from kpconsole.tui.tables import cursor_key, set_columns, sync_rows
from kpconsole.tui.widgets.chart import Chart, Series

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.value import ValueFitRecord

FITS = ("id", "dataset", "model", "customers", "log-lik", "estimates")


@dataclass
class FitsListed(Message):
    fits: list[ValueFitRecord]
    datasets: list[str]


@dataclass
class FitShown(Message):
    view: ValueView


def is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def numeric_series(results: dict) -> dict[str, list[float]]:
    """The results that are lists of numbers (nulls kept as gaps)."""
    return {k: [float(x) if is_number(x) else float("nan") for x in v] for k, v in results.items()
            if isinstance(v, list) and v and all(x is None or is_number(x) for x in v)}


def records_table(name: str, rows: list[dict], limit: int = 10) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold", title=name.replace("_", " "), title_justify="left")
    columns = list(rows[0])
    for c in columns:
        table.add_column(c, justify="right" if is_number(rows[0][c]) else "left")
    for row in rows[:limit]:
        table.add_row(*(short(row[c]) if is_number(row[c]) else str(row[c]) for c in columns))
    return table


class ValueScreen(ConsoleScreen):
    """Value"""

    MODE = "value"
    TITLE = "Value"
    CSS_PATH = "value.tcss"
    GATED = {"fit": "value.fit"}
    BINDINGS = [
        Binding("f", "fit", "Fit", tooltip="Fit: customer-value model…", id="value.fit"),
        Binding("slash", "lookup", "Customer", tooltip="Score: a customer", id="value.lookup"),
        Binding("o", "export", "Export", tooltip="Export: every customer's scores to a file…", id="value.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fits: dict[str, ValueFitRecord] = {}
        self.dataset_names: list[str] = []

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield DataTable(id="value-fits", cursor_type="row")
            with Horizontal(id="value-detail"):
                yield Static(id="value-figures")
                yield Chart("", id="value-chart")
            yield Static(id="value-records")
            yield Input(placeholder="/ customer ID: P(alive), expected purchases, CLV", id="value-user", compact=True)
            yield Static(id="value-customer")

    def on_mount(self) -> None:
        set_columns(self.query_one("#value-fits", DataTable), FITS)
        self.query_one("#value-fits", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_fits()

    def refresh_fits(self) -> None:
        self.in_thread(lambda: self.post_message(FitsListed(
            value_reads.list_fits(self.session), [d.name for d in datasets.list_datasets(self.session)])), group="fits")

    def on_fits_listed(self, message: FitsListed) -> None:
        self.fits = {str(f.id): f for f in message.fits}
        self.dataset_names = message.datasets
        sync_rows(self.query_one("#value-fits", DataTable), [
            (str(f.id), (str(f.id), f.dataset, f.model, f"{f.n:,}", f"{f.log_likelihood:,.2f}",
                         ", ".join(f"{k}={short(v)}" for k, v in f.params.items()))) for f in message.fits])
        self.show_selected()

    def on_data_table_row_highlighted(self) -> None:
        self.show_selected()

    def show_selected(self, customer: str | None = None) -> None:
        key = cursor_key(self.query_one("#value-fits", DataTable))
        if key is None:
            self.query_one("#value-figures", Static).update("No value fits yet: press f to fit one.")
            return
        self.in_thread(lambda: self.post_message(FitShown(value_reads.show(self.session, int(key), customer))),
                       group="value-show")

    def on_fit_shown(self, message: FitShown) -> None:
        record = message.view.record
        figures = Table(box=None, pad_edge=False, show_header=False, title=f"fit {record.id}: {record.model} on "
                        f"{record.dataset}", title_justify="left", title_style="bold")
        figures.add_column()
        figures.add_column(justify="right")
        for k, v in record.params.items():
            figures.add_row(k, short(v))
        figures.add_row("log-likelihood", f"{record.log_likelihood:,.2f}")
        for k, v in record.results.items():
            if is_number(v):
                figures.add_row(k.replace("_", " "), short(v))
        self.query_one("#value-figures", Static).update(figures)
        series = numeric_series(record.results)
        self.query_one("#value-chart", Chart).plot([Series(k.replace("_", " "), v) for k, v in series.items()],
                                                   title=" vs ".join(k.replace("_", " ") for k in series) or "")
        tables = [records_table(k, v) for k, v in record.results.items()
                  if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        self.query_one("#value-records", Static).update(_stack(tables))
        customer = message.view.customer
        if customer is not None:
            shown = self.query_one("#value-customer", Static)
            shown.update("  ".join(f"{k.replace('_', ' ')} {short(v) if is_number(v) else v}"
                                   for k, v in customer.items()))
            shown.scroll_visible(animate=False)

    def action_lookup(self) -> None:
        self.query_one("#value-user", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.show_selected(event.value.strip())

    def action_export(self) -> None:
        key = cursor_key(self.query_one("#value-fits", DataTable))
        if key not in self.fits:
            self.notify("no value fit to export: fit one with f", severity="warning")
            return
        from kpconsole.services import exports

        fit_id = self.fits[key].id
        self.offer_export(f"value fit {fit_id}", lambda target, progress: exports.export_value(
            self.session, fit_id, target, progress=progress), f"value-{fit_id}.parquet")

    def action_fit(self) -> None:
        key = cursor_key(self.query_one("#value-fits", DataTable))
        current = self.fits[key].dataset if key in self.fits else None
        self.app.push_screen(ValueFormScreen(self.dataset_names, current), self._started)

    def _started(self, job_id: int | None) -> None:
        if job_id is not None:
            self.console.watch_job(job_id, on_end=lambda job: self.refresh_fits())


def _stack(tables: list[Table]) -> Table:
    grid = Table.grid()
    for table in tables:
        grid.add_row(table)
    return grid
