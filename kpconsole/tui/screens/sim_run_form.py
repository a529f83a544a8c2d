"""The run form (Simulate → r): a scenario file with optional overrides → a ``sim_run`` job (as
``kpconsole sim run FILE --detach`` starts it, after the same checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label

from kpconsole.services import simulate
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow


@dataclass
class RunStarted(Message):
    job_id: int
    path: Path


class SimRunFormScreen(FormScreen[int | None]):
    """Run a scenario"""

    TITLE_TEXT = "Simulate a scenario (runs as a job); blank fields keep the scenario's values"
    SUBMIT_LABEL = "Run"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose_fields(self) -> ComposeResult:
        yield Label(f"scenario {self.path}", classes="form-note")
        yield FormRow("days", Input(placeholder="days to simulate [scenario]", id="days", compact=True))
        yield FormRow("replicates", Input(placeholder="replicates for the intervals [scenario]", id="replicates",
                                          compact=True))
        yield FormRow("seed", Input(placeholder="seed [scenario]", id="seed", compact=True))

    def overrides(self) -> dict[str, int]:
        return {name: int(number(name, self.text(name), int)) for name in ("days", "replicates", "seed")
                if self.text(name)}

    def submit(self) -> None:
        self.in_thread(self._start, self.overrides(), group="sim-start")

    def _start(self, overrides: dict[str, int]) -> None:
        self.post_message(RunStarted(simulate.start_run(self.app.session, self.path, **overrides), self.path))

    def on_run_started(self, message: RunStarted) -> None:
        self.notify(f"simulation of {message.path.name} started as job {message.job_id}")
        self.dismiss(message.job_id)
