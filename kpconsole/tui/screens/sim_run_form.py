"""The run form (Simulate → r): a scenario with optional overrides → a ``sim_run`` job, as
``kpconsole sim run FILE --detach`` starts it, after the same checks. A scenario edited on the
screen runs as it stands (``simulate.start_run`` of its text), without being saved to a file first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input, Label

from kpconsole.errors import ConsoleError
from kpconsole.services import simulate
from kpconsole.tui.screens.form import FormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow


@dataclass
class RunStarted(Message):
    job_id: int
    what: str


def edited_source(path: Path) -> str:
    """How an edited scenario is named in messages and on its run: ``baseline.toml (edited)``."""
    return f"{path} (edited)"


class SimRunFormScreen(FormScreen[int | None]):
    """Run a scenario"""

    TITLE_TEXT = "Simulate a scenario (runs as a job); blank fields keep the scenario's values"
    SUBMIT_LABEL = "Run"

    def __init__(self, path: Path, text: str | None = None) -> None:
        """``text``: the scenario as edited on the screen (None: the file as it is)."""
        super().__init__()
        self.path = path
        self.edited = text

    def compose_fields(self) -> ComposeResult:
        what = f"scenario {self.path.name} as edited on the screen (not saved)" if self.edited is not None \
            else f"scenario {self.path}"
        yield Label(what, classes="form-note")
        yield FormRow("days", Input(placeholder="days to simulate [scenario]", id="days", compact=True))
        yield FormRow("replicates", Input(placeholder="replicates for the intervals [scenario]", id="replicates",
                                          compact=True))
        yield FormRow("seed", Input(placeholder="seed [scenario]", id="seed", compact=True))

    def overrides(self) -> dict[str, int]:
        values = {name: int(number(name, self.text(name), int)) for name in ("days", "replicates", "seed")
                  if self.text(name)}
        for name in ("days", "replicates"):
            if name in values and values[name] <= 0:
                raise ConsoleError(f"--{name} {values[name]}: must be greater than 0")
        return values

    def submit(self) -> None:
        self.in_thread(self._start, self.overrides(), group="sim-start")

    def _start(self, overrides: dict[str, int]) -> None:
        session = self.app.session
        if self.edited is None:
            request = simulate.SimRunRequest.from_file(self.path, **overrides)
            self.post_message(RunStarted(simulate.start_run(session, request), self.path.name))
        else:
            request = simulate.SimRunRequest(self.edited, edited_source(self.path), **overrides)
            self.post_message(RunStarted(simulate.start_run(session, request), f"{self.path.name} (edited)"))

    def on_run_started(self, message: RunStarted) -> None:
        self.notify(f"simulation of {message.what} started as job {message.job_id}")
        self.dismiss(message.job_id)
