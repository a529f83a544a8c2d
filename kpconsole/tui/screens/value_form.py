"""The value-fit form (Value → f): dataset, model, calibration end → a ``value_fit`` job (as
``kpconsole value fit … --detach`` starts it, after the same checks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input

from kpconsole.errors import ConsoleError
from kpconsole.services import value
from kpconsole.services.model_requests import split_words
from kpconsole.services.value import MODELS, ValueRequest
from kpconsole.tui.screens.form import DatasetFormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow, choice_row


@dataclass
class FitStarted(Message):
    job_id: int
    model: str
    data: str


def calibration_end(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConsoleError(f"calibration end: {text!r} is not a date such as 2026-05-31") from None


class ValueFormScreen(DatasetFormScreen[int | None]):
    """Fit customer value"""

    TITLE_TEXT = "Fit a customer-value model (runs as a job)"
    SUBMIT_LABEL = "Fit"

    def compose_fields(self) -> ComposeResult:
        yield self.dataset_field()
        yield choice_row("model", "model", MODELS, "bgnbd")
        yield FormRow("calibration end", Input(placeholder="YYYY-MM-DD [the last day of the data]", id="calibration_end",
                                               compact=True))
        yield FormRow("kinds", Input(value="purchase", placeholder="transaction event kinds", id="kinds", compact=True))
        yield FormRow("horizon days", Input(value="365", id="horizon", compact=True))
        yield FormRow("discount rate", Input(value="0.10", placeholder="yearly, e.g. 0.10", id="discount",
                                             compact=True))

    def request(self) -> ValueRequest:
        data = self.choice("data")
        if data is None:
            raise ConsoleError("value fit: no dataset chosen (ingest one first: Data → i)")
        return ValueRequest(
            data=str(data), model=str(self.choice("model")), calibration_end=calibration_end(self.text("calibration_end")),
            kinds=split_words([self.text("kinds")]) or ("purchase",),
            horizon_days=float(number("horizon days", self.text("horizon") or "365", float)),
            discount_rate=float(number("discount rate", self.text("discount") or "0.10", float)),
        )

    def submit(self) -> None:
        self.in_thread(self._start, self.request(), group="value-start")

    def _start(self, request: ValueRequest) -> None:
        self.post_message(FitStarted(value.start(self.app.session, request), request.model, request.data))

    def on_fit_started(self, message: FitStarted) -> None:
        self.notify(f"{message.model} fit of '{message.data}' started as job {message.job_id}")
        self.dismiss(message.job_id)
