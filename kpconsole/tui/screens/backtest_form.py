"""The backtest form (Simulate → b): calibrate a dataset before a cut, simulate after it and score
the simulation against what happened — a ``sim_backtest`` job, as ``kpconsole sim backtest …
--detach`` starts it, after the same checks. The run it stores shows its MAPE on the Simulate
screen, next to the forecast baselines' on the same days and the share of weeks inside the
simulator's 95 % predictive band.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Input

from kpconsole.errors import ConsoleError
from kpconsole.services import simulate_backtest
from kpconsole.tui.screens.form import DatasetFormScreen
from kpconsole.tui.screens.train import number
from kpconsole.tui.widgets.form_row import FormRow, choice_row

SIM_DEVICES = ("auto", "cpu", "cuda")


@dataclass
class BacktestStarted(Message):
    job_id: int
    data: str


def at_least_one(field: str, text: str, default: str) -> int:
    value = int(number(field, text or default, int))
    if value < 1:
        raise ConsoleError(f"--{field} {value}: must be greater than 0")
    return value


class BacktestFormScreen(DatasetFormScreen[int | None]):
    """Backtest the simulator"""

    TITLE_TEXT = "Backtest the simulator on a dataset (runs as a job)"
    SUBMIT_LABEL = "Backtest"

    def compose_fields(self) -> ComposeResult:
        yield self.dataset_field()
        yield FormRow("cut", Input(placeholder="first simulated day (2026-05-01) or a ratio of the time span (0.7)",
                                   id="cut", compact=True))
        yield FormRow("replicates", Input(value="16", id="replicates", compact=True))
        yield FormRow("seed", Input(value="0", id="seed", compact=True))
        yield choice_row("device", "device", SIM_DEVICES, "auto")

    def submit(self) -> None:
        data = self.choice("data")
        if data is None:
            raise ConsoleError("backtest: no dataset chosen (ingest one first: Data → i)")
        cut = self.text("cut")
        if not cut:
            raise ConsoleError("backtest: give the cut: a date (2026-05-01) or a ratio of the time span (0.7)")
        request = simulate_backtest.BacktestRequest(
            str(data), cut, replicates=at_least_one("replicates", self.text("replicates"), "16"),
            seed=int(number("seed", self.text("seed") or "0", int)), device=str(self.choice("device")))
        self.in_thread(self._start, request, group="backtest-start")

    def _start(self, request: simulate_backtest.BacktestRequest) -> None:
        [job_id] = simulate_backtest.start_backtests(self.app.session, [request])
        self.post_message(BacktestStarted(job_id, request.data))

    def on_backtest_started(self, message: BacktestStarted) -> None:
        self.notify(f"backtest of '{message.data}' started as job {message.job_id}")
        self.dismiss(message.job_id)
