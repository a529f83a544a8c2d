"""The update form (Models → u): fold a dataset's events into a model (warm start) as a
``model_update`` job — what ``kpconsole model update … --detach`` starts, after the same checks.
When the job ends the Models screen shows the new model with its drift against the parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label

from kpconsole.choices import DEVICES
from kpconsole.errors import ConsoleError
from kpconsole.services import models
from kpconsole.services.model_requests import UpdateRequest
from kpconsole.tui.formatting import short
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow, choice_row, dataset_row

if TYPE_CHECKING:  # types only: the console reads through kpconsole's core
    from store.models import ModelRecord


@dataclass
class UpdateStarted(Message):
    job_id: int


def drift_view(record: ModelRecord) -> Group:
    """``model update``'s drift report: how far the update moved from its parent."""
    d = record.drift or {}
    facts = Table.grid(padding=(0, 1))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("users", f"{d['users']:,} ({d['new_users']:,} new)")
    facts.add_row("items", f"{d['items']:,} ({d['new_items']:,} new)")
    facts.add_row("rank corr.", short(d.get("rank_correlation")))
    facts.add_row("top-10 overlap", short(d.get("top10_overlap")))
    facts.add_row("compared on", f"{d.get('compared_users', 0):,} shared test users")
    changes = [f"{key}: parent {change['parent']:.4f} → update {change['child']:.4f} ({change['change']:+.4f})"
               for key, change in (d.get("metrics") or {}).items()]
    return Group(f"drift against the parent, model {record.parent_id}", facts, *changes)


class UpdateFormScreen(FormScreen[int | None]):
    """Update a model"""

    TITLE_TEXT = "Update a model with a dataset's events (warm start; runs as a job)"
    SUBMIT_LABEL = "Update"

    def __init__(self, record: ModelRecord, datasets: list[str]) -> None:
        super().__init__()
        self.record = record
        self.datasets = datasets

    def compose_fields(self) -> ComposeResult:
        r = self.record
        yield Label(f"model #{r.id} {r.algo} on {r.dataset}, trained {r.fit.get('epochs', 1)} epoch(s)",
                    classes="form-note")
        yield dataset_row(self.datasets, r.dataset, first_by_default=False)
        yield FormRow("epochs", Input(placeholder="epochs [als, ncf: a third of the parent's; bpr: all]", id="epochs",
                                      compact=True))
        yield choice_row("device", "device", DEVICES, "auto")

    def request(self) -> UpdateRequest:
        data = self.choice("data")
        if data is None:
            raise ConsoleError("update: no dataset chosen (the one with the new events)")
        epochs = int(number("epochs", self.text("epochs"), int)) if self.text("epochs") else None
        return UpdateRequest(model_id=self.record.id, data=str(data), epochs=epochs, device=str(self.choice("device")))

    def submit(self) -> None:
        self.in_thread(self._start, self.request(), group="update-start")

    def _start(self, request: UpdateRequest) -> None:
        self.post_message(UpdateStarted(models.start_update(self.app.session, request)))

    def on_update_started(self, message: UpdateStarted) -> None:
        self.notify(f"update of model {self.record.id} started as job {message.job_id}")
        self.dismiss(message.job_id)
