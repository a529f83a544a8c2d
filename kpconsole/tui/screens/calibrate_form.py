"""The calibration form (Simulate → a): fit a simulated world from a dataset, as ``kpconsole sim
calibrate`` does, in a worker (seconds, not a job: the CLI runs it in the foreground too), and
show what was fitted — per segment, the catalog, and the notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label

from kpconsole.errors import ConsoleError
from kpconsole.services import simulate
from kpconsole.tui.formatting import short
from kpconsole.tui.screens.form import DatasetFormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.simulations import CalibrationRecord

#: What ``sim calibrate`` prints per segment: (row label, summary key).
FITTED = (("users", "users"), ("visit/day", "visit_mean"), ("visit conc.", "visit_concentration"),
          ("churn/day", "churn_mean"), ("churn conc.", "churn_concentration"), ("extra items", "attention"),
          ("β taste", "choice_sensitivity"), ("buy b", "buy_intercept"), ("price α", "price_sensitivity"),
          ("refund", "refund"), ("subscribe", "subscribe"), ("cancel", "cancel"), ("contribute", "contribute"))


@dataclass
class Calibrating(Message):
    fraction: float
    message: str


@dataclass
class Calibrated(Message):
    record: CalibrationRecord


def calibration_view(record: CalibrationRecord) -> Group:
    """What was fitted: the window and sources, each segment's parameters, the catalog, notes."""
    s = record.summary
    w = s["window"]
    segments = s["segments"]
    heading = (f"calibration {record.id} of '{record.dataset}': {w['events']:,} events {w['from']} .. {w['to']} "
               f"(exclusive) · segments: {record.segments} · tastes: {record.tastes}")
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("per segment")
    for seg in segments:
        table.add_column(seg["segment"], justify="right")
    for label, key in FITTED:
        table.add_row(label, *(short(seg[key]) for seg in segments))
    c = s["catalog"]
    catalog = (f"catalog: {c['items']:,} items ({c['paid']:,} paid, {c['creators']:,} creators); arrivals "
               f"{short(s['arrivals_per_day'])}/day; reference price {short(s['reference_price'])}; plan "
               f"{short(s['plan_price'])} every {s['period_days']} days")
    return Group(heading, table, catalog, *(f"note: {line}" for line in s["notes"]))


def segmentation(text: str) -> int | str | None:
    """The segments field: blank (None: the dataset's newest segmentation, else the rule), ``rule``
    or a segmentation id."""
    if not text:
        return None
    if text == "rule":
        return text
    if not text.isdigit():
        raise ConsoleError(f"segments: {text!r} is not a segmentation id or rule")
    return int(text)


class CalibrateFormScreen(DatasetFormScreen["CalibrationRecord | None"]):
    """Calibrate a simulated world"""

    TITLE_TEXT = "Calibrate the simulator from a dataset (what it fits shows below the runs)"
    SUBMIT_LABEL = "Calibrate"
    STATUS_ID = "calibrate-status"

    def compose_fields(self) -> ComposeResult:
        yield self.dataset_field()
        yield FormRow("segments", Input(placeholder="a segmentation id, or rule [the dataset's newest, else the rule]",
                                        id="segments", compact=True))
        yield FormRow("model", Input(placeholder="take tastes from this model's embeddings (als, bpr, ncf) [tags]",
                                     id="model", compact=True))
        yield FormRow("seed", Input(value="0", id="seed", compact=True))
        yield Label("", id="calibrate-status", classes="form-note")

    def submit(self) -> None:
        data = self.choice("data")
        if data is None:
            raise ConsoleError("calibrate: no dataset chosen (ingest one first: Data → i)")
        seg = segmentation(self.text("segments"))
        model = int(number("model", self.text("model"), int)) if self.text("model") else None
        seed = int(number("seed", self.text("seed") or "0", int))
        self.query_one("#calibrate-status", Label).update(f"calibrating '{data}'…")
        self.in_thread(self._calibrate, str(data), seg, model, seed, group="calibrate")

    def _calibrate(self, data: str, seg: int | str | None, model: int | None, seed: int) -> None:
        def progress(fraction: float, message: str = "", metrics: dict | None = None) -> None:
            self.post_message(Calibrating(fraction, message))

        record = simulate.calibrate(self.app.session, data, segmentation=seg, model=model, seed=seed,
                                    progress=progress)
        self.post_message(Calibrated(record))

    def on_calibrating(self, message: Calibrating) -> None:
        self.query_one("#calibrate-status", Label).update(f"calibrating… {100 * message.fraction:.0f}% "
                                                          f"{message.message}")

    def on_calibrated(self, message: Calibrated) -> None:
        self.notify(f"calibration {message.record.id} of '{message.record.dataset}' stored")
        self.dismiss(message.record)
