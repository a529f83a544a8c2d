"""The segmentation form (Segments → r): dataset, method, k → a ``segment`` job (as
``kpconsole segment run … --detach`` starts it, after the same checks)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input

from kpconsole.choices import SEGMENTATIONS
from kpconsole.errors import ConsoleError
from kpconsole.services import segments
from kpconsole.services.segments import SegmentRequest
from kpconsole.tui.screens.form import DatasetFormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow, choice_row


@dataclass
class SegmentationStarted(Message):
    job_id: int
    method: str
    data: str


class SegmentFormScreen(DatasetFormScreen[int | None]):
    """Segment users"""

    TITLE_TEXT = "Segment a dataset's users (runs as a job)"
    SUBMIT_LABEL = "Segment"

    def compose_fields(self) -> ComposeResult:
        yield self.dataset_field()
        yield choice_row("method", "method", SEGMENTATIONS, "kmeans")
        yield FormRow("k", Input(value="auto", placeholder="number of segments, or auto", id="k", compact=True))
        yield FormRow("seed", Input(value="0", id="seed", compact=True))
        yield FormRow("resamples", Input(value="10", placeholder="bootstrap resamples for stability", id="resamples",
                                         compact=True))

    def request(self) -> SegmentRequest:
        data = self.choice("data")
        if data is None:
            raise ConsoleError("segment: no dataset chosen (ingest one first: Data → i)")
        return SegmentRequest(data=str(data), method=str(self.choice("method")),
                              k=segments.parse_k(self.text("k") or "auto"),
                              seed=int(number("seed", self.text("seed") or "0", int)),
                              resamples=int(number("resamples", self.text("resamples") or "10", int)))

    def submit(self) -> None:
        self.in_thread(self._start, self.request(), group="segment-start")

    def _start(self, request: SegmentRequest) -> None:
        self.post_message(SegmentationStarted(segments.start(self.app.session, request), request.method, request.data))

    def on_segmentation_started(self, message: SegmentationStarted) -> None:
        self.notify(f"{message.method} segmentation of '{message.data}' started as job {message.job_id}")
        self.dismiss(message.job_id)
